"""The screenshots of the README and docs, taken by the browser tests' Playwright and chromium
against the demo org (`certadmin.demo.load_demo`, as `make run` loads it) plus a spread of
expiry dates, so they show what the code renders today and cannot go stale.

    make screenshots        # writes docs/screenshots/*.png

Skipped in the ordinary test run (it writes files); `make screenshots` sets
CERTADMIN_SCREENSHOTS to the folder to write. Each shot is also a check: the page answers
200 and shows its heading, so a broken page fails the command instead of being pictured.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, expect

from certadmin.demo import load_demo
from certadmin.models import Certificate
from certadmin.services import certificates as services
from orgs.models import Organization

OUT = os.environ.get("CERTADMIN_SCREENSHOTS", "")
WIDTH, HEIGHT = 1400, 900

pytestmark = pytest.mark.skipif(not OUT, reason="make screenshots sets CERTADMIN_SCREENSHOTS")


def _spread_expiries(org: Organization) -> None:
    """Certificates expiring across the next two years (and two expired), so the chart, the
    counts and the badges have something to show."""
    now = timezone.now()
    for i, days in enumerate((-20, -2, 4, 9, 25, 40, 75, 130, 200, 200, 320, 420, 560, 690)):
        cert = services.create_self_signed(
            org=org,
            label=f"Service {i + 1:02} Signing",
            unique_name=f"Service_{i + 1:02}_Signing",
            key_type="EC-P256",
            acting_user=None,
        )
        Certificate.objects.filter(pk=cert.pk).update(not_after=now + timedelta(days=days))


@pytest.mark.django_db(transaction=True)
def test_screenshots(browser: Browser, live_server: object) -> None:
    out = Path(OUT)
    out.mkdir(parents=True, exist_ok=True)
    org, logins = load_demo()
    _spread_expiries(org)
    admin = next(login for login in logins if login.username == "admin")
    detail = Certificate.objects.get(organization=org, unique_name="Payments_Signing")
    shots = {
        "setup-home.png": (reverse("orgs:setup-home", args=[org.public_id]), "Setup Home"),
        "certificates.png": (
            reverse("certadmin:certificate-list", args=[org.public_id]),
            "Certificate and Key Management",
        ),
        "certificate-detail.png": (detail.get_absolute_url(), detail.label),
        "expired.png": (
            reverse("certadmin:certificate-expired", args=[org.public_id]),
            "Expired Certificates",
        ),
        "notifications.png": (
            reverse("notifications:settings", args=[org.public_id]),
            "Expiration Notifications",
        ),
        "master-keys.png": (
            reverse("keys:key-list", args=[org.public_id]),
            "Master Encryption Keys",
        ),
    }
    context = browser.new_context(
        base_url=str(live_server), viewport={"width": WIDTH, "height": HEIGHT}
    )
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(admin.username)
    page.get_by_label("Password").fill(admin.password)
    page.get_by_role("button", name="Log In").click()
    for name, (url, heading) in shots.items():
        response = page.goto(url)
        assert response is not None
        assert response.status == 200, url
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        if name == "certificates.png":
            page.locator("#expiry-chart > summary").click()  # open the chart
        page.screenshot(path=str(out / name), full_page=True)
    context.close()
