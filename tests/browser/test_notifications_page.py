"""The Setup page "Expiration Notifications", as alice (System Administrator of Acme) uses it.

bob is a Standard User of Acme with an email address: alice makes him a recipient and then
takes it back, watching who receives what.
"""

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from certadmin.crypto import keypairs
from certadmin.services.certificates import create_self_signed
from orgs.models import Organization
from tests.browser.conftest import log_in

RECEIVES, RECIPIENTS = 4, 5  # columns of the recipients table / of the preview table


def _expiring_in(org: Organization, label: str, days: int) -> None:
    """A self-signed certificate of `org` that expires `days` days from now."""
    expires = timezone.now() + timedelta(days=days)
    create_self_signed(
        org=org,
        label=label,
        unique_name=label.replace(" ", "_"),
        key_type="EC-P256",
        acting_user=None,
        now=expires - timedelta(days=keypairs.validity_days("EC-P256")),
    )


def _row(page: Page, table: str, text: str) -> Locator:
    return page.get_by_role("table", name=table).get_by_role("row").filter(has_text=text)


def _preview(page: Page, label: str) -> Locator:
    return _row(page, "Notices due for the certificates of Acme", label).get_by_role("cell")


def _receives(page: Page, username: str) -> Locator:
    return _row(page, "Recipients of expiration notices in Acme", username).get_by_role("cell")


def test_admin_assigns_and_removes_the_notification_permission(
    page: Page, acme: Organization, alice: User, bob: User
) -> None:
    _expiring_in(acme, "Payments Signing", 20)
    _expiring_in(acme, "Web Server", 1)
    log_in(page, alice)

    page.get_by_label("Quick Find").fill("expiration")
    page.get_by_role("link", name="Expiration Notifications").click()

    expect(page.get_by_role("heading", name="Expiration Notifications", level=1)).to_be_visible()
    # Nobody holds the permission: the System Administrator gets every notice.
    expect(page.get_by_text("Nobody holds it.")).to_be_visible()
    expect(_receives(page, "alice").nth(RECEIVES)).to_have_text("All notices")
    expect(_preview(page, "Payments Signing").nth(4)).to_have_text("30-day")
    expect(_preview(page, "Payments Signing").nth(RECIPIENTS)).to_have_text("alice")
    expect(_preview(page, "Web Server").nth(RECIPIENTS)).to_have_text("alice")

    page.get_by_label("Assign to").select_option(label="bob")
    page.get_by_role("button", name="Assign").click()

    expect(page.get_by_text("bob now receives every expiration notice.")).to_be_visible()
    holders = page.get_by_role("table", name="Users who hold Receive Certificate Expiration")
    expect(holders.get_by_role("row").filter(has_text="bob")).to_contain_text(
        "Certificate Expiration Notifications"
    )
    expect(_receives(page, "bob").nth(RECEIVES)).to_have_text("All notices")
    # The seed's rule (issue 17): bob is not an admin, so his holding it does not limit the
    # System Administrator; the page says which case the org is in.
    expect(page.locator("#recipient-case")).to_contain_text("only users who are not admins")
    expect(_receives(page, "alice").nth(RECEIVES)).to_have_text("All notices")
    expect(_preview(page, "Payments Signing").nth(RECIPIENTS)).to_have_text("alice, bob")
    expect(_preview(page, "Web Server").nth(RECIPIENTS)).to_have_text("alice, bob")

    page.get_by_role("button", name="Remove the permission from bob").click()

    expect(
        page.get_by_text("bob no longer holds Receive Certificate Expiration Notifications.")
    ).to_be_visible()
    expect(page.get_by_text("Nobody holds it.")).to_be_visible()
    expect(_receives(page, "alice").nth(RECEIVES)).to_have_text("All notices")
    expect(_row(page, "Recipients of expiration notices in Acme", "bob")).to_have_count(0)
    expect(_preview(page, "Payments Signing").nth(RECIPIENTS)).to_have_text("alice")
