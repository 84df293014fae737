from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from orgs.models import Organization
from tests.browser.conftest import log_in


def test_admin_logs_in_and_finds_the_audit_trail_with_quick_find(
    page: Page, acme: Organization, alice: User
) -> None:
    log_in(page, alice)

    expect(page.get_by_role("heading", name="Setup Home")).to_be_visible()
    expect(page.get_by_text(acme.public_id)).to_be_visible()
    page.get_by_label("Quick Find").fill("audit")
    expect(page.get_by_role("link", name="Users", exact=True)).to_be_hidden()
    page.get_by_role("link", name="Setup Audit Trail").click()
    expect(page.get_by_role("heading", name="View Setup Audit Trail")).to_be_visible()
    expect(page.get_by_text("Added user alice")).to_be_visible()
