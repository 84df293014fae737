import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from django.core.exceptions import ValidationError

from certadmin.models import Certificate
from certadmin.services import certificates as services
from orgs.models import AuditEvent, Organization
from tests.certadmin.conftest import ca_signed, self_signed
from tests.pem import OpenSslCa, make_certificate, openssl, sign_with_key

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key_type", "days", "description"),
    [
        ("RSA-2048", 365, "RSA 2048"),
        ("EC-P256", 365, "ECDSA P-256"),
        ("EC-P384", 365, "ECDSA P-384"),
    ],
)
def test_self_signed_certificate_follows_spec_2_1(
    acme: Organization, key_type: str, days: int, description: str
) -> None:
    certificate = self_signed(acme, key_type=key_type, now=NOW)

    cert = x509.load_pem_x509_certificate(certificate.chain_pem.encode())
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == f"CN=Payments_Signing,OU={acme.public_id},O=Acme"
    assert certificate.not_after == NOW + timedelta(days=days)
    assert certificate.key_label == description
    assert cert.signature_hash_algorithm.name == "sha256"
    assert 0 < cert.serial_number < 2**128
    assert certificate.status == "Active"


def test_self_signed_rsa_4096_is_valid_for_two_years(acme: Organization) -> None:
    certificate = self_signed(acme, key_type="RSA-4096", now=NOW)

    assert certificate.not_after == NOW + timedelta(days=730)
    assert certificate.key_label == "RSA 4096"


def test_private_key_is_stored_sealed_and_matches_the_certificate(acme: Organization) -> None:
    certificate = self_signed(acme, key_type="RSA-2048")
    stored = Certificate.objects.get(pk=certificate.pk)

    key = services.load_private_key(stored)
    cert = x509.load_pem_x509_certificate(stored.chain_pem.encode())
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert b"PRIVATE KEY" not in bytes(stored.private_key)
    assert services.private_key_der(stored) not in bytes(stored.private_key)


def test_non_exportable_key_never_leaves(acme: Organization) -> None:
    certificate = self_signed(acme, exportable=False)

    with pytest.raises(ValidationError, match="not exportable"):
        services.private_key_der(certificate)


def test_creation_writes_the_audit_trail_without_secrets(acme: Organization) -> None:
    certificate = self_signed(acme, key_type="RSA-2048")

    event = AuditEvent.objects.filter(organization=acme).first()
    assert event is not None
    assert event.message == "Created self-signed certificate Payments_Signing (RSA 2048)"
    assert "PRIVATE" not in event.message
    assert certificate.unique_name in event.message


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("1abc", "begin with a letter"),
        ("has space", "cannot contain spaces"),
        ("bad-char", "only letters, digits and underscores"),
        ("ends_", "cannot end with an underscore"),
        ("two__underscores", "two consecutive underscores"),
        ("A" * 81, "at most 80 characters"),
        ("", "required"),
    ],
)
def test_unique_name_rules_are_explained(acme: Organization, name: str, problem: str) -> None:
    with pytest.raises(ValidationError) as exc:
        self_signed(acme, name=name)

    assert problem in str(exc.value)
    assert not Certificate.objects.exists()


def test_unique_name_is_unique_per_org_ignoring_case(
    acme: Organization, globex: Organization
) -> None:
    self_signed(acme, name="Payments")
    self_signed(globex, name="PAYMENTS")  # another org: fine

    with pytest.raises(ValidationError, match="already exists"):
        self_signed(acme, name="PAYMENTS")


def test_database_also_refuses_a_case_variant(acme: Organization) -> None:
    from django.db import IntegrityError, transaction

    self_signed(acme, name="Payments")
    with pytest.raises(IntegrityError), transaction.atomic():
        Certificate.objects.create(
            organization=acme,
            label="x",
            unique_name="PAYMENTS",
            kind="self_signed",
            key_type="EC-P256",
            private_key=b"",
        )


def test_label_over_64_characters_is_refused(acme: Organization) -> None:
    with pytest.raises(ValidationError, match="at most 64"):
        services.create_self_signed(
            org=acme, label="L" * 65, unique_name="Ok", key_type="EC-P256", acting_user=None
        )


def test_unsupported_key_size_is_refused(acme: Organization) -> None:
    with pytest.raises(ValidationError, match="Choose RSA"):
        services.create_self_signed(
            org=acme, label="x", unique_name="Ok", key_type="RSA-1024", acting_user=None
        )


