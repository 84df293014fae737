"""What admins and users see of SAML login (issue 16): the configuration page's URLs to copy,
the login page's buttons, expired-certificate flags, and the retired proxy certificate's
countdown on the SSO pages and Setup Home."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certadmin.models import SamlSsoConfig
from certadmin.services import sso_login
from orgs.models import Organization
from tests.certadmin.sso_helpers import fast_rsa, make_config, rsa_certificate  # noqa: F401
from tests.conftest import grant

pytestmark = pytest.mark.usefixtures("fast_rsa")


@pytest.fixture
def admin_client(client: Client, acme: Organization, alice: User) -> Client:
    grant(acme, alice, "customize_application")
    client.force_login(alice)
    return client


def test_config_page_shows_what_to_copy_into_the_identity_provider(
    admin_client: Client, acme: Organization
) -> None:
    config = make_config(acme, signer=rsa_certificate(acme))

    page = admin_client.get(config.get_absolute_url()).content.decode()

    login = f"/o/{acme.public_id}/sso/{config.uuid}/login"
    assert f'<code id="sso-login-url">http://testserver{login}</code>' in page
    assert f"http://testserver/o/{acme.public_id}/sso/{config.uuid}/acs" in page
    assert f'<code id="sso-entity-id">{config.issuer}</code>' in page
    assert "sso-expired-flag" not in page


def test_config_page_and_login_page_flag_an_expired_certificate(
    admin_client: Client, client: Client, acme: Organization
) -> None:
    config = make_config(acme, signer=rsa_certificate(acme))
    SamlSsoConfig.objects.filter(pk=config.pk).update(
        idp_certificate_not_after=timezone.now() - timedelta(days=1), show_on_login_page=True
    )

    page = admin_client.get(config.get_absolute_url()).content.decode()
    assert "Expired: Identity Provider Certificate" in page

    admin_client.logout()
    login_page = client.get(reverse("login")).content.decode()
    assert "Log in with Okta" in login_page
    assert "Certificate expired: tell your administrator" in login_page


def test_login_page_offers_only_configurations_shown_on_it(
    client: Client, acme: Organization
) -> None:
    shown = make_config(acme, "Okta", signer=rsa_certificate(acme))
    make_config(acme, "Hidden", signer=rsa_certificate(acme, "Other_Signing"))
    SamlSsoConfig.objects.filter(pk=shown.pk).update(show_on_login_page=True)

    page = client.get(reverse("login")).content.decode()

    assert f'href="{sso_login.login_path(shown)}"' in page
    assert "Log in with Okta" in page
    assert "Log in with Hidden" not in page


def test_the_form_saves_the_login_options_off_by_default(
    admin_client: Client, acme: Organization
) -> None:
    config = make_config(acme, signer=rsa_certificate(acme))
    assert not config.show_on_login_page
    assert not config.allow_idp_initiated
    assert not config.jit_provisioning
    url = reverse("certadmin:sso-edit", args=[acme.public_id, config.uuid])
    data = {
        "name": config.name,
        "issuer": config.issuer,
        "idp_entity_id": config.idp_entity_id,
        "idp_login_url": config.idp_login_url,
        "request_signing_certificate": str(config.request_signing_certificate.uuid),  # type: ignore[union-attr]
        "signature_method": config.signature_method,
        "show_on_login_page": "on",
        "jit_provisioning": "on",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    config.refresh_from_db()
    assert config.show_on_login_page
    assert config.jit_provisioning
    assert not config.allow_idp_initiated


def test_proxy_countdown_on_the_sso_pages_and_setup_home(
    admin_client: Client, acme: Organization, settings: object
) -> None:
    legacy = make_config(acme, "Legacy", legacy=True)
    settings.CERTADMIN_PROXY_DEADLINE = timezone.now() + timedelta(days=10, hours=1)  # type: ignore[attr-defined]

    listing = admin_client.get(reverse("certadmin:sso-list", args=[acme.public_id]))
    detail = admin_client.get(legacy.get_absolute_url())
    home = admin_client.get(reverse("orgs:setup-home", args=[acme.public_id]))

    for response in (listing, detail):
        assert re.search(r"1[01] days left", response.content.decode())
    assert "Default proxy certificate (retired): Expired" in detail.content.decode()
    home_page = home.content.decode()
    assert "1 SAML SSO configuration still signs requests with the retired default proxy" in (
        home_page
    )
    assert "Act now to prevent a possible interruption of service" in home_page


def test_no_countdown_on_setup_home_without_proxy_configurations(
    admin_client: Client, acme: Organization
) -> None:
    make_config(acme, signer=rsa_certificate(acme))

    home = admin_client.get(reverse("orgs:setup-home", args=[acme.public_id]))

    assert "retired default proxy" not in home.content.decode()


def test_proxy_days_left_counts_calendar_days_in_the_org_zone(
    acme: Organization, settings: object
) -> None:
    now = timezone.now()
    settings.CERTADMIN_PROXY_DEADLINE = now + timedelta(days=3)  # type: ignore[attr-defined]

    assert sso_login.proxy_days_left(acme, now=now) == 3
    assert sso_login.proxy_days_left(acme, now=now + timedelta(days=4)) == 0


def test_an_admin_sets_a_members_federation_id_unique_in_the_org(
    client: Client, acme: Organization, alice: User, bob: User
) -> None:
    from orgs.models import AuditEvent, Membership

    client.force_login(alice)
    bob_membership = Membership.objects.get(organization=acme, user=bob)
    url = reverse("orgs:user-federation-id", args=[acme.public_id, bob_membership.uuid])

    assert client.post(url, {"federation_id": " bob@acme.test "}).status_code == 302
    bob_membership.refresh_from_db()
    assert bob_membership.federation_id == "bob@acme.test"
    assert AuditEvent.objects.filter(organization=acme, action="changedFederationId").exists()
    alice_membership = Membership.objects.get(organization=acme, user=alice)
    url = reverse("orgs:user-federation-id", args=[acme.public_id, alice_membership.uuid])
    refused = client.post(url, {"federation_id": "bob@acme.test"})
    assert refused.status_code == 400
    assert "Another user of this org has this Federation ID." in refused.content.decode()
