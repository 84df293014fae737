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


def test_quick_find_says_when_nothing_matches_and_locked_pages_say_so_in_words(
    page: Page, acme: Organization, bob: User
) -> None:
    log_in(page, bob)  # a member without permissions: most of the tree is locked

    find = page.get_by_label("Quick Find")
    find.fill("audit")
    expect(page.get_by_role("status").filter(has_text="match")).to_have_text(
        "1 Setup page matches."
    )
    expect(page.get_by_role("link", name="Setup Audit Trail (no access)")).to_be_visible()
    find.fill("zzz")
    expect(page.get_by_role("status").filter(has_text="match")).to_have_text(
        "No Setup pages match."
    )
    expect(find).to_have_attribute("aria-describedby", "find-status")
