import io
import os
import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from pytest_django.asserts import assertContains

from certadmin import keystores
from certadmin.models import Certificate
from certadmin.services import keystores as services
from certadmin.services.certificates import load_private_key
from orgs.models import AuditEvent, Organization
from tests.certadmin.conftest import ca_signed, self_signed
from tests.keytool import PASSWORD, genkey, keytool
from tests.pem import openssl

KEYPASS_TEXT = (
    "The Keystore contains a certificate 'locked' whose per key password is not the same as the "
    "keystore password."
)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Stores made by keytool once per module (each keytool call starts a JVM)."""
    d = tmp_path_factory.mktemp("stores")
    made = {
        "one_rsa": genkey(d, "one.jks", "Payments Key"),
        "dsa": genkey(d, "dsa.jks", "old-dsa", "-keyalg", "DSA", "-keysize", "2048"),
        "rsa1024": genkey(d, "small.jks", "tiny", "-keyalg", "RSA", "-keysize", "1024"),
        "keypass": genkey(d, "keypass.jks", "locked", "-keypass", "another-pass"),
    }
    keytool(
        "-exportcert",
        "-rfc",
        "-alias",
        "Payments Key",
        "-keystore",
        "one.jks",
        "-storepass",
        PASSWORD,
        "-file",
        "payments.pem",
        cwd=d,
    )
    keytool(
        "-importcert",
        "-noprompt",
        "-alias",
        "partner",
        "-file",
        "payments.pem",
        "-keystore",
        "trusted.jks",
        "-storetype",
        "JKS",
        "-storepass",
        PASSWORD,
        cwd=d,
    )
    made["trusted_only"] = d / "trusted.jks"
    genkey(d, "mixed.jks", "good-ec", "-keyalg", "EC", "-groupname", "secp256r1")
    genkey(d, "mixed.jks", "bad-dsa", "-keyalg", "DSA", "-keysize", "2048")
    made["mixed"] = d / "mixed.jks"
    return made


def _import(client: Client, org: Organization, data: bytes, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("certadmin:keystore-import", args=[org.public_id]),
        {"keystore": SimpleUploadedFile("store.jks", data), "password": password},
    )


def test_keytool_store_is_imported_with_a_unique_name_from_the_alias(
    alice_client: Client, acme: Organization, stores: dict[str, Path]
) -> None:
    response = _import(alice_client, acme, stores["one_rsa"].read_bytes())

    assertContains(response, "Imported 1 certificate from the JKS keystore.")
    certificate = Certificate.objects.get(organization=acme)
    assert (certificate.unique_name, certificate.label) == ("payments_key", "payments key")
    assert certificate.kind == "self_signed"
    assert certificate.key_type == "RSA-2048"
    assert certificate.exportable
    key = load_private_key(certificate)
    cert = x509.load_pem_x509_certificate(certificate.chain_pem.encode())
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert AuditEvent.objects.filter(organization=acme, action="importedKeystore").exists()


@pytest.mark.parametrize(
    ("store", "password", "message"),
    [
        ("trusted_only", PASSWORD, services.NO_PRIVATE_KEY),
        ("dsa", PASSWORD, services.NOT_RSA),
        ("rsa1024", PASSWORD, services.BAD_RSA_SIZE),
        ("keypass", PASSWORD, KEYPASS_TEXT),
        ("one_rsa", "wrong-password", "The keystore password is incorrect"),
        ("mixed", PASSWORD, services.NOT_RSA),
    ],
)
def test_refused_store_shows_the_spec_text_and_imports_nothing(
    alice_client: Client,
    acme: Organization,
    stores: dict[str, Path],
    store: str,
    password: str,
    message: str,
) -> None:
    response = _import(alice_client, acme, stores[store].read_bytes(), password)

    assertContains(response, escape(message), status_code=400)
    # Said once (issue 15): the summary's note only when the error does not say it already.
    assertContains(response, "No certificate was imported", count=1, status_code=400)
    assert not Certificate.objects.filter(organization=acme).exists()


def test_alias_that_collides_is_refused_naming_the_entry(
    alice_client: Client, acme: Organization, stores: dict[str, Path]
) -> None:
    self_signed(acme, name="PAYMENTS_KEY")

    response = _import(alice_client, acme, stores["one_rsa"].read_bytes())

    assertContains(response, escape("The alias 'payments key' becomes"), status_code=400)
    assert Certificate.objects.filter(organization=acme).count() == 1


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda good: b"", "The keystore file is empty."),
        (lambda good: os.urandom(4000), "not a JKS, JCEKS or PKCS#12"),
        (lambda good: good[: len(good) // 2], "damaged or truncated"),
        (lambda good: _flip(good, len(good) // 2), "incorrect, or the file has been modified"),
        (lambda good: b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "PEM"),
        (lambda good: good[:8] + b"\x3f\xff\xff\xff" + good[12:], ""),  # a huge entry count
        (lambda good: b"\xfe\xed\xfe\xed" + b"\x00" * (2 * 1024 * 1024), "limit"),
    ],
)
def test_bad_files_are_refused_with_a_message(
    alice_client: Client,
    acme: Organization,
    stores: dict[str, Path],
    make,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    response = _import(alice_client, acme, make(stores["one_rsa"].read_bytes()))

    assert response.status_code == 400
    assertContains(response, message, status_code=400)
    assertContains(response, "No certificate was imported.", status_code=400)


def test_rsa_key_with_inconsistent_numbers_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization

    from tests.pem import make_certificate

    good = rsa.generate_private_key(65537, 2048)
    n = good.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        n.p, n.q, n.d, n.dmp1, n.dmq1, (n.iqmp + 1) % n.p, n.public_numbers
    ).private_key(unsafe_skip_rsa_key_validation=True)
    pem, _ = make_certificate()
    der = broken.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    store = keystores.write_jks(
        [
            keystores.KeyEntry(
                "broken",
                der,
                [x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)],
            )
        ],
        "secret-pw",
    )

    with pytest.raises(keystores.KeystoreError, match="invalid"):
        keystores.read_keystore(store, "secret-pw")


def test_export_page_lists_what_is_left_out(alice_client: Client, acme: Organization) -> None:
    self_signed(acme, name="Exported")
    self_signed(acme, name="Locked_Key", exportable=False)
    ca_signed(acme, name="Pending")

    response = alice_client.get(reverse("certadmin:keystore-export", args=[acme.public_id]))

    assertContains(response, "exported")
    assertContains(response, "The private key is not exportable.")
    assertContains(response, "Awaiting its signed certificate.")


def test_export_password_rules(alice_client: Client, acme: Organization) -> None:
    self_signed(acme)
    url = reverse("certadmin:keystore-export", args=[acme.public_id])

    short = alice_client.post(url, {"fmt": "jks", "password": "12345", "confirm": "12345"})
    mismatch = alice_client.post(url, {"fmt": "jks", "password": "123456", "confirm": "1234567"})

    assertContains(short, "at least 6 characters", status_code=400)
    assertContains(mismatch, "do not match", status_code=400)


def test_exported_jks_opens_in_keytool_and_openssl_recovers_each_key(
    alice_client: Client, acme: Organization, tmp_path: Path
) -> None:
    certs = [
        self_signed(acme, name="Alpha_Signing", key_type="RSA-2048"),
        self_signed(acme, name="Beta_EC"),
    ]
    response = alice_client.post(
        reverse("certadmin:keystore-export", args=[acme.public_id]),
        {"fmt": "jks", "password": "export-pass", "confirm": "export-pass"},
    )
    assert response["Content-Disposition"] == f'attachment; filename="{acme.public_id}.jks"'
    (tmp_path / "out.jks").write_bytes(response.content)

    listing = keytool("-list", "-keystore", "out.jks", "-storepass", "export-pass", cwd=tmp_path)
    keytool(
        "-importkeystore",
        "-noprompt",
        "-srckeystore",
        "out.jks",
        "-srcstoretype",
        "JKS",
        "-srcstorepass",
        "export-pass",
        "-destkeystore",
        "out.p12",
        "-deststoretype",
        "PKCS12",
        "-deststorepass",
        "export-pass",
        cwd=tmp_path,
    )
    pem = openssl("pkcs12", "-in", "out.p12", "-nodes", "-passin", "pass:export-pass", cwd=tmp_path)

    assert "alpha_signing, " in listing
    assert "beta_ec, " in listing
    assert listing.count("PrivateKeyEntry") == 2
    blocks = re.findall(rb"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----", pem, re.DOTALL)
    recovered = [load_pem_private_key(block, None) for block in blocks]
    assert len(recovered) == 2
    stored = {c.unique_name: x509.load_pem_x509_certificate(c.chain_pem.encode()) for c in certs}
    for cert in stored.values():
        assert any(k.public_key() == cert.public_key() for k in recovered)


def test_round_trip_into_another_org_gives_the_same_keys(
    alice_client: Client, acme: Organization, globex: Organization, carol: User
) -> None:
    originals = [
        self_signed(acme, name="Alpha"),
        self_signed(acme, name="Beta", key_type="RSA-2048"),
    ]
    exported = services.export_keystore(
        org=acme, password="round-trip", confirm="round-trip", acting_user=None
    )

    result = services.import_keystore(
        org=globex, data=exported.content, password="round-trip", acting_user=carol
    )

    assert sorted(c.unique_name for c in result.imported) == ["alpha", "beta"]
    for original in originals:
        copy = Certificate.objects.get(
            organization=globex, unique_name=original.unique_name.lower()
        )
        assert copy.chain_pem == original.chain_pem
        assert copy.fingerprint_sha256 == original.fingerprint_sha256
        assert load_private_key(copy).public_key() == load_private_key(original).public_key()


def test_pkcs12_export_of_one_key_is_a_p12(acme: Organization, tmp_path: Path) -> None:
    """Several keys: tests/certadmin/test_keystore_defects.py (one file holding them all)."""
    self_signed(acme, name="Only")
    single = services.export_keystore(
        org=acme, password="p12-pass", confirm="p12-pass", fmt="p12", acting_user=None
    )
    (tmp_path / "one.p12").write_bytes(single.content)

    assert single.filename == f"{acme.public_id}.p12"
    assert b"PRIVATE KEY" in openssl(
        "pkcs12", "-in", "one.p12", "-nodes", "-passin", "pass:p12-pass", cwd=tmp_path
    )


def test_operator_commands_take_the_password_from_the_environment(
    acme: Organization, globex: Organization, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    self_signed(acme, name="Cli_Cert")
    monkeypatch.setenv("CERTADMIN_KEYSTORE_PASSWORD", "from-the-env")
    out = io.StringIO()

    call_command("export_keystore", acme.public_id, "--out", str(tmp_path / "x.jks"), stdout=out)
    call_command("import_keystore", globex.public_id, str(tmp_path / "x.jks"), stdout=out)

    assert "imported: cli_cert" in out.getvalue()
    assert "from-the-env" not in out.getvalue()
    assert not AuditEvent.objects.filter(message__contains="from-the-env").exists()
    assert Certificate.objects.filter(organization=globex, unique_name="cli_cert").exists()


def test_java_reads_the_store_with_its_password_only(acme: Organization, tmp_path: Path) -> None:
    self_signed(acme, name="Java_Check")
    export = services.export_keystore(
        org=acme, password="pw-java-1", confirm="pw-java-1", acting_user=None
    )
    (tmp_path / "j.jks").write_bytes(export.content)

    wrong = subprocess.run(
        ["keytool", "-list", "-keystore", "j.jks", "-storepass", "nope-nope"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert wrong.returncode != 0
