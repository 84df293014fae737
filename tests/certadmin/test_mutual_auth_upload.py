"""Uploading a Mutual Authentication Certificate: the checks of SPEC 5, case by case, with
certificates made by openssl (tests/client_certs.py)."""

import uuid
from datetime import UTC, datetime, timedelta

import certifi
import pytest
from cryptography import x509
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from certadmin.models import MutualAuthCertificate
from certadmin.services.mutual_auth import upload_mutual_auth_certificate
from orgs.models import AuditEvent, Organization
from tests.client_certs import ClientCa, ClientCertificate

pytestmark = pytest.mark.usefixtures("trust_client_ca")


def upload(org: Organization, data: bytes, name: str = "Api_Client", **kw: object) -> object:
    return upload_mutual_auth_certificate(
        org=org,
        label=name.replace("_", " "),
        unique_name=name,
        data=data,
        acting_user=None,
        **kw,  # type: ignore[arg-type]
    )


def refusal(org: Organization, data: bytes, **kw: object) -> str:
    with pytest.raises(ValidationError) as excinfo:
        upload(org, data, **kw)
    assert not MutualAuthCertificate.objects.exists()
    return " ".join(excinfo.value.messages)


def test_stores_a_client_certificate_with_its_chain(
    acme: Organization, client_certs: dict[str, ClientCertificate], client_ca: ClientCa
) -> None:
    client = client_certs["acme"]

    result = upload(acme, client.chain_pem)

    stored = MutualAuthCertificate.objects.get()
    assert result.certificate == stored  # type: ignore[attr-defined]
    assert result.warnings == []  # type: ignore[attr-defined]
    assert stored.organization == acme
    assert stored.fingerprint_sha256 == client.fingerprint
    assert stored.subject == "CN=acme-client, O=Client Ltd"
    assert stored.issuer == "O=Test CA Ltd, CN=Test Intermediate CA"
    assert stored.serial
    assert stored.not_after > timezone.now() + timedelta(days=360)
    assert stored.chain_pem.count("BEGIN CERTIFICATE") == 2
    assert stored.chain_pem.startswith(client.cert.read_text())
    assert not stored.server_auth


