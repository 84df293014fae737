"""One clock (issue 15): certificates expiring in 0, 1, 4½, 59½ and -3 days, in an org whose
calendar day is not UTC's right now, show the same days left on the list, detail, Expired and
Expiration Notifications pages, in the expiry email and in the API.

Nothing is frozen: the org's zone is chosen at test time so that its date differs from UTC's
(UTC+14 in UTC's afternoon, UTC-12 in its morning), and the expected words are worked out here
from the calendar, independently of the code under test.
"""

import urllib.request
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from playwright.sync_api import Page, expect

from certadmin.crypto import keypairs
from certadmin.models import Certificate
from certadmin.services.certificates import create_self_signed
from notifications.services import send_expiry_notices
from orgs.models import Organization
from tests.api.conftest import make_token
from tests.browser.conftest import log_in


def _zone_not_utcs_day(now: datetime) -> str:
    zone = "Pacific/Kiritimati" if now.hour >= 12 else "Etc/GMT+12"
    assert now.astimezone(ZoneInfo(zone)).date() != now.date()
    return zone


def _words(days: int) -> str:
    if days >= 2:
        return f"expires in {days} days"
    if days in (0, 1):
        return ("expires today", "expires tomorrow")[days]
    return f"expired {-days} day{'s' if days != -1 else ''} ago"


def _certificate(org: Organization, name: str, expires: datetime) -> Certificate:
    return create_self_signed(
        org=org,
        label=name.replace("_", " "),
        unique_name=name,
        key_type="EC-P256",
        acting_user=None,
        now=expires - timedelta(days=keypairs.validity_days("EC-P256")),
    )


def test_days_left_agree_on_every_page_the_email_and_the_api(
    page: Page,
    acme: Organization,
    alice: User,
    mailoutbox: list[EmailMultiAlternatives],
    live_server: Any,
) -> None:
    # The server's first answer loads the URLconf and views: seconds on a loaded machine,
    # more than the browser's 10 s timeout allows, so it is asked here first.
    urllib.request.urlopen(f"{live_server.url}/accounts/login/", timeout=120).close()
    now = timezone.now()
    acme.time_zone = _zone_not_utcs_day(now)
    acme.save()
    tz = acme.tzinfo
    today = now.astimezone(tz).date()
    tonight = datetime.combine(today, time(23, 59), tzinfo=tz)
    assert tonight > now + timedelta(minutes=5), "too close to the org's midnight; rerun"
    expiries = {
        "In_0_Days": tonight,
        "In_1_Day": now + timedelta(days=1),
        "In_4_5_Days": now + timedelta(days=4, hours=12),
        "In_59_5_Days": now + timedelta(days=59, hours=12),
        "Expired_3_Days": now - timedelta(days=3),
    }
    certificates = {name: _certificate(acme, name, at) for name, at in expiries.items()}
    days = {name: (at.astimezone(tz).date() - today).days for name, at in expiries.items()}
    words = {name: _words(d) for name, d in days.items()}
    assert (days["In_0_Days"], days["In_1_Day"], days["Expired_3_Days"]) == (0, 1, -3)
    log_in(page, alice)
    org = acme.public_id

    # The list: each row's badge, and Status "Expired" for the expired one.
    page.goto(f"/o/{org}/setup/certificates/")
    table = page.get_by_role("table", name="Certificates of Acme")
    for name, text in words.items():
        row = table.get_by_role("row").filter(has_text=name)
        expect(row.locator(".badge")).to_have_text(text)
        expect(row.get_by_role("cell").nth(7)).to_have_text(
            "Expired" if days[name] < 0 else "Active"
        )

    # Each detail page.
    for name, text in words.items():
        page.goto(certificates[name].get_absolute_url())
        expect(page.locator(".details .badge").first).to_have_text(text)

    # Expired Certificates, with the 60-day window.
    page.goto(f"/o/{org}/setup/certificates/expired/?within=60")
    expired = page.get_by_role("table", name="Expired and soon-expiring certificates of Acme")
    for name, text in words.items():
        expect(expired.get_by_role("row").filter(has_text=name).locator(".badge")).to_have_text(
            text
        )

    # Expiration Notifications: every certificate inside a notice window.
    page.goto(f"/o/{org}/setup/notifications/")
    preview = page.get_by_role("table", name="Notices due for the certificates of Acme")
    for name, text in words.items():
        rows = preview.get_by_role("row").filter(has_text=name.replace("_", " "))
        if days[name] < 0:
            expect(rows).to_have_count(0)
        else:
            expect(rows.get_by_role("cell").nth(3)).to_have_text(text)

    # The email (text and HTML parts).
    send_expiry_notices()
    (message,) = mailoutbox
    html = message.alternatives[0][0]
    for name, text in words.items():
        label = name.replace("_", " ")
        if days[name] < 0:
            assert label not in message.body
            continue
        line = next(line for line in message.body.splitlines() if line.startswith(label + ","))
        assert line.endswith(f"Warning: This certificate {text}."), line
        assert f"This certificate {text}." in html

    # The API, through the live server.
    token = make_token(acme, alice)
    answer = page.request.get(
        f"/api/v1/orgs/{org}/certificates/?page_size=10",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.ok, answer.text()
    api_days = {item["unique_name"]: item["days_left"] for item in answer.json()["results"]}
    assert api_days == days