def test_country_code_must_be_two_letters(acme: Organization) -> None:
    with pytest.raises(ValidationError, match="two letters"):
        services.create_ca_signed(
            org=acme,
            label="x",
            unique_name="Ok",
            key_type="EC-P256",
            acting_user=None,
            subject=services.SubjectFields(common_name="x", country="USA"),
        )


def test_ca_signed_certificate_has_a_csr_openssl_verifies(
    acme: Organization, tmp_path: Path
) -> None:
    certificate = ca_signed(acme, key_type="RSA-2048")
    (tmp_path / "req.csr").write_text(certificate.csr_pem)

    out = subprocess.run(
        ["openssl", "req", "-verify", "-noout", "-subject", "-nameopt", "utf8", "-in", "req.csr"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )

    assert "verify OK" in out.stdout + out.stderr
    assert "CN=www.acme.test" in out.stdout.replace(" = ", "=")
    assert "Zürich" in out.stdout
    assert certificate.is_awaiting_signature
    assert certificate.status == "Awaiting signed certificate"
    assert not Certificate.objects.usable().filter(pk=certificate.pk).exists()


def test_chain_signed_by_an_openssl_ca_is_accepted_in_any_order(
    awaiting: Certificate, openssl_ca: OpenSslCa
) -> None:
    leaf = openssl_ca.sign(awaiting.csr_pem)
    upload = (
        b"Bag Attributes: from my CA\r\n"
        + openssl_ca.root_pem.replace(b"\n", b"\r\n")
        + b"\r\nsome text\r\n"
        + leaf
        + openssl_ca.intermediate_pem
    )

    result = services.upload_signed_certificate(certificate=awaiting, data=upload, acting_user=None)

    stored = Certificate.objects.get(pk=awaiting.pk)
    chain = x509.load_pem_x509_certificates(stored.chain_pem.encode())
    assert [c.subject.rfc4514_string() for c in chain[1:]] == [
        "O=Test CA Ltd,CN=Test Intermediate CA",
        "O=Test CA Ltd,CN=Test Root CA",
    ]
    assert (
        chain[0].subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
        == "www.acme.test"
    )
    assert stored.status == "Active"
    assert stored.not_after == chain[0].not_valid_after_utc
    assert result.warnings == []
    assert stored.csr_pem  # the CSR stays downloadable


def test_der_upload_without_the_root_is_accepted(
    awaiting: Certificate, openssl_ca: OpenSslCa, tmp_path: Path
) -> None:
    leaf_pem = openssl_ca.sign(awaiting.csr_pem)
    der = x509.load_pem_x509_certificate(leaf_pem).public_bytes(
        __import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]
        ).Encoding.DER
    )

    services.upload_signed_certificate(certificate=awaiting, data=der, acting_user=None)

    assert Certificate.objects.get(pk=awaiting.pk).not_after is not None