def test_records_the_upload_in_the_audit_trail(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    upload(acme, client_certs["acme"].chain_pem)

    event = AuditEvent.objects.filter(organization=acme).latest("created_at")
    assert event.message.startswith("Uploaded mutual authentication certificate Api_Client")
    assert "CN=acme-client" in event.message


def test_accepts_any_order_and_says_it_reordered(
    acme: Organization, client_certs: dict[str, ClientCertificate], client_ca: ClientCa
) -> None:
    client = client_certs["acme"]
    shuffled = client_ca.root_pem + client.cert.read_bytes() + client_ca.intermediate_pem

    result = upload(acme, shuffled)

    stored = MutualAuthCertificate.objects.get()
    assert stored.chain_pem.startswith(client.cert.read_text())
    assert stored.chain_pem.count("BEGIN CERTIFICATE") == 3
    assert any("not in chain order" in w for w in result.warnings)  # type: ignore[attr-defined]


def test_refuses_a_server_only_certificate(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    message = refusal(acme, client_certs["server_only"].chain_pem)

    assert "does not carry the clientAuth extended key usage" in message


def test_refuses_a_certificate_without_extended_key_usage(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    message = refusal(acme, client_certs["no_eku"].chain_pem)

    assert "clientAuth" in message


def test_accepts_client_and_server_auth_with_a_warning(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    result = upload(acme, client_certs["both"].chain_pem)

    assert MutualAuthCertificate.objects.get().server_auth
    assert any("server authentication" in w for w in result.warnings)  # type: ignore[attr-defined]


def test_refuses_an_expired_certificate(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    message = refusal(acme, client_certs["expired"].chain_pem)

    assert "expired on 2021-01-01" in message


def test_refuses_a_self_signed_certificate_by_default(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    message = refusal(acme, client_certs["self_signed"].chain_pem)

    assert "is self-signed" in message


def test_accepts_a_self_signed_certificate_when_the_setting_allows(
    acme: Organization, client_certs: dict[str, ClientCertificate], settings: SettingsWrapper
) -> None:
    settings.CERTADMIN_MTLS_ALLOW_SELF_SIGNED = True

    upload(acme, client_certs["self_signed"].chain_pem)

    assert MutualAuthCertificate.objects.get().subject == "CN=self-signed-client, O=Self Ltd"


def test_refuses_a_chain_to_a_root_outside_the_trust_bundle(
    acme: Organization, client_certs: dict[str, ClientCertificate], settings: SettingsWrapper
) -> None:
    """The default bundle (certifi's) does not hold the test CA."""
    settings.CERTADMIN_MTLS_TRUST_BUNDLE = certifi.where()

    message = refusal(acme, client_certs["acme"].chain_pem)

    assert "neither in the file nor in the trusted root bundle" in message


def test_refuses_a_root_in_the_file_that_the_bundle_does_not_hold(
    acme: Organization,
    client_certs: dict[str, ClientCertificate],
    client_ca: ClientCa,
    settings: SettingsWrapper,
) -> None:
    settings.CERTADMIN_MTLS_TRUST_BUNDLE = certifi.where()

    message = refusal(acme, client_certs["acme"].chain_pem + client_ca.root_pem)

    assert "ends at the root 'O=Test CA Ltd, CN=Test Root CA', which is not in the trusted" in (
        message
    )


def test_refuses_a_leaf_without_its_intermediate(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    """The bundle holds the root only: the intermediate must come with the upload."""
    message = refusal(acme, client_certs["acme"].cert.read_bytes())

    assert "Test Intermediate CA" in message
    assert "add the intermediate certificates" in message


def test_refuses_a_certificate_registered_in_another_org(
    acme: Organization, globex: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    upload(globex, client_certs["acme"].chain_pem)

    with pytest.raises(ValidationError) as excinfo:
        upload(acme, client_certs["acme"].chain_pem)

    assert "must be used only in one org" in " ".join(excinfo.value.messages)
    assert MutualAuthCertificate.objects.filter(organization=acme).count() == 0


def test_refuses_the_same_certificate_twice_in_one_org(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    upload(acme, client_certs["acme"].chain_pem)

    with pytest.raises(ValidationError) as excinfo:
        upload(acme, client_certs["acme"].chain_pem, name="Again")

    assert "already registered in this org as Api_Client" in " ".join(excinfo.value.messages)


def test_the_database_keeps_a_fingerprint_in_one_org(
    acme: Organization, globex: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    """Even a write that skips the service cannot register a certificate twice."""
    upload(acme, client_certs["acme"].chain_pem)
    copy = MutualAuthCertificate.objects.get()
    copy.pk, copy.uuid, copy.organization = None, uuid.uuid4(), globex

    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"not a certificate", "No certificate was found"),
        (
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "private key",
        ),
        (b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n", "damaged"),
    ],
)
def test_refuses_files_that_hold_no_certificate(
    acme: Organization, data: bytes, expected: str
) -> None:
    assert expected in refusal(acme, data)


def test_refuses_two_client_certificates_in_one_file(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    data = client_certs["acme"].cert.read_bytes() + client_certs["acme2"].cert.read_bytes()

    assert "several client certificates" in refusal(acme, data)


def test_explains_broken_name_rules(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    message = refusal(acme, client_certs["acme"].chain_pem, name="9 bad__")

    assert "begin with a letter" in message
    assert "two consecutive underscores" in message


def test_refuses_a_unique_name_taken_in_another_case(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    upload(acme, client_certs["acme"].chain_pem, name="Api_Client")

    with pytest.raises(ValidationError) as excinfo:
        upload(acme, client_certs["acme2"].chain_pem, name="API_CLIENT")

    assert "already exists" in " ".join(excinfo.value.messages)


def test_a_certificate_not_valid_yet_is_refused(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    """The upload page says "be valid today". The test leaves start today: seen from two days
    ago, they are not valid yet."""
    with pytest.raises(ValidationError) as excinfo:
        upload(acme, client_certs["acme"].chain_pem, now=timezone.now() - timedelta(days=2))

    assert "is not valid before" in " ".join(excinfo.value.messages)
    assert not MutualAuthCertificate.objects.exists()


def test_a_certificate_that_starts_within_the_clock_skew_is_accepted(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    leaf = x509.load_pem_x509_certificate(client_certs["acme"].chain_pem)
    just_before = leaf.not_valid_before_utc - timedelta(minutes=4)

    upload(acme, client_certs["acme"].chain_pem, now=just_before)

    assert MutualAuthCertificate.objects.count() == 1


def test_expiry_querysets_include_mutual_auth_certificates(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    """What the expiry-notification job selects (SPEC 4 covers these certificates)."""
    upload(acme, client_certs["acme"].chain_pem)
    stored = MutualAuthCertificate.objects.get()
    before = stored.not_after - timedelta(days=5)

    assert list(MutualAuthCertificate.objects.expiring_within(10, now=before)) == [stored]
    assert not MutualAuthCertificate.objects.expiring_within(1, now=before).exists()
    assert list(
        MutualAuthCertificate.objects.expiring_between(before, stored.not_after + timedelta(1))
    ) == [stored]
    assert list(MutualAuthCertificate.objects.current()) == [stored]
    assert list(MutualAuthCertificate.objects.expired(now=stored.not_after)) == [stored]
    assert MutualAuthCertificate.objects.validity_of(stored.fingerprint_sha256) == (
        acme.pk,
        stored.not_before,
        stored.not_after,
    )
    assert MutualAuthCertificate.objects.validity_of("0" * 64) is None
    assert stored.kind_label == "Mutual Authentication"
    assert stored.get_absolute_url().endswith(f"/mutual-auth-certificates/{stored.uuid}/")


def test_refuses_a_chain_whose_issuer_was_not_valid_yet(
    acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    """The expired leaf's dates (2020) precede its issuer's (made today): in June 2020 the
    chain was not valid yet, whatever the leaf says."""
    message = refusal(acme, client_certs["expired"].chain_pem, now=datetime(2020, 6, 1, tzinfo=UTC))

    assert message.startswith(
        "The issuer certificate 'O=Test CA Ltd, CN=Test Intermediate CA' is not valid before "
    )
