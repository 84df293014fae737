"""Tests for keys.crypto: versioned tokens and password-wrapped key export."""

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from keys import crypto
from keys.crypto import (
    DecryptionError,
    KeyImportError,
    MalformedCiphertext,
    decrypt_value,
    encrypt_value,
    export_key,
    generate_master_key,
    import_key,
    key_check_value,
    version_of,
)

FAST_N = 2**4  # keeps scrypt cheap in tests; production uses the default 2**15
ORG = "org_7Fq2"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def key():
    return generate_master_key()


def _import(text, **overrides):
    kwargs = {
        "password": PASSWORD,
        "expected_org_public_id": ORG,
        "expected_version": 3,
        "expected_kcv": None,
    }
    kwargs.update(overrides)
    return import_key(text, **kwargs)


def _export(master_key, **overrides):
    kwargs = {"key": master_key, "org_public_id": ORG, "version": 3, "password": PASSWORD}
    kwargs.update(overrides)
    kwargs.setdefault("scrypt_n", FAST_N)
    return export_key(**kwargs)


def _replace_line(text, name, value):
    lines = [
        f"{name}: {value}" if line.startswith(f"{name}:") else line for line in text.splitlines()
    ]
    return "\n".join(lines) + "\n"


# --- master keys and tokens ---------------------------------------------------------------


def test_generate_master_key():
    first, second = generate_master_key(), generate_master_key()
    assert isinstance(first, bytes)
    assert len(first) == 32
    assert first != second


def test_round_trip(key):
    token = encrypt_value(key, 7, b"4111111111111111")
    assert decrypt_value(key, token) == b"4111111111111111"


def test_round_trip_with_aad_and_empty_plaintext(key):
    token = encrypt_value(key, 1, b"", aad=b"record:42")
    assert decrypt_value(key, token, aad=b"record:42") == b""


def test_token_format(key):
    token = encrypt_value(key, 12, b"hello")
    assert isinstance(token, bytes)
    token.decode("ascii")
    prefix, payload = token.split(b":", 1)
    assert prefix == b"v12"
    assert b"=" not in payload
    blob = base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4))
    assert len(blob) == 12 + len(b"hello") + 16


def test_tokens_are_randomised(key):
    assert encrypt_value(key, 1, b"same") != encrypt_value(key, 1, b"same")


def test_token_as_str_is_accepted(key):
    token = encrypt_value(key, 2, b"x")
    assert version_of(token.decode()) == 2
    assert decrypt_value(key, token.decode()) == b"x"


@pytest.mark.parametrize("version", [0, 1, 9, 10, 123456789])
def test_version_of(key, version):
    assert version_of(encrypt_value(key, version, b"data")) == version


def test_wrong_key_raises(key):
    token = encrypt_value(key, 1, b"secret")
    with pytest.raises(DecryptionError):
        decrypt_value(generate_master_key(), token)


def test_wrong_aad_raises(key):
    token = encrypt_value(key, 1, b"secret", aad=b"record:1")
    with pytest.raises(DecryptionError):
        decrypt_value(key, token, aad=b"record:2")
    with pytest.raises(DecryptionError):
        decrypt_value(key, token)


def test_tampered_token_raises(key):
    token = encrypt_value(key, 1, b"secret value")
    prefix, payload = token.split(b":", 1)
    for index in range(len(payload)):
        flipped = b"A" if payload[index : index + 1] != b"A" else b"B"
        tampered = prefix + b":" + payload[:index] + flipped + payload[index + 1 :]
        with pytest.raises(DecryptionError):
            decrypt_value(key, tampered)


def test_truncated_token_raises(key):
    token = encrypt_value(key, 1, b"secret value")
    with pytest.raises(DecryptionError):
        decrypt_value(key, token[:-4])


def test_relabelled_version_raises(key):
    token = encrypt_value(key, 1, b"secret")
    relabelled = b"v2:" + token.split(b":", 1)[1]
    assert version_of(relabelled) == 2
    with pytest.raises(DecryptionError):
        decrypt_value(key, relabelled)


