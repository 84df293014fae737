from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from orgs.models import Organization
from tests.browser.conftest import log_in
from tests.conftest import grant


def test_an_encrypted_field_is_masked_for_a_member_without_view_encrypted_data(
    page: Page, acme: Organization, alice: User, bob: User
) -> None:
    grant(acme, alice, "customize_application")
    log_in(page, alice)
    page.get_by_role("link", name="Encrypted Fields").click()
    page.get_by_role("link", name="New Encrypted Field").click()
    page.get_by_label("Label").fill("Social Security No")
    expect(page.get_by_label("API Name")).to_have_value("Social_Security_No")
    page.get_by_label("Mask type").select_option(label="Social Security Number")
    page.get_by_label("Mask Character").select_option("X")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Created the encrypted field Social Security No.")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    log_in(page, bob)
    page.get_by_role("link", name="Contacts", exact=True).click()
    page.get_by_role("link", name="New Contact").click()
    page.get_by_label("First name").fill("Ann")
    page.get_by_label("Last name").fill("Lee")
    page.get_by_label("Social Security No").fill("987-65-4321")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Ann Lee")).to_be_visible()
    expect(page.get_by_text("XXX-XX-4321")).to_be_visible()
    expect(page.get_by_text("987-65-4321")).to_have_count(0)
    page.get_by_role("link", name="Back to Contacts").click()
    expect(page.get_by_role("cell", name="XXX-XX-4321")).to_be_visible()
