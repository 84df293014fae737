from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from certadmin.models import SamlSsoConfig
from orgs.models import Organization
from tests.browser.conftest import log_in
from tests.certadmin.sso_helpers import make_config, rsa_certificate
from tests.conftest import grant


def test_admin_replaces_the_retired_proxy_certificate_in_every_configuration(
    page: Page, acme: Organization, alice: User
) -> None:
    grant(acme, alice, "customize_application")
    make_config(acme, "Okta", legacy=True)
    make_config(acme, "Azure AD", legacy=True)
    new = rsa_certificate(acme, "New_Signing")
    log_in(page, alice)

    page.get_by_role("link", name="Single Sign-On").click()
    warning = page.locator("#proxy-warning")
    expect(warning).to_contain_text("2 configurations still sign requests with the retired")
    warning.get_by_role("link", name="Replace").click()
    expect(
        page.get_by_role("heading", name="Replace the Retired Default Proxy Certificate")
    ).to_be_visible()
    expect(page.get_by_label("Okta")).to_be_checked()
    expect(page.get_by_label("Azure AD")).to_be_checked()
    choice = page.get_by_label("Replace with")
    expect(choice.locator("option", has_text="New Signing (New_Signing, RSA 2048")).to_have_count(1)
    choice.select_option(value=str(new.uuid))
    page.get_by_role("button", name="Replace").click()

    expect(page.get_by_text("2 configurations now sign with New_Signing.")).to_be_visible()
    expect(page.locator("#proxy-warning")).to_have_count(0)
    expect(page.locator("#sso-configs").get_by_role("link", name="New Signing")).to_have_count(2)
    page.get_by_role("link", name="Certificate and Key Management").click()
    expect(page.locator("#proxy-uses")).to_have_count(0)
    row = page.locator("#certificates tr", has_text="New_Signing")
    expect(row).to_contain_text("Azure AD")
    expect(row).to_contain_text("Okta")
    assert not SamlSsoConfig.objects.filter(proxy_certificate__isnull=False).exists()
