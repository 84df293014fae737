"""orgs.clock: the one definition of days left, its wording and the shown date format."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certadmin.models import Certificate
from orgs import clock
from orgs.models import Organization
from tests.certadmin.conftest import self_signed

# 2026-12-07 16:52 UTC is 2026-12-08 05:52 in Auckland (UTC+13) and 17:52 in Paris (CET).
NOW = datetime(2026, 12, 7, 16, 52, tzinfo=UTC)
AUCKLAND = ZoneInfo("Pacific/Auckland")
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("expires_at", "tz", "days"),
    [
        # Tomorrow at 13:21, less than 24 hours away: tomorrow, not "today" (issue 15).
        (datetime(2026, 12, 8, 13, 21, tzinfo=UTC), UTC, 1),
        # 4½ days away lands on the 5th calendar day.
        (NOW + timedelta(days=4, hours=12), UTC, 5),
        (NOW + timedelta(days=59, hours=12), UTC, 60),
        (NOW - timedelta(days=3), UTC, -3),
        # Later today in UTC; already tomorrow's date in Auckland for both.
        (datetime(2026, 12, 7, 23, 0, tzinfo=UTC), UTC, 0),
        (datetime(2026, 12, 7, 23, 0, tzinfo=UTC), AUCKLAND, 0),
        # 10:00 UTC tomorrow is 23:00 today in Auckland: "today" there, "tomorrow" in UTC.
        (datetime(2026, 12, 8, 10, 0, tzinfo=UTC), AUCKLAND, 0),
        (datetime(2026, 12, 8, 10, 0, tzinfo=UTC), UTC, 1),
    ],
)
def test_days_left_counts_calendar_days_in_the_zone(
    expires_at: datetime, tz: ZoneInfo, days: int
) -> None:
    assert clock.days_left(expires_at, tz, NOW) == days


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (60, "expires in 60 days"),
        (2, "expires in 2 days"),
        (1, "expires tomorrow"),
        (0, "expires today"),
        (-1, "expired 1 day ago"),
        (-3, "expired 3 days ago"),
    ],
)
def test_phrase(days: int, words: str) -> None:
    assert clock.phrase(days) == words


def test_an_expiry_earlier_today_has_expired_today() -> None:
    earlier, later = NOW - timedelta(hours=1), NOW + timedelta(hours=1)

    assert clock.expiry_phrase(earlier, UTC, NOW) == "expired today"
    assert clock.expiry_phrase(later, UTC, NOW) == "expires today"


def test_day_end_bounds_exactly_the_certificates_with_that_many_days_left() -> None:
    end = clock.day_end(0, AUCKLAND, NOW)

    assert end == datetime(2026, 12, 8, 11, 0, tzinfo=UTC)  # midnight of the 9th in Auckland
    assert clock.days_left(end - timedelta(microseconds=1), AUCKLAND, NOW) == 0
    assert clock.days_left(end, AUCKLAND, NOW) == 1


def test_one_format_with_the_zone_named() -> None:
    assert clock.when(NOW, PARIS) == "2026-12-07 17:52 CET"
    assert clock.when(NOW, AUCKLAND) == "2026-12-08 05:52 NZDT"
    assert clock.day(NOW, AUCKLAND) == "2026-12-08"
    assert clock.when(None) == ""


def test_the_template_filters_use_the_current_zone() -> None:
    template = Template("{% load clock %}{{ m|when }} | {{ m|day }} | {{ e|expiry }}")
    context = Context({"m": NOW, "e": timezone.now() - timedelta(days=3)})

    with timezone.override(PARIS):
        rendered = template.render(context)

    assert rendered == "2026-12-07 17:52 CET | 2026-12-07 | expired 3 days ago"


@pytest.mark.django_db
def test_pages_show_moments_in_the_orgs_zone_in_one_format(
    alice_client: Client, acme: Organization
) -> None:
    acme.time_zone = "Europe/Paris"
    acme.save()
    cert = self_signed(acme, "Paris_Signing")
    Certificate.objects.filter(pk=cert.pk).update(
        not_after=datetime(2027, 1, 15, 23, 30, tzinfo=UTC), created_at=NOW
    )

    detail = alice_client.get(cert.get_absolute_url()).content.decode()
    listing = alice_client.get(reverse("certadmin:certificate-list", args=[acme.public_id]))
    home = alice_client.get(reverse("orgs:setup-home", args=[acme.public_id])).content.decode()

    # 23:30 UTC on the 15th is 00:30 on the 16th in Paris: the day the org sees.
    assert "2027-01-16 00:30 CET" in detail
    assert "2026-12-07 17:52 CET" in detail  # created
    assert "<td>2027-01-16" in listing.content.decode()
    for page in (detail, home):
        assert not re.search(r"\b(a\.m\.|p\.m\.|Dec\.|Jan\.)", page)
        assert "+00:00" not in page
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} CET", home)  # the org's Created
