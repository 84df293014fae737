"""The org's Identity Provider: enable with a chosen or generated certificate, disable."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from certadmin import usage
from certadmin.models import Certificate, IdentityProvider
from certadmin.services import sso
from orgs.models import AuditEvent, Organization
from tests.certadmin.conftest import ca_signed
from tests.certadmin.sso_helpers import fast_rsa, rsa_certificate  # noqa: F401
from tests.conftest import grant

pytestmark = pytest.mark.usefixtures("fast_rsa")


@pytest.fixture
def sso_client(client: Client, acme: Organization, alice: User) -> Client:
    grant(acme, alice, "customize_application")
    client.force_login(alice)
    return client


def _settings(org: Organization) -> str:
    return reverse("certadmin:idp-settings", args=[org.public_id])


def test_enabling_without_a_certificate_generates_a_named_one(
    acme: Organization, alice: User
) -> None:
    acme.time_zone = "Europe/Zurich"
    acme.save()
    now = datetime(2026, 3, 5, 22, 7, 9, tzinfo=UTC)

    idp = sso.enable_identity_provider(org=acme, certificate=None, acting_user=alice, now=now)

    assert idp.enabled
    assert idp.certificate.unique_name == "SelfSignedCert_05Mar2026_230709"  # Zurich: UTC+1
    assert idp.certificate.key_type == "RSA-2048"
    assert AuditEvent.objects.filter(
        action="enabledIdp",
        message="Enabled the Identity Provider with SelfSignedCert_05Mar2026_230709",
    ).exists()


def test_the_page_enables_with_a_generated_certificate(
    sso_client: Client, acme: Organization
) -> None:
    response = sso_client.post(
        _settings(acme), {"action": "enable", "certificate": ""}, follow=True
    )

    certificate = Certificate.objects.get(organization=acme)
    assertContains(response, f"The Identity Provider uses {certificate.label}.")
    assertContains(response, "Enabled")
    assertContains(response, "Download Metadata")
    assert certificate.unique_name.startswith("SelfSignedCert_")


def test_the_page_enables_with_a_chosen_certificate_which_becomes_used(
    sso_client: Client, acme: Organization
) -> None:
    chosen = rsa_certificate(acme, "Idp_Signing")

    sso_client.post(_settings(acme), {"action": "enable", "certificate": str(chosen.uuid)})

    assert IdentityProvider.objects.get(organization=acme).certificate == chosen
    assert [u.kind for u in usage.uses_of(chosen)] == ["Identity Provider"]


def test_changing_the_certificate_of_an_enabled_idp(acme: Organization, alice: User) -> None:
    first, second = rsa_certificate(acme, "First"), rsa_certificate(acme, "Second")
    sso.enable_identity_provider(org=acme, certificate=first, acting_user=alice)

    sso.enable_identity_provider(org=acme, certificate=second, acting_user=alice)

    assert usage.uses_of(first) == []
    assert AuditEvent.objects.filter(action="changedIdpCertificate").exists()


def test_disabling_releases_the_certificate(sso_client: Client, acme: Organization) -> None:
    chosen = rsa_certificate(acme, "Idp_Signing")
    sso_client.post(_settings(acme), {"action": "enable", "certificate": str(chosen.uuid)})

    response = sso_client.post(_settings(acme), {"action": "disable"}, follow=True)

    assertContains(response, "Disabled the Identity Provider.")
    assertNotContains(response, "Download Metadata")
    assert usage.uses_of(chosen) == []
    assert not IdentityProvider.objects.get(organization=acme).enabled


def test_awaiting_and_other_orgs_certificates_are_not_offered_nor_accepted(
    sso_client: Client, acme: Organization, globex: Organization
) -> None:
    awaiting = ca_signed(acme, name="Awaiting", key_type="RSA-2048")
    theirs = rsa_certificate(globex, "Theirs")

    page = sso_client.get(_settings(acme))
    refused = sso_client.post(
        _settings(acme), {"action": "enable", "certificate": str(theirs.uuid)}
    )

    assertNotContains(page, str(awaiting.uuid))
    assertNotContains(page, str(theirs.uuid))
    assertContains(refused, "Select a valid choice", status_code=400)
    assert not IdentityProvider.objects.filter(enabled=True).exists()


def test_metadata_of_a_disabled_idp_explains_instead_of_failing(
    sso_client: Client, acme: Organization
) -> None:
    response = sso_client.get(reverse("certadmin:idp-metadata", args=[acme.public_id]), follow=True)

    assertContains(response, "Enable the Identity Provider first")


def test_the_help_text_shows_a_whole_generated_name(sso_client: Client, acme: Organization) -> None:
    """Issue 15: the help printed "SelfSignedCert__" (its date part was lost)."""
    page = sso_client.get(_settings(acme)).content.decode()

    assert re.search(r"such as SelfSignedCert_\d{2}[A-Z][a-z]{2}\d{4}_\d{6}", page)
    assert "SelfSignedCert__" not in page
