"""Absolute links use the host the user used (issue 15): the IdP entity id, the SP metadata's
ACS URL, the signed AuthnRequest, the SSO login URL; emails, sent without a request, use
SITE_URL when set, else the host the org's pages were last served on."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree
from pytest_django.fixtures import Settings as SettingsWrapper

from certadmin import saml
from certadmin.models import Certificate
from certadmin.services import sso
from notifications.services import send_expiry_notices
from orgs import links, permissions
from orgs.models import Organization
from tests.certadmin.conftest import self_signed
from tests.certadmin.sso_helpers import fast_rsa, make_config, rsa_certificate  # noqa: F401
from tests.conftest import grant

NS = {"md": saml.MD, "samlp": saml.SAMLP}
HOST = "127.0.0.1:8101"  # `make run PORT=8101`
BASE = f"http://{HOST}"


@pytest.fixture
def admin_client(client: Client, acme: Organization, alice: User) -> Client:
    grant(acme, alice, "customize_application", "manage_certificates")
    client.force_login(alice)
    return client


def _get(client: Client, url: str) -> str:
    response = client.get(url, HTTP_HOST=HOST)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


@pytest.mark.usefixtures("fast_rsa")
def test_saml_documents_and_pages_use_the_requests_host(
    admin_client: Client, acme: Organization, alice: User
) -> None:
    config = make_config(acme, signer=rsa_certificate(acme))
    sso.enable_identity_provider(
        org=acme, certificate=rsa_certificate(acme, "Idp_Signing"), acting_user=alice
    )
    org = acme.public_id
    acs = f"{BASE}/o/{org}/sso/{config.uuid}/acs"

    detail = _get(admin_client, config.get_absolute_url())
    metadata = _get(admin_client, reverse("certadmin:sso-metadata", args=[org, config.uuid]))
    request = _get(admin_client, reverse("certadmin:sso-authn-request", args=[org, config.uuid]))
    idp_page = _get(admin_client, reverse("certadmin:idp-settings", args=[org]))
    idp_metadata = _get(admin_client, reverse("certadmin:idp-metadata", args=[org]))

    location = etree.fromstring(metadata.encode()).xpath(
        "//md:AssertionConsumerService/@Location", namespaces=NS
    )
    assert location == [acs]
    assert etree.fromstring(request.encode()).get("AssertionConsumerServiceURL") == acs
    assert etree.fromstring(idp_metadata.encode()).get("entityID") == f"{BASE}/o/{org}/idp"
    assert f"{BASE}/o/{org}/idp" in idp_page
    assert acs in detail
    for text in (detail, metadata, request, idp_page, idp_metadata):
        assert ":8000" not in text
        assert "certadmin.test" not in text  # SITE_URL is for emails only


def _expiring(org: Organization) -> Certificate:
    cert = self_signed(org, "Soon")
    Certificate.objects.filter(pk=cert.pk).update(not_after=timezone.now() + timedelta(days=10))
    return cert


def test_email_links_use_the_host_the_org_was_last_served_on_without_site_url(
    admin_client: Client,
    acme: Organization,
    alice: User,
    settings: SettingsWrapper,
    mailoutbox: list[EmailMultiAlternatives],
) -> None:
    settings.SITE_URL = ""
    cert = _expiring(acme)
    grant(acme, alice, permissions.RECEIVE_EXPIRATION_NOTIFICATIONS.codename)
    _get(admin_client, reverse("orgs:setup-home", args=[acme.public_id]))

    send_expiry_notices()

    (message,) = mailoutbox
    assert f"{BASE}{cert.get_absolute_url()}" in message.body
    assert f'href="{BASE}{cert.get_absolute_url()}"' in message.alternatives[0][0]
    assert ":8000" not in message.body


def test_email_links_use_site_url_when_it_is_set(
    admin_client: Client,
    acme: Organization,
    alice: User,
    settings: SettingsWrapper,
    mailoutbox: list[EmailMultiAlternatives],
) -> None:
    settings.SITE_URL = "https://certs.example.com"
    cert = _expiring(acme)
    grant(acme, alice, permissions.RECEIVE_EXPIRATION_NOTIFICATIONS.codename)
    _get(admin_client, reverse("orgs:setup-home", args=[acme.public_id]))

    send_expiry_notices()

    (message,) = mailoutbox
    assert f"https://certs.example.com{cert.get_absolute_url()}" in message.body
    assert BASE not in message.body


def test_without_request_site_url_or_a_served_org_links_use_the_last_resort(
    acme: Organization, settings: SettingsWrapper
) -> None:
    settings.SITE_URL = ""

    assert links.absolute("/x", acme) == f"{links.LAST_RESORT_BASE_URL}/x"
