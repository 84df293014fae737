"""Logging in with SAML in a real browser (issue 16): the login page's "Log in with Okta",
a test identity provider page (a pysaml2 IdP answering in the test, reached by the browser at
its own URL), and Setup Home of the right org."""

import html
from urllib.parse import urlsplit

from django.contrib.auth.models import User
from playwright.sync_api import Page, Route, expect

from certadmin.models import SamlSsoConfig
from certadmin.services import sso as sso_services
from orgs.models import Membership, Organization
from tests.certadmin import saml_peers as peers
from tests.certadmin.sso_helpers import make_config, rsa_certificate


def test_log_in_with_the_orgs_identity_provider_lands_on_its_setup_home(
    page: Page, acme: Organization, globex: Organization, alice: User
) -> None:
    config = make_config(acme, "Okta", signer=rsa_certificate(acme))
    SamlSsoConfig.objects.filter(pk=config.pk).update(
        idp_entity_id=peers.IDP_ENTITY_ID,
        idp_login_url=peers.IDP_LOGIN_URL,
        idp_certificate_pem=peers.idp_certificate_pem(),
        show_on_login_page=True,
    )
    config.refresh_from_db()
    Membership.objects.filter(organization=acme, user=alice).update(federation_id="alice@acme")
    idp = peers.pysaml2_idp(sso_services.sp_metadata(config))

    def identity_provider(route: Route) -> None:
        """The test IdP's login page: it checks our signed request and offers to sign in."""
        acs, body, _ = peers.answer_redirect(idp, route.request.url, name_id="alice@acme")
        route.fulfill(
            status=200,
            content_type="text/html",
            body=(
                "<!doctype html><title>Test IdP</title><h1>Test identity provider</h1>"
                f'<form method="post" action="{html.escape(acs)}">'
                f'<input type="hidden" name="SAMLResponse" value="{body}">'
                "<button>Sign in as alice@acme</button></form>"
            ),
        )

    page.route(f"{peers.IDP_LOGIN_URL}?**", identity_provider)
    page.goto("/accounts/login/")

    page.get_by_role("link", name="Log in with Okta").click()
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_role("button", name="Sign in as alice@acme").click()

    expect(page.get_by_role("heading", name="Setup Home")).to_be_visible()
    assert urlsplit(page.url).path == f"/o/{acme.public_id}/setup/"
    expect(page.get_by_text(acme.public_id)).to_be_visible()