MALFORMED = [
    b"",
    b"v",
    b"v1",
    b"v1:",
    b"1:AAAA",
    b"V1:" + b"A" * 40,
    b"v01:" + b"A" * 40,
    b"v-1:" + b"A" * 40,
    b"v1234567890:" + b"A" * 40,
    b"v1:" + b"A" * 36,  # 27 bytes: shorter than nonce + tag
    b"v1:" + b"A" * 41,  # impossible base64 length
    b"v1:" + b"A" * 39 + b"=",
    b"v1:" + b"A+" * 20,  # standard alphabet, not base64url
    b"v1:" + b"A" * 38 + b"B",  # non-canonical: unused trailing bits set
    b"v1:" + b"A" * 40 + b"\n",
    b" v1:" + b"A" * 40,
    b"v1:" + b"\xff" * 40,
    "v1:é" + "A" * 40,
    b"plaintext that is not a token",
]


@pytest.mark.parametrize("token", MALFORMED)
def test_version_of_malformed(token):
    with pytest.raises(MalformedCiphertext):
        version_of(token)


@pytest.mark.parametrize("token", MALFORMED)
def test_decrypt_malformed(key, token):
    with pytest.raises(DecryptionError):
        decrypt_value(key, token)


def test_malformed_ciphertext_is_value_error():
    assert issubclass(MalformedCiphertext, ValueError)
    assert issubclass(KeyImportError, ValueError)


def test_decrypt_never_returns_ciphertext(key):
    plaintext = b"secret"
    token = encrypt_value(key, 1, plaintext)
    with pytest.raises(DecryptionError):
        decrypt_value(generate_master_key(), token)
    with pytest.raises(DecryptionError):
        decrypt_value(key, plaintext)


@pytest.mark.parametrize("bad_key", [b"", b"k" * 16, b"k" * 31, b"k" * 33, "k" * 32])
def test_bad_key_length(bad_key):
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt_value(bad_key, 1, b"x")
    with pytest.raises(ValueError, match="32 bytes"):
        decrypt_value(bad_key, b"v1:" + b"A" * 40)


@pytest.mark.parametrize("version", [-1, 10**9])
def test_bad_version(key, version):
    with pytest.raises(ValueError, match="version"):
        encrypt_value(key, version, b"x")


@pytest.mark.parametrize("version", [True, "1", 1.0])
def test_version_type(key, version):
    with pytest.raises(TypeError):
        encrypt_value(key, version, b"x")


# --- key check value ----------------------------------------------------------------------


def test_key_check_value(key):
    expected = hmac.new(key, b"certadmin-kcv", hashlib.sha256).hexdigest()[:8]
    assert key_check_value(key) == expected
    assert len(expected) == 8
    assert key_check_value(generate_master_key()) != expected


# --- export / import ----------------------------------------------------------------------


def test_export_format(key):
    text = _export(key)
    lines = text.splitlines()
    assert lines[0] == "certadmin-master-key-export v1"
    assert [line.split(":", 1)[0] for line in lines[1:]] == [
        "org",
        "version",
        "kdf",
        "salt",
        "kcv",
        "check",
        "data",
    ]
    assert f"org: {ORG}" in lines
    assert "version: 3" in lines
    assert f"kdf: scrypt n={FAST_N} r=8 p=1" in lines
    assert f"kcv: {key_check_value(key)}" in lines
    assert key.hex() not in text
    assert base64.b64encode(key).decode() not in text


def test_export_default_cost_round_trip(key):
    text = export_key(key=key, org_public_id=ORG, version=3, password=PASSWORD)
    assert "kdf: scrypt n=32768 r=8 p=1" in text
    assert _import(text) == key


def test_export_import_round_trip(key):
    text = _export(key)
    assert _import(text, expected_kcv=key_check_value(key)) == key
    assert _import(text) == key


def test_import_tolerates_crlf_bom_and_blank_lines(key):
    text = "\ufeff" + _export(key).replace("\n", "\r\n\r\n")
    assert _import(text) == key


def test_import_unicode_password_normalised(key):
    text = _export(key, password="pa\u00dfw\u00f6rd")  # composed o-umlaut
    assert _import(text, password="pa\u00dfwo\u0308rd") == key  # decomposed o-umlaut


def test_exports_differ(key):
    assert _export(key) != _export(key)


def test_wrong_password(key):
    with pytest.raises(KeyImportError, match=r"^The password is incorrect\.$"):
        _import(_export(key), password="wrong password")


