"""Issue 17's keystore defects, with files made by keytool and openssl: one real PKCS#12 for
several keys (read by keytool -list -v, openssl pkcs12 -info, and imported back), the audit entry
that names the skipped entries, two aliases that become one Unique Name, two concatenated DER
certificates and a keystore uploaded where a certificate is expected."""

import io
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from pytest_django.asserts import assertContains

from certadmin import keystores
from certadmin.crypto import parsing
from certadmin.models import Certificate
from certadmin.services import keystores as services
from certadmin.services.certificates import load_private_key, upload_signed_certificate
from orgs.models import AuditEvent, Organization
from tests.certadmin.conftest import ca_signed, self_signed
from tests.keytool import PASSWORD, genkey, keytool
from tests.pem import OpenSslCa, openssl


def _three_keys(acme: Organization, openssl_ca: OpenSslCa) -> list[Certificate]:
    """An RSA and an EC self-signed certificate, and a CA-signed one with a 3-certificate chain
    (leaf, intermediate, root: openssl's CA)."""
    web = ca_signed(acme, name="Web_Server")
    upload_signed_certificate(
        certificate=web,
        data=openssl_ca.sign(web.csr_pem) + openssl_ca.intermediate_pem + openssl_ca.root_pem,
        acting_user=None,
    )
    return [
        self_signed(acme, name="Alpha_Signing", key_type="RSA-2048"),
        self_signed(acme, name="Beta_EC"),
        Certificate.objects.get(pk=web.pk),
    ]


def _chain(certificate: Certificate) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(certificate.chain_pem.encode())


def test_the_pages_pkcs12_export_is_one_file_every_tool_reads(
    alice_client: Client,
    acme: Organization,
    globex: Organization,
    carol: User,
    openssl_ca: OpenSslCa,
    tmp_path: Path,
) -> None:
    certificates = _three_keys(acme, openssl_ca)
    assert len(_chain(certificates[2])) == 3

    response = alice_client.post(
        reverse("certadmin:keystore-export", args=[acme.public_id]),
        {"fmt": "p12", "password": "export-pass", "confirm": "export-pass"},
    )

    assert response["Content-Disposition"] == f'attachment; filename="{acme.public_id}.p12"'
    assert response["Content-Type"] == "application/x-pkcs12"
    (tmp_path / "out.p12").write_bytes(response.content)
    listing = keytool(
        "-list", "-v", "-keystore", "out.p12", "-storetype", "PKCS12",
        "-storepass", "export-pass", cwd=tmp_path,
    )  # fmt: skip
    assert re.findall(r"Alias name: (\S+)", listing) == ["alpha_signing", "beta_ec", "web_server"]
    assert listing.count("Entry type: PrivateKeyEntry") == 3
    lengths = re.findall(r"Certificate chain length: (\d+)", listing)
    assert lengths == ["1", "1", "3"]
    assert "Test Intermediate CA" in listing
    assert "Test Root CA" in listing

    info = openssl(
        "pkcs12", "-info", "-in", "out.p12", "-nodes", "-passin", "pass:export-pass", cwd=tmp_path
    ).decode()
    names = re.findall(r"friendlyName: (\S+)", info)
    assert sorted(set(names)) == ["alpha_signing", "beta_ec", "web_server"]
    blocks = re.findall(r"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----", info, re.DOTALL)
    keys = [load_pem_private_key(block.encode(), None) for block in blocks]
    assert len(keys) == 3
    for certificate in certificates:
        assert any(k.public_key() == load_private_key(certificate).public_key() for k in keys)

    result = services.import_keystore(
        org=globex, data=response.content, password="export-pass", acting_user=carol
    )

    assert [c.unique_name for c in result.imported] == ["alpha_signing", "beta_ec", "web_server"]
    assert result.skipped == []
    for original in certificates:
        copy = Certificate.objects.get(
            organization=globex, unique_name=original.unique_name.lower()
        )
        assert copy.chain_pem == original.chain_pem
        assert load_private_key(copy).public_key() == load_private_key(original).public_key()