def _assert_unchanged(certificate: Certificate) -> None:
    stored = Certificate.objects.get(pk=certificate.pk)
    assert stored.chain_pem == certificate.chain_pem
    assert stored.not_after == certificate.not_after


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (bytes(range(256)) * 10, "No certificate"),
        (b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n", "damaged"),
        (
            b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n",
            "private key",
        ),
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(
    awaiting: Certificate, data: bytes, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        services.upload_signed_certificate(certificate=awaiting, data=data, acting_user=None)

    _assert_unchanged(awaiting)


def test_certificate_for_another_key_is_refused(awaiting: Certificate) -> None:
    other, _ = make_certificate()

    with pytest.raises(ValidationError, match="does not match this certificate's private key"):
        services.upload_signed_certificate(certificate=awaiting, data=other, acting_user=None)

    _assert_unchanged(awaiting)


def test_a_certificate_outside_the_chain_is_refused(
    awaiting: Certificate, openssl_ca: OpenSslCa
) -> None:
    leaf = openssl_ca.sign(awaiting.csr_pem)
    stranger, _ = make_certificate(common_name="Stranger")

    with pytest.raises(ValidationError, match="Stranger"):
        services.upload_signed_certificate(
            certificate=awaiting,
            data=leaf + openssl_ca.intermediate_pem + stranger,
            acting_user=None,
        )

    _assert_unchanged(awaiting)


def test_over_the_upload_cap_is_refused(awaiting: Certificate, settings: object) -> None:
    big = (
        b"-----BEGIN CERTIFICATE-----\n"
        + b"A" * (10 * 1024 * 1024)
        + b"\n-----END CERTIFICATE-----\n"
    )

    with pytest.raises(ValidationError, match=r"larger than|limit"):
        services.upload_signed_certificate(certificate=awaiting, data=big, acting_user=None)


@pytest.mark.parametrize(
    ("not_before", "not_after", "warning"),
    [
        (NOW - timedelta(days=400), NOW - timedelta(days=5), "expired on"),
        (NOW + timedelta(days=5), NOW + timedelta(days=400), "not valid before"),
    ],
)
def test_expired_or_future_leaf_is_accepted_with_a_warning(
    awaiting: Certificate, not_before: datetime, not_after: datetime, warning: str
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    leaf = sign_with_key(
        awaiting.csr_pem,
        issuer_key=ec.generate_private_key(ec.SECP256R1()),
        issuer_name="Some CA",
        not_before=not_before,
        not_after=not_after,
    )

    result = services.upload_signed_certificate(
        certificate=awaiting, data=leaf, acting_user=None, now=NOW
    )

    assert any(warning in w for w in result.warnings)
    assert Certificate.objects.get(pk=awaiting.pk).not_after == not_after


def test_update_signed_certificate_replaces_the_chain(
    awaiting: Certificate, openssl_ca: OpenSslCa
) -> None:
    services.upload_signed_certificate(
        certificate=awaiting,
        data=openssl_ca.sign(awaiting.csr_pem, days=30, name="a"),
        acting_user=None,
    )
    first_expiry = Certificate.objects.get(pk=awaiting.pk).not_after

    services.upload_signed_certificate(
        certificate=awaiting,
        data=openssl_ca.sign(awaiting.csr_pem, days=400, name="b"),
        acting_user=None,
    )

    renewed = Certificate.objects.get(pk=awaiting.pk)
    assert renewed.not_after > first_expiry
    assert AuditEvent.objects.filter(action="updatedSignedCert").count() == 1


def test_signed_upload_on_a_self_signed_certificate_is_refused(acme: Organization) -> None:
    certificate = self_signed(acme)
    pem, _ = make_certificate()

    with pytest.raises(ValidationError, match="self-signed"):
        services.upload_signed_certificate(certificate=certificate, data=pem, acting_user=None)


def test_rename_keeps_the_rules(acme: Organization) -> None:
    first = self_signed(acme, name="First")
    self_signed(acme, name="Second")

    with pytest.raises(ValidationError, match="already exists"):
        services.rename_certificate(
            certificate=first, label="x", unique_name="second", acting_user=None
        )
    services.rename_certificate(
        certificate=first, label="New label", unique_name="First_Renamed", acting_user=None
    )

    assert Certificate.objects.get(pk=first.pk).unique_name == "First_Renamed"


def test_delete_removes_it_and_records_it(acme: Organization) -> None:
    certificate = self_signed(acme)

    services.delete_certificate(certificate=certificate, acting_user=None)

    assert not Certificate.objects.exists()
    assert AuditEvent.objects.filter(
        action="deletedCert", message="Deleted certificate Payments_Signing"
    ).exists()


def test_downloaded_certificate_reads_in_openssl(acme: Organization, tmp_path: Path) -> None:
    certificate = self_signed(acme, key_type="RSA-2048")
    (tmp_path / "c.crt").write_text(certificate.chain_pem)

    out = openssl(
        "x509", "-in", "c.crt", "-noout", "-subject", "-fingerprint", "-sha256", cwd=tmp_path
    ).decode()

    assert "Payments_Signing" in out
    assert certificate.fingerprint_sha256.upper() in out.replace(":", "")


def test_certificate_with_an_unknown_key_algorithm_is_refused_with_a_message(
    awaiting: Certificate,
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    pem, _ = make_certificate()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    ec_public_key_oid = bytes.fromhex("06072a8648ce3d0201")
    patched = der.replace(ec_public_key_oid, ec_public_key_oid[:-1] + b"\x09", 1)

    with pytest.raises(ValidationError, match="key type this service does not support"):
        services.upload_signed_certificate(certificate=awaiting, data=patched, acting_user=None)

    _assert_unchanged(awaiting)
