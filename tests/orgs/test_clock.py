"""orgs.clock: the one definition of days left, its wording and the shown date format."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from orgs import clock

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
