"""SAML Single Sign-On Settings pages: alice, once she holds Customize Application."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from certadmin.models import Certificate, SamlSsoConfig
from certadmin.services import sso
from orgs.models import AuditEvent, Organization
from tests.certadmin.conftest import ca_signed, self_signed
from tests.certadmin.sso_helpers import (  # noqa: F401
    fast_rsa,
    idp_certificate_pem,
    make_config,
    rsa_certificate,
)
from tests.conftest import grant

pytestmark = pytest.mark.usefixtures("fast_rsa")


@pytest.fixture
def sso_client(client: Client, acme: Organization, alice: User) -> Client:
    """alice with Customize Application (the System Administrator profile lacks it)."""
    grant(acme, alice, "customize_application")
    client.force_login(alice)
    return client


def _url(name: str, org: Organization, *args: object) -> str:
    return reverse(f"certadmin:{name}", args=[org.public_id, *args])


def _form(signer: Certificate, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Okta",
        "issuer": "https://certadmin.example.test/acme",
        "idp_entity_id": "http://www.okta.com/exk1",
        "idp_login_url": "https://acme.okta.test/app/sso/saml",
        "idp_certificate": SimpleUploadedFile("okta.pem", idp_certificate_pem()),
        "request_signing_certificate": str(signer.uuid),
        "signature_method": "RSA-SHA256",
        "assertion_decryption_certificate": "",
    }
    data.update(overrides)
    return data


def test_admin_creates_a_configuration(sso_client: Client, acme: Organization) -> None:
    signer = rsa_certificate(acme)

    response = sso_client.post(_url("sso-create", acme), _form(signer), follow=True)

    assertContains(response, "Created SAML SSO configuration Okta.")
    config = SamlSsoConfig.objects.get(organization=acme)
    assert config.request_signing_certificate == signer
    assert config.idp_certificate_subject.startswith("CN=idp.example.test")
    assert AuditEvent.objects.filter(
        organization=acme, action="createdSamlSsoConfig", message__contains="Sso_Signing"
    ).exists()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"not a certificate at all", "No certificate was found"),
        (b"", "empty"),
        (
            b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
            "holds a private key",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            "damaged",
        ),
    ],
)
def test_a_bad_idp_certificate_is_a_400_that_says_why(
    sso_client: Client, acme: Organization, upload: bytes, message: str
) -> None:
    signer = rsa_certificate(acme)
    data = _form(signer, idp_certificate=SimpleUploadedFile("idp.pem", upload))

    response = sso_client.post(_url("sso-create", acme), data)

    assertContains(response, message, status_code=400)
    assert not SamlSsoConfig.objects.exists()


def test_two_certificates_in_the_idp_upload_are_refused(
    sso_client: Client, acme: Organization
) -> None:
    signer = rsa_certificate(acme)
    two = idp_certificate_pem() + signer.chain_pem.encode()

    response = sso_client.post(
        _url("sso-create", acme), _form(signer, idp_certificate=SimpleUploadedFile("x.pem", two))
    )

    assertContains(response, "holds 2 certificates", status_code=400)


def test_signing_choices_leave_out_awaiting_ecdsa_expired_and_other_orgs(
    sso_client: Client, acme: Organization, globex: Organization
) -> None:
    offered = rsa_certificate(acme, "Offered")
    awaiting = ca_signed(acme, name="Awaiting", key_type="RSA-2048")
    ecdsa = self_signed(acme, name="Ecdsa")
    expired = rsa_certificate(acme, "Expired")
    Certificate.objects.filter(pk=expired.pk).update(not_after=timezone.now() - timedelta(days=1))
    theirs = rsa_certificate(globex, "Theirs")

    page = sso_client.get(_url("sso-create", acme))

    assertContains(page, f'value="{offered.uuid}"', count=2)  # signing and decryption
    for hidden in (awaiting, ecdsa, expired, theirs):
        assertNotContains(page, str(hidden.uuid))


@pytest.mark.parametrize("which", ["awaiting", "theirs", "ecdsa"])
def test_posting_a_certificate_that_is_not_offered_is_refused(
    sso_client: Client, acme: Organization, globex: Organization, which: str
) -> None:
    certificate = {
        "awaiting": lambda: ca_signed(acme, name="Awaiting", key_type="RSA-2048"),
        "theirs": lambda: rsa_certificate(globex, "Theirs"),
        "ecdsa": lambda: self_signed(acme, name="Ecdsa"),
    }[which]()

    response = sso_client.post(_url("sso-create", acme), _form(certificate))

    assertContains(response, "Select a valid choice", status_code=400)
    assert not SamlSsoConfig.objects.exists()


def test_the_service_refuses_what_the_form_would_not_offer(
    acme: Organization, globex: Organization, alice: User
) -> None:
    data = sso.SsoSettings(
        name="Okta",
        issuer="https://sp.test",
        idp_entity_id="https://idp.test",
        idp_login_url="https://idp.test/sso",
        request_signing_certificate=ca_signed(acme, name="Awaiting", key_type="RSA-2048"),
        idp_certificate_pem=idp_certificate_pem().decode(),
    )

    with pytest.raises(ValidationError, match="awaiting its signed certificate"):
        sso.create_sso_config(org=acme, data=data, acting_user=alice)
    with pytest.raises(ValidationError, match="certificate of this org"):
        sso.create_sso_config(
            org=acme,
            data=data.__class__(
                **{**data.__dict__, "request_signing_certificate": rsa_certificate(globex)}
            ),
            acting_user=alice,
        )
    assert not SamlSsoConfig.objects.exists()


def test_a_second_configuration_with_the_same_name_is_refused(
    sso_client: Client, acme: Organization
) -> None:
    signer = rsa_certificate(acme)
    make_config(acme, "OKTA", signer=signer)

    response = sso_client.post(_url("sso-create", acme), _form(signer))

    assertContains(response, "already exists", status_code=400)


def test_detail_shows_the_request_signing_certificate(
    sso_client: Client, acme: Organization
) -> None:
    signer = rsa_certificate(acme)
    config = make_config(acme, signer=signer)

    response = sso_client.get(config.get_absolute_url())

    assertContains(response, "Sso Signing")
    assertContains(response, signer.chain_pem.splitlines()[1])
    assertContains(response, "Download Metadata")


def test_edit_without_an_upload_keeps_the_idp_certificate(
    sso_client: Client, acme: Organization
) -> None:
    signer = rsa_certificate(acme)
    config = make_config(acme, signer=signer)
    before = config.idp_certificate_pem
    data = _form(signer, name="Okta Prod", signature_method="RSA-SHA1")
    del data["idp_certificate"]

    response = sso_client.post(_url("sso-edit", acme, config.uuid), data, follow=True)

    assertContains(response, "Saved SAML SSO configuration Okta Prod.")
    config.refresh_from_db()
    assert (config.name, config.signature_method) == ("Okta Prod", "RSA-SHA1")
    assert config.idp_certificate_pem == before
    assert AuditEvent.objects.filter(
        action="changedSamlSsoConfig", message__contains="Request Signature Method"
    ).exists()


def test_an_expired_signer_does_not_block_editing_other_fields(
    sso_client: Client, acme: Organization
) -> None:
    signer = rsa_certificate(acme)
    config = make_config(acme, signer=signer)
    Certificate.objects.filter(pk=signer.pk).update(not_after=timezone.now() - timedelta(days=1))
    data = _form(signer, name="Renamed")
    del data["idp_certificate"]

    response = sso_client.post(_url("sso-edit", acme, config.uuid), data)

    assert response.status_code == 302
    config.refresh_from_db()
    assert config.name == "Renamed"


def test_deleting_a_configuration_frees_its_certificate(
    sso_client: Client, acme: Organization
) -> None:
    signer = rsa_certificate(acme)
    config = make_config(acme, signer=signer)

    response = sso_client.post(_url("sso-delete", acme, config.uuid), follow=True)

    assertContains(response, "Deleted SAML SSO configuration Okta.")
    assert not SamlSsoConfig.objects.exists()
    assert AuditEvent.objects.filter(action="deletedSamlSsoConfig").exists()
    sso_client.post(_url("certificate-delete", acme, signer.uuid))
    assert not Certificate.objects.filter(pk=signer.pk).exists()


def test_list_flags_configurations_on_the_retired_proxy(
    sso_client: Client, acme: Organization
) -> None:
    make_config(acme, "Current", signer=rsa_certificate(acme))
    legacy = make_config(acme, "Legacy", legacy=True)

    response = sso_client.get(_url("sso-list", acme))

    assertContains(response, "1 configuration still signs requests with the retired")
    assertContains(response, f"?config={legacy.uuid}")
    assertContains(response, "Default proxy certificate (retired)", count=1)


def test_list_query_count_does_not_grow_with_rows(sso_client: Client, acme: Organization) -> None:
    signer = rsa_certificate(acme)
    make_config(acme, "One", signer=signer)
    url = _url("sso-list", acme)
    sso_client.get(url)
    with CaptureQueriesContext(connection) as one:
        sso_client.get(url)
    for n in range(8):
        make_config(acme, f"More {n}", signer=signer, decrypter=signer)
    make_config(acme, "Legacy", legacy=True)
    with CaptureQueriesContext(connection) as many:
        sso_client.get(url)

    assert len(many) == len(one)


def test_customize_application_is_needed(client: Client, acme: Organization, alice: User) -> None:
    """The System Administrator profile alone does not open SSO settings (SPEC 1)."""
    client.force_login(alice)

    response = client.get(_url("sso-list", acme))

    assertContains(response, "Customize Application", status_code=403)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        (
            "sso-create",
            {"name": "x" * 200, "idp_login_url": "not a url", "signature_method": "MD5"},
        ),
        ("sso-create", {"request_signing_certificate": "not-a-uuid"}),
        ("sso-proxy-replace", {"configurations": ["not-a-uuid"], "certificate": "nope"}),
        ("sso-proxy-replace", {}),
        ("idp-settings", {"action": "enable", "certificate": "not-a-uuid"}),
        ("idp-settings", {"action": "something-else"}),
    ],
)
def test_bad_input_is_never_a_500(
    sso_client: Client, acme: Organization, name: str, data: dict[str, object]
) -> None:
    make_config(acme, "Legacy", legacy=True)

    response = sso_client.post(_url(name, acme), data)

    assert response.status_code in (200, 302, 400)


def test_model_validation_errors_land_on_the_form(acme: Organization, alice: User) -> None:
    """full_clean() names model columns; the service renames them to the form's fields."""
    data = sso.SsoSettings(
        name="Okta",
        issuer="x" * 300,
        idp_entity_id="https://idp.test",
        idp_login_url="https://idp.test/sso",
        request_signing_certificate=rsa_certificate(acme),
        idp_certificate_pem=idp_certificate_pem().decode(),
    )

    with pytest.raises(ValidationError) as refused:
        sso.create_sso_config(org=acme, data=data, acting_user=alice)

    assert set(refused.value.message_dict) == {"issuer"}