def test_export_keystore_command_writes_one_pkcs12(
    acme: Organization, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    self_signed(acme, name="Cli_One")
    self_signed(acme, name="Cli_Two", key_type="RSA-2048")
    monkeypatch.setenv("CERTADMIN_KEYSTORE_PASSWORD", "from-the-env")
    out = io.StringIO()

    call_command(
        "export_keystore", acme.public_id, "--format", "p12", "--out", str(tmp_path / "x.p12"),
        stdout=out,
    )  # fmt: skip

    assert "wrote 2 key entries" in out.getvalue()
    listing = keytool(
        "-list", "-keystore", "x.p12", "-storetype", "PKCS12", "-storepass", "from-the-env",
        cwd=tmp_path,
    )  # fmt: skip
    assert listing.count("PrivateKeyEntry") == 2
    assert "cli_one, " in listing
    assert "cli_two, " in listing


def test_a_pkcs12_of_many_keys_stays_within_what_the_importer_computes() -> None:
    """Rounds per key drop (never under Java's 10,000) so that the product reads back what it
    writes: keys + MAC within MAX_KDF_ITERATIONS."""
    assert keystores.pkcs12_rounds(1) == keystores.PKCS12_KDF_ROUNDS
    assert keystores.pkcs12_rounds(49) == keystores.PKCS12_KDF_ROUNDS
    for count in (50, 120, 499):
        rounds = keystores.pkcs12_rounds(count)
        assert 10_000 <= rounds < keystores.PKCS12_KDF_ROUNDS
        assert (count + 1) * rounds <= keystores.MAX_KDF_ITERATIONS


# --- import --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("defects")
    genkey(d, "with_trusted.jks", "Payments Key")
    keytool(
        "-exportcert", "-rfc", "-alias", "Payments Key", "-keystore", "with_trusted.jks",
        "-storepass", PASSWORD, "-file", "payments.pem", cwd=d,
    )  # fmt: skip
    genkey(d, "partner.jks", "partner")
    keytool(
        "-exportcert", "-rfc", "-alias", "partner", "-keystore", "partner.jks",
        "-storepass", PASSWORD, "-file", "partner.pem", cwd=d,
    )  # fmt: skip
    keytool(
        "-importcert", "-noprompt", "-alias", "partner ca", "-file", "partner.pem",
        "-keystore", "with_trusted.jks", "-storepass", PASSWORD, cwd=d,
    )  # fmt: skip
    genkey(d, "twins.jks", "Payments Key")
    genkey(d, "twins.jks", "payments-key", "-keyalg", "EC", "-groupname", "secp256r1")
    openssl("x509", "-in", "payments.pem", "-outform", "DER", "-out", "payments.der", cwd=d)
    openssl("x509", "-in", "partner.pem", "-outform", "DER", "-out", "partner.der", cwd=d)
    (d / "two.der").write_bytes(
        (d / "payments.der").read_bytes() + (d / "partner.der").read_bytes()
    )
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "o.key", "-out", "o.pem", "-days", "30", "-subj", "/CN=OpenSSL Made", cwd=d,
    )  # fmt: skip
    openssl(
        "pkcs12", "-export", "-inkey", "o.key", "-in", "o.pem", "-name", "openssl made",
        "-out", "openssl.p12", "-passout", f"pass:{PASSWORD}", cwd=d,
    )  # fmt: skip
    return {p.name: p for p in d.iterdir()}


def _import(client: Client, org: Organization, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("certadmin:keystore-import", args=[org.public_id]),
        {"keystore": SimpleUploadedFile("store.jks", data), "password": PASSWORD},
    )


def test_the_audit_entry_of_an_import_names_the_skipped_entries(
    alice_client: Client, acme: Organization, stores: dict[str, Path]
) -> None:
    response = _import(alice_client, acme, stores["with_trusted.jks"].read_bytes())

    assertContains(response, "partner ca")
    message = AuditEvent.objects.get(organization=acme, action="importedKeystore").message
    assert message == (
        "Imported 1 certificate from a JKS keystore: payments_key; "
        "skipped 1 entry: partner ca (trusted certificate)"
    )


def test_two_aliases_that_become_one_unique_name_are_refused_naming_both(
    alice_client: Client, acme: Organization, stores: dict[str, Path]
) -> None:
    response = _import(alice_client, acme, stores["twins.jks"].read_bytes())

    assertContains(
        response,
        escape(
            "The aliases 'payments key' and 'payments-key' both become the Unique Name "
            "payments_key."
        ),
        status_code=400,
    )
    assert "another certificate already has" not in response.content.decode()
    assert not Certificate.objects.filter(organization=acme).exists()


def _upload(client: Client, certificate: Certificate, data: bytes, name: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse(
            "certadmin:certificate-upload-signed",
            args=[certificate.organization.public_id, certificate.uuid],
        ),
        {"certificate": SimpleUploadedFile(name, data)},
    )


def test_two_concatenated_der_certificates_are_named_as_such(
    alice_client: Client, acme: Organization, stores: dict[str, Path]
) -> None:
    certificate = ca_signed(acme)

    response = _upload(alice_client, certificate, stores["two.der"].read_bytes(), "two.der")

    assertContains(
        response, "This file holds 2 DER certificates one after the other", status_code=400
    )
    assert Certificate.objects.get(pk=certificate.pk).is_awaiting_signature


@pytest.mark.parametrize(
    ("store", "kind"),
    [("with_trusted.jks", "Java (JKS)"), ("openssl.p12", "PKCS#12")],
)
def test_a_keystore_uploaded_as_a_certificate_points_to_import_from_keystore(
    alice_client: Client, acme: Organization, stores: dict[str, Path], store: str, kind: str
) -> None:
    certificate = ca_signed(acme)

    response = _upload(alice_client, certificate, stores[store].read_bytes(), store)

    assertContains(
        response, escape(f"This file is a {kind} keystore, not a certificate."), status_code=400
    )
    assertContains(response, "use Import from Keystore", status_code=400)
    assert Certificate.objects.get(pk=certificate.pk).is_awaiting_signature


def test_one_der_certificate_still_reads(stores: dict[str, Path]) -> None:
    (cert,) = parsing.parse_certificates(stores["payments.der"].read_bytes())

    assert "payments key" in cert.subject.rfc4514_string().lower()
