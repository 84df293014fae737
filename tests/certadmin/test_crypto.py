"""Tests for certadmin.crypto (no Django, no DB); the openssl CLI is the independent checker."""

from __future__ import annotations

import itertools
import random
import shlex
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from certadmin.crypto import building, chains, display, keypairs, parsing
from certadmin.crypto.chains import ChainError
from certadmin.crypto.parsing import CertificateParseError

NOW = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)

NAMEOPT = "-nameopt RFC2253,-esc_msb"  # RFC 4514 order (CN first), UTF-8 unescaped
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI missing")


def openssl(command: str, *, cwd: Path) -> str:
    """Run ``openssl <command>`` and return stdout + stderr (`req -verify` reports on stderr)."""
    result = subprocess.run(
        ["openssl", *shlex.split(command)], cwd=cwd, capture_output=True, text=True, check=True
    )
    return result.stdout + result.stderr


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def self_signed(key: keypairs.PrivateKey, cn: str = "leaf.example") -> x509.Certificate:
    return building.build_self_signed(key, common_name=cn, org_unit="Unit", org_name="Org", now=NOW)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_cert(ec_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    return self_signed(ec_key)


@pytest.fixture(scope="module")
def openssl_chain(
    tmp_path_factory: pytest.TempPathFactory, ec_key: ec.EllipticCurvePrivateKey
) -> dict[str, x509.Certificate]:
    """Root (RSA) -> intermediate (EC) made by openssl; the leaf is openssl signing our CSR."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI missing")
    d = tmp_path_factory.mktemp("ca")
    (d / "ca.ext").write_text(
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
    )
    csr = building.build_csr(ec_key, common_name="api.example.com", company="Example AG")
    (d / "leaf.csr").write_text(display.csr_pem(csr))
    openssl(
        "req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 30"
        " -subj '/O=Test/CN=Test Root CA'",
        cwd=d,
    )
    openssl(
        "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key"
        " -out int.csr -subj '/O=Test/CN=Test Issuing CA'",
        cwd=d,
    )
    openssl(
        "x509 -req -in int.csr -CA root.pem -CAkey root.key -CAserial root.srl -CAcreateserial"
        " -days 30 -extfile ca.ext -out int.pem",
        cwd=d,
    )
    openssl(
        "x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAserial int.srl -CAcreateserial"
        " -days 30 -out leaf.pem",
        cwd=d,
    )
    return {
        name: x509.load_pem_x509_certificate((d / f"{name}.pem").read_bytes())
        for name in ("root", "int", "leaf")
    }


# --- keys -------------------------------------------------------------------------------------


def test_key_types_are_the_five_supported_constants_with_human_labels() -> None:
    assert keypairs.KEY_TYPES == ("RSA-2048", "RSA-3072", "RSA-4096", "EC-P256", "EC-P384")
    labels = [keypairs.key_type_label(t) for t in keypairs.KEY_TYPES]
    assert labels == ["RSA 2048", "RSA 3072", "RSA 4096", "ECDSA P-256", "ECDSA P-384"]
    with pytest.raises(ValueError):
        keypairs.key_type_label("RSA-1024")


@pytest.mark.parametrize("key_type", ["EC-P256", "EC-P384", "RSA-2048"])
def test_generated_key_has_the_requested_type(key_type: str) -> None:
    key = keypairs.generate_private_key(key_type)
    assert keypairs.key_type_of(key.public_key()) == key_type
    assert keypairs.key_description(key.public_key()) == keypairs.key_type_label(key_type)


@pytest.mark.parametrize(("key_type", "size"), [("RSA-3072", 3072), ("RSA-4096", 4096)])
def test_large_rsa_keys_are_requested_with_their_size_and_exponent_65537(
    monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey, key_type: str, size: int
) -> None:
    calls: list[tuple[int, int]] = []

    def fake(public_exponent: int, key_size: int) -> rsa.RSAPrivateKey:
        calls.append((public_exponent, key_size))
        return rsa_key

    monkeypatch.setattr(rsa, "generate_private_key", fake)  # real generation is too slow here
    assert keypairs.generate_private_key(key_type) is rsa_key
    assert calls == [(65537, size)]


def test_unknown_key_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="Unknown key type"):
        keypairs.generate_private_key("DSA-2048")
    with pytest.raises(ValueError):
        keypairs.validity_days("EC-P521")


@pytest.mark.parametrize("key_name", ["ec_key", "rsa_key"])
@pytest.mark.parametrize("trusted", [True, False])
def test_private_key_survives_pkcs8_der_round_trip(
    request: pytest.FixtureRequest, key_name: str, trusted: bool
) -> None:
    key = request.getfixturevalue(key_name)
    der_bytes = keypairs.private_key_to_der(key)
    assert serialization.load_der_private_key(der_bytes, None)  # plain PKCS#8, no password
    loaded = keypairs.load_private_key_der(der_bytes, trusted=trusted)
    assert loaded.private_numbers() == key.private_numbers()


def test_untrusted_load_rejects_inconsistent_rsa_key_that_trusted_load_skips_checking(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    n = rsa_key.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        n.p, n.q, n.d, n.dmp1 - 2, n.dmq1, n.iqmp, n.public_numbers
    ).private_key(unsafe_skip_rsa_key_validation=True)
    der_bytes = keypairs.private_key_to_der(broken)
    assert keypairs.load_private_key_der(der_bytes, trusted=True)
    with pytest.raises(ValueError):
        keypairs.load_private_key_der(der_bytes, trusted=False)


@pytest.mark.parametrize(
    "make_der",
    [
        lambda: b"not a key",
        lambda: keypairs.private_key_to_der(ed25519.Ed25519PrivateKey.generate()),
        lambda: keypairs.private_key_to_der(rsa.generate_private_key(65537, 1024)),
        lambda: keypairs.private_key_to_der(ec.generate_private_key(ec.SECP521R1())),
        lambda: ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        ),
    ],
    ids=["garbage", "ed25519", "rsa1024", "p521", "encrypted"],
)
def test_loading_garbage_or_unsupported_private_key_raises_value_error(make_der) -> None:
    with pytest.raises(ValueError):
        keypairs.load_private_key_der(make_der(), trusted=False)


def test_validity_is_730_days_for_rsa_4096_and_365_for_the_rest() -> None:
    assert {t: keypairs.validity_days(t) for t in keypairs.KEY_TYPES} == {
        "RSA-2048": 365,
        "RSA-3072": 365,
        "RSA-4096": 730,
        "EC-P256": 365,
        "EC-P384": 365,
    }


def _rsa_public(bits: int) -> rsa.RSAPublicKey:
    return rsa.RSAPublicNumbers(65537, (1 << (bits - 1)) | 1).public_key()


@pytest.mark.parametrize(
    ("make_key", "key_type", "description"),
    [
        (lambda: _rsa_public(3072), "RSA-3072", "RSA 3072"),
        (lambda: _rsa_public(4096), "RSA-4096", "RSA 4096"),
        (lambda: _rsa_public(1024), None, "RSA 1024"),
        (lambda: ec.generate_private_key(ec.SECP384R1()).public_key(), "EC-P384", "ECDSA P-384"),
        (lambda: ec.generate_private_key(ec.SECP521R1()).public_key(), None, "ECDSA P-521"),
        (lambda: ec.generate_private_key(ec.SECP256K1()).public_key(), None, "ECDSA secp256k1"),
        (lambda: ed25519.Ed25519PrivateKey.generate().public_key(), None, "Ed25519"),
        (lambda: dsa.generate_private_key(1024).public_key(), None, "DSA 1024"),
    ],
    ids=["rsa3072", "rsa4096", "rsa1024", "p384", "p521", "k256", "ed25519", "dsa"],
)
def test_public_keys_are_mapped_to_key_types_and_descriptions(
    make_key, key_type: str | None, description: str
) -> None:
    key = make_key()
    assert keypairs.key_type_of(key) == key_type
    assert keypairs.key_description(key) == description


def test_private_key_matches_only_its_own_certificate(
    ec_key: ec.EllipticCurvePrivateKey, rsa_key: rsa.RSAPrivateKey, ec_cert: x509.Certificate
) -> None:
    assert keypairs.private_key_matches_certificate(ec_key, ec_cert)
    assert not keypairs.private_key_matches_certificate(rsa_key, ec_cert)
    other = ec.generate_private_key(ec.SECP256R1())
    assert not keypairs.private_key_matches_certificate(other, ec_cert)


# --- self-signed certificates -------------------------------------------------------------------


def test_self_signed_ec_certificate_has_spec_subject_validity_and_extensions(
    ec_key: ec.EllipticCurvePrivateKey, ec_cert: x509.Certificate
) -> None:
    cert = ec_cert
    assert cert.subject == cert.issuer
    assert display.name_to_string(cert.subject) == "CN=leaf.example, OU=Unit, O=Org"
    assert 0 < cert.serial_number < 2**128
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc == NOW + timedelta(days=365)
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature
    assert not ku.value.key_encipherment
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.value.ca is False
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(ec_key.public_key())
    cert.verify_directly_issued_by(cert)


def test_self_signed_rsa_certificate_also_allows_key_encipherment(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    cert = self_signed(rsa_key)
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature
    assert ku.key_encipherment
    cert.verify_directly_issued_by(cert)


def test_self_signed_serials_are_random(ec_key: ec.EllipticCurvePrivateKey) -> None:
    assert len({self_signed(ec_key).serial_number for _ in range(5)}) == 5


def test_self_signed_requires_an_aware_datetime(ec_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        building.build_self_signed(
            ec_key, common_name="x", org_unit="y", org_name="z", now=datetime(2025, 1, 1)
        )


@needs_openssl
def test_openssl_reads_utf8_subject_and_end_date_of_self_signed_certificate(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    cert = building.build_self_signed(
        ec_key, common_name="Zürich Sync", org_unit="00D5g000004", org_name="株式会社", now=NOW
    )
    (tmp_path / "c.pem").write_text(display.certificate_pem(cert))
    out = openssl(f"x509 {NAMEOPT} -noout -subject -enddate -in c.pem", cwd=tmp_path)
    assert "subject=CN=Zürich Sync,OU=00D5g000004,O=株式会社" in out
    end = NOW + timedelta(days=365)
    assert f"notAfter={end:%b} {end.day:>2} {end:%H:%M:%S %Y} GMT" in out


# --- CSR ----------------------------------------------------------------------------------------


def test_csr_subject_contains_only_non_empty_fields(ec_key: ec.EllipticCurvePrivateKey) -> None:
    csr = building.build_csr(ec_key, common_name="sf.example", department="IT")
    assert display.name_to_string(csr.subject) == "CN=sf.example, OU=IT"
    assert isinstance(csr.signature_hash_algorithm, hashes.SHA256)
    assert csr.is_signature_valid


@needs_openssl
def test_openssl_verifies_csr_with_all_fields_and_utf8(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    csr = building.build_csr(
        rsa_key,
        common_name="sf.example.com",
        email="ops@example.com",
        company="株式会社 Example",
        department="Plattform",
        city="Zürich",
        state="ZH",
        country="ch",
    )
    (tmp_path / "r.pem").write_text(display.csr_pem(csr))
    out = openssl(f"req {NAMEOPT} -verify -noout -subject -in r.pem", cwd=tmp_path)
    assert "verify OK" in out
    assert (
        "subject=emailAddress=ops@example.com,CN=sf.example.com,OU=Plattform,"
        "O=株式会社 Example,L=Zürich,ST=ZH,C=CH"
    ) in out


@pytest.mark.parametrize("country", ["CHE", "C", "Ü1", "1A"])
def test_csr_rejects_country_that_is_not_two_letters(
    ec_key: ec.EllipticCurvePrivateKey, country: str
) -> None:
    with pytest.raises(ValueError, match="two letters"):
        building.build_csr(ec_key, common_name="x", country=country)


# --- parsing ------------------------------------------------------------------------------------


def test_parse_reads_pem_blocks_with_text_around_and_between_in_lf_or_crlf(
    ec_cert: x509.Certificate, rsa_key: rsa.RSAPrivateKey
) -> None:
    other = self_signed(rsa_key, cn="other")
    text = (
        "Subject: leaf\n"
        + display.certificate_pem(ec_cert)
        + "\nsome note between\n\n"
        + display.certificate_pem(other)
        + "trailing text"
    )
    for data in (text.encode(), text.replace("\n", "\r\n").encode()):
        assert [der(c) for c in parsing.parse_certificates(data)] == [der(ec_cert), der(other)]


def test_parse_reads_a_single_der_certificate(ec_cert: x509.Certificate) -> None:
    assert [der(c) for c in parsing.parse_certificates(der(ec_cert))] == [der(ec_cert)]


def _damaged_pems(cert: x509.Certificate) -> list[bytes]:
    pem = display.certificate_pem(cert)
    lines = pem.splitlines(keepends=True)
    return [
        pem[: len(pem) // 2].encode(),  # truncated: no END line
        "".join(lines[:3] + lines[-1:]).encode(),  # body cut short
        pem.replace(lines[2], "!!!!" + lines[2][4:]).encode(),  # invalid base64
        "".join(lines[:-1]).encode() + display.certificate_pem(cert).encode(),  # nested BEGIN
        pem.replace("BEGIN", "BOGUS").encode() + b"-----END CERTIFICATE-----\n",  # stray END
    ]


def _error_inputs(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> list:
    enc = serialization.BestAvailableEncryption(b"pw")
    pkcs8 = serialization.PrivateFormat.PKCS8
    trad = serialization.PrivateFormat.TraditionalOpenSSL
    csr = building.build_csr(key, common_name="x")
    pem, der_ = serialization.Encoding.PEM, serialization.Encoding.DER
    return [
        (b"", parsing.MSG_EMPTY),
        (b" \r\n\t", parsing.MSG_EMPTY),
        (random.Random(1).randbytes(600), parsing.MSG_NO_CERT),
        (b"just some text\n", parsing.MSG_NO_CERT),
        (b"-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n", parsing.MSG_NO_CERT),
        (b"-----BEGIN FOO-----\nxx\n-----END BAR-----\n", parsing.MSG_NO_CERT),
        (
            key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo),
            parsing.MSG_NO_CERT,
        ),
        *[(data, parsing.MSG_DAMAGED) for data in _damaged_pems(cert)],
        (key.private_bytes(pem, pkcs8, serialization.NoEncryption()), parsing.MSG_PRIVATE_KEY),
        (key.private_bytes(pem, trad, serialization.NoEncryption()), parsing.MSG_PRIVATE_KEY),
        (key.private_bytes(pem, pkcs8, enc), parsing.MSG_PRIVATE_KEY),
        (key.private_bytes(der_, pkcs8, serialization.NoEncryption()), parsing.MSG_PRIVATE_KEY),
        (key.private_bytes(der_, pkcs8, enc), parsing.MSG_PRIVATE_KEY),
        (
            display.certificate_pem(cert).encode()
            + key.private_bytes(pem, pkcs8, serialization.NoEncryption()),
            parsing.MSG_PRIVATE_KEY,
        ),
        (display.csr_pem(csr).encode(), parsing.MSG_CSR),
        (csr.public_bytes(der_), parsing.MSG_CSR),
    ]


def test_parse_rejects_unusable_input_with_a_user_facing_message(
    ec_key: ec.EllipticCurvePrivateKey, ec_cert: x509.Certificate
) -> None:
    for data, message in _error_inputs(ec_key, ec_cert):
        with pytest.raises(CertificateParseError) as info:
            parsing.parse_certificates(data)
        assert str(info.value) == message, data[:80]
        assert isinstance(info.value, ValueError)


def test_parse_checks_the_size_limit_before_anything_else(ec_cert: x509.Certificate) -> None:
    with pytest.raises(CertificateParseError, match=r"^The file is larger than the 1 MiB limit\.$"):
        parsing.parse_certificates(b"\0" * (1024 * 1024 + 1))
    pem = display.certificate_pem(ec_cert).encode()
    with pytest.raises(CertificateParseError, match="larger than the 100 bytes limit"):
        parsing.parse_certificates(pem, max_bytes=100)
    assert parsing.parse_certificates(pem, max_bytes=len(pem))


def test_parse_limits_the_number_of_certificates(ec_cert: x509.Certificate) -> None:
    pem = display.certificate_pem(ec_cert).encode()
    assert len(parsing.parse_certificates(pem * 20)) == 20
    with pytest.raises(CertificateParseError, match="more than 20 certificates"):
        parsing.parse_certificates(pem * 21)
    with pytest.raises(CertificateParseError, match="more than 2 certificates"):
        parsing.parse_certificates(pem * 3, max_certificates=2)


# --- chains -------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", list(itertools.permutations(["root", "int", "leaf"])))
def test_openssl_chain_uploaded_in_any_order_is_ordered_from_our_key(
    openssl_chain: dict[str, x509.Certificate],
    ec_key: ec.EllipticCurvePrivateKey,
    order: tuple[str, ...],
) -> None:
    blocks = [display.certificate_pem(openssl_chain[name]) for name in order]
    text = "Bag Attributes: x\n" + "\nissuer text\n".join(blocks) + blocks[0] + "\n-- end --\n"
    certs = parsing.parse_certificates(text.replace("\n", "\r\n").encode())
    assert len(certs) == 4
    leaf = chains.find_leaf_for_key(certs, ec_key.public_key())
    assert leaf is not None
    assert der(leaf) == der(openssl_chain["leaf"])
    chain = chains.order_chain(leaf, certs)
    assert [der(c) for c in chain] == [der(openssl_chain[n]) for n in ("leaf", "int", "root")]


def test_chain_without_root_or_issuers_stops_at_the_last_available_certificate(
    openssl_chain: dict[str, x509.Certificate],
) -> None:
    leaf, inter = openssl_chain["leaf"], openssl_chain["int"]
    assert chains.order_chain(leaf, [inter, leaf, inter]) == [leaf, inter]
    assert chains.order_chain(leaf, [leaf]) == [leaf]
    assert chains.order_chain(leaf, []) == [leaf]


def test_find_leaf_returns_none_when_no_certificate_has_the_key(
    openssl_chain: dict[str, x509.Certificate], rsa_key: rsa.RSAPrivateKey
) -> None:
    assert chains.find_leaf_for_key(list(openssl_chain.values()), rsa_key.public_key()) is None


def test_unrelated_certificate_in_chain_raises_chain_error_naming_it(
    openssl_chain: dict[str, x509.Certificate], rsa_key: rsa.RSAPrivateKey
) -> None:
    stranger = self_signed(rsa_key, cn="Stranger")
    certs = [openssl_chain["root"], stranger, openssl_chain["int"]]
    with pytest.raises(ChainError) as info:
        chains.order_chain(openssl_chain["leaf"], certs)
    assert str(info.value) == (
        "The certificate 'CN=Stranger, OU=Unit, O=Org' is not part of the chain of "
        "'CN=api.example.com, O=Example AG'."
    )
    assert isinstance(info.value, ValueError)


def test_self_signed_leaf_with_other_certificates_raises_chain_error(
    ec_cert: x509.Certificate, openssl_chain: dict[str, x509.Certificate]
) -> None:
    assert chains.order_chain(ec_cert, [ec_cert]) == [ec_cert]
    with pytest.raises(ChainError, match="Test Root CA"):
        chains.order_chain(ec_cert, [ec_cert, openssl_chain["root"]])


def test_impostor_issuer_with_matching_name_but_wrong_key_raises_chain_error(
    openssl_chain: dict[str, x509.Certificate], ec_key: ec.EllipticCurvePrivateKey
) -> None:
    real = openssl_chain["int"]
    impostor_key = ec.generate_private_key(ec.SECP256R1())
    impostor = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.subject)
        .public_key(impostor_key.public_key())
        .serial_number(7)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(impostor_key, hashes.SHA256())
    )
    with pytest.raises(ChainError, match="signature check failed") as info:
        chains.order_chain(openssl_chain["leaf"], [impostor, openssl_chain["root"]])
    assert "'CN=api.example.com, O=Example AG'" in str(info.value)


# --- display ------------------------------------------------------------------------------------


@needs_openssl
def test_fingerprints_match_openssl(tmp_path: Path, ec_cert: x509.Certificate) -> None:
    (tmp_path / "c.pem").write_text(display.certificate_pem(ec_cert))
    out = openssl("x509 -noout -fingerprint -sha256 -in c.pem", cwd=tmp_path)
    expected = out.strip().split("=", 1)[1]
    assert display.fingerprint_sha256(ec_cert) == expected
    assert display.fingerprint_hex(ec_cert) == expected.replace(":", "").lower()
    assert len(display.fingerprint_hex(ec_cert)) == 64


def test_name_to_string_puts_cn_first_keeps_utf8_and_escapes_separators() -> None:
    name = x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "CH")]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Müller, Söhne + Co"),
                    x509.NameAttribute(x509.ObjectIdentifier("1.2.3.4"), "x"),
                ]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "株式会社")]),
        ]
    )
    assert display.name_to_string(name) in (
        r"CN=株式会社, O=Müller\, Söhne \+ Co+1.2.3.4=x, C=CH",
        r"CN=株式会社, 1.2.3.4=x+O=Müller\, Söhne \+ Co, C=CH",
    )
    assert display.name_to_string(x509.Name([])) == ""


def test_pem_helpers_round_trip(
    openssl_chain: dict[str, x509.Certificate], ec_key: ec.EllipticCurvePrivateKey
) -> None:
    chain = [openssl_chain[n] for n in ("leaf", "int", "root")]
    pem = display.chain_pem(chain)
    assert isinstance(pem, str)
    assert pem.count("-----BEGIN CERTIFICATE-----") == 3
    assert [der(c) for c in parsing.parse_certificates(pem.encode())] == [der(c) for c in chain]
    csr = building.build_csr(ec_key, common_name="x")
    assert x509.load_pem_x509_csr(display.csr_pem(csr).encode()) == csr


def test_describe_reports_display_facts(
    ec_cert: x509.Certificate, openssl_chain: dict[str, x509.Certificate]
) -> None:
    facts = display.describe(ec_cert)
    assert facts == display.CertificateFacts(
        subject="CN=leaf.example, OU=Unit, O=Org",
        issuer="CN=leaf.example, OU=Unit, O=Org",
        serial=f"{ec_cert.serial_number:X}",
        not_before=NOW,
        not_after=NOW + timedelta(days=365),
        fingerprint=display.fingerprint_sha256(ec_cert),
        is_self_issued=True,
        key_description="ECDSA P-256",
    )
    assert facts.not_before.tzinfo is not None
    with pytest.raises(AttributeError):
        facts.subject = "x"  # type: ignore[misc]
    leaf = display.describe(openssl_chain["leaf"])
    assert leaf.issuer == "CN=Test Issuing CA, O=Test"
    assert not leaf.is_self_issued


def test_name_to_string_escapes_what_rfc4514_escapes() -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "#1; <Widgets> "),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, "ops@acme.test"),
            x509.NameAttribute(NameOID.COMMON_NAME, "api"),
        ]
    )

    assert display.name_to_string(name) == (
        r"CN=api, emailAddress=ops@acme.test, O=\#1\; \<Widgets\>\ "
    )


def test_certificate_ders_reads_good_blocks_and_skips_the_rest(
    openssl_chain: dict[str, x509.Certificate],
) -> None:
    leaf, root = openssl_chain["leaf"], openssl_chain["root"]
    text = (
        b"Bag Attributes: whatever\n"
        + display.certificate_pem(leaf).encode()
        + b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"
        + b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        + display.certificate_pem(root).encode().replace(b"\n", b"\r\n")
    )

    ders = parsing.certificate_ders(text)

    assert [x509.load_der_x509_certificate(der) for der in ders] == [leaf, root]