def test_other_org(key):
    text = _export(key, org_public_id="org_other")
    with pytest.raises(KeyImportError, match=r"^This file holds a key of another org\.$"):
        _import(text)


def test_other_version(key):
    text = _export(key, version=2)
    with pytest.raises(KeyImportError, match=r"^This file holds key version 2, not version 3\.$"):
        _import(text)


def test_other_key_kcv(key):
    text = _export(generate_master_key())
    with pytest.raises(KeyImportError, match=r"^This file holds a different key\.$"):
        _import(text, expected_kcv=key_check_value(key))


def test_expected_kcv_case_insensitive(key):
    assert _import(_export(key), expected_kcv=key_check_value(key).upper()) == key


def test_edited_org_fails(key):
    text = _replace_line(_export(key, org_public_id="org_other"), "org", ORG)
    with pytest.raises(KeyImportError, match="altered"):
        _import(text)


def test_edited_version_fails(key):
    text = _replace_line(_export(key, version=2), "version", "3")
    with pytest.raises(KeyImportError, match="altered"):
        _import(text)


def test_edited_kcv_fails(key):
    other = generate_master_key()
    text = _replace_line(_export(other), "kcv", key_check_value(key))
    with pytest.raises(KeyImportError, match="altered"):
        _import(text, expected_kcv=key_check_value(key))


def test_edited_data_fails(key):
    text = _export(key)
    data = next(line for line in text.splitlines() if line.startswith("data:"))[6:]
    raw = bytearray(base64.b64decode(data))
    raw[-1] ^= 1
    with pytest.raises(KeyImportError, match="altered"):
        _import(_replace_line(text, "data", base64.b64encode(raw).decode()))


def test_edited_kdf_cost_reads_as_wrong_password(key):
    text = _replace_line(_export(key), "kdf", "scrypt n=32 r=8 p=1")
    with pytest.raises(KeyImportError, match="password is incorrect"):
        _import(text)


@pytest.mark.parametrize(
    "text",
    ["", "hello", "org: x\nversion: 1\n", "certadmin-master-key-export v2\n", "x" * 5000, None],
)
def test_not_an_export_file(text):
    with pytest.raises(KeyImportError, match="not a certadmin master key export"):
        _import(text)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("version", "three"),
        ("version", "03"),
        ("kdf", "pbkdf2 iterations=1"),
        ("kdf", "scrypt n=48 r=8 p=1"),
        ("kdf", f"scrypt n={2**20} r=8 p=1"),
        ("kdf", "scrypt n=16 r=1 p=1"),
        ("salt", "!!!"),
        ("salt", base64.b64encode(b"short").decode()),
        ("kcv", "xyz"),
        ("check", "00"),
        ("data", "AAAA"),
        ("data", "not base64"),
    ],
)
def test_damaged_fields(key, name, value):
    with pytest.raises(KeyImportError, match="damaged"):
        _import(_replace_line(_export(key), name, value))


def test_missing_duplicate_or_unknown_field(key):
    text = _export(key)
    missing = "\n".join(line for line in text.splitlines() if not line.startswith("salt:"))
    duplicate = text + "org: " + ORG + "\n"
    unknown = text + "comment: hi\n"
    no_colon = text + "just words\n"
    for damaged in (missing, duplicate, unknown, no_colon):
        with pytest.raises(KeyImportError, match="damaged"):
            _import(damaged)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"key": b"short"}, "32 bytes"),
        ({"org_public_id": ""}, "org_public_id"),
        ({"org_public_id": "a\nb"}, "org_public_id"),
        ({"org_public_id": "a\u2028b"}, "org_public_id"),
        ({"org_public_id": " org"}, "org_public_id"),
        ({"password": ""}, "password"),
        ({"scrypt_n": 3}, "scrypt_n"),
        ({"scrypt_n": 2**18}, "scrypt_n"),
        ({"version": -1}, "version"),
    ],
)
def test_export_rejects_bad_arguments(key, overrides, message):
    with pytest.raises(ValueError, match=message):
        _export(key, **overrides)


def test_module_has_no_django_import():
    assert "django" not in Path(crypto.__file__).read_text(encoding="utf-8").lower()
