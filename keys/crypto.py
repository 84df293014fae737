"""Master encryption keys: versioned AES-256-GCM tokens and password-wrapped key export.

Token format (ASCII bytes)::

    b"v<version>:" + base64url(nonce[12] + ciphertext + tag[16])

The version is a decimal integer without leading zeros. The base64url payload is written
without ``=`` padding (padding is restored on decode, so a token is safe in URLs, form fields
and text columns); a payload that is not exactly that canonical encoding is rejected. The
``v<version>:`` prefix is also authenticated as AES-GCM associated data, so a token relabelled
with another version fails to decrypt.

Key export format (text, one ``name: value`` field per line)::

    certadmin-master-key-export v1
    org: <org public id>
    version: <N>
    kdf: scrypt n=32768 r=8 p=1
    salt: <base64 of 16 random bytes>
    kcv: <key check value, 8 hex chars>
    check: <password check, 32 hex chars>
    data: <base64 of nonce[12] + AES-GCM(key) + tag[16]>

Scrypt derives 64 bytes from the password: the first 32 wrap the key, the last 32 key an HMAC
giving the ``check`` line, which tells a wrong password apart from an altered file. Every
header line is the AES-GCM associated data, so a file edited to claim another org, version or
key check value fails to import.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
SALT_BYTES = 16
EXPORT_MAGIC = "certadmin-master-key-export v1"
DEFAULT_SCRYPT_N = 2**15
MAX_SCRYPT_N = 2**17  # caps importer memory (128 * n * r bytes = 128 MiB)
MAX_EXPORT_CHARS = 4096
_SCRYPT_R, _SCRYPT_P = 8, 1
_MAX_VERSION = 10**9 - 1
_TOKEN_RE = re.compile(rb"v(0|[1-9][0-9]{0,8}):([A-Za-z0-9_-]+)")
_VERSION_RE = re.compile(r"0|[1-9][0-9]{0,8}")
_KDF_RE = re.compile(rf"scrypt n=([1-9][0-9]{{0,9}}) r={_SCRYPT_R} p={_SCRYPT_P}")
_EXPORT_FIELDS = ("org", "version", "kdf", "salt", "kcv", "check", "data")

NOT_AN_EXPORT = "This is not a certadmin master key export file."
DAMAGED = "The key file is damaged."
ALTERED = "The key file is damaged or has been altered."
WRONG_PASSWORD = "The password is incorrect."
OTHER_ORG = "This file holds a key of another org."
OTHER_KEY = "This file holds a different key."


class MalformedCiphertext(ValueError):
    """The token is not in the ``v<version>:<base64url>`` format."""


class DecryptionError(Exception):
    """The token is malformed, or its tag does not verify under the key and AAD."""


class KeyImportError(ValueError):
    """A key export file cannot be imported; ``str(exc)`` is a message for the admin."""


def generate_master_key() -> bytes:
    """Return a new random 256-bit AES master key."""
    return AESGCM.generate_key(bit_length=256)


def _aesgcm(key: bytes) -> AESGCM:
    """Return an AES-GCM cipher for a master key; ``ValueError`` unless it is 32 bytes."""
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError(f"A master key must be {KEY_BYTES} bytes.")
    return AESGCM(key)


def _check_version(version: int) -> None:
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError("version must be an int")
    if not 0 <= version <= _MAX_VERSION:
        raise ValueError(f"version must be between 0 and {_MAX_VERSION}")


def _token_aad(version: int, aad: bytes) -> bytes:
    return b"v%d:" % version + aad


def _parse_token(token: bytes | str) -> tuple[int, bytes]:
    if isinstance(token, str):
        token = token.encode("ascii", "replace")
    match = _TOKEN_RE.fullmatch(token) if isinstance(token, bytes) else None
    if match is None:
        raise MalformedCiphertext("Not a certadmin ciphertext token.")
    payload = match.group(2)
    try:
        blob = base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedCiphertext("Ciphertext token payload is not valid base64url.") from exc
    if base64.urlsafe_b64encode(blob).rstrip(b"=") != payload:
        raise MalformedCiphertext("Ciphertext token payload is not canonical base64url.")
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise MalformedCiphertext("Ciphertext token is too short.")
    return int(match.group(1)), blob


def encrypt_value(key: bytes, version: int, plaintext: bytes, *, aad: bytes = b"") -> bytes:
    """Encrypt ``plaintext`` under master key ``key`` (labelled ``version``) with AES-256-GCM.

    ``aad`` (e.g. a record id) must be given again to decrypt. Returns an ASCII token, see the
    module docstring. Raises ``ValueError`` for a key that is not 32 bytes.
    """
    aead = _aesgcm(key)
    _check_version(version)
    nonce = os.urandom(NONCE_BYTES)
    sealed = aead.encrypt(nonce, plaintext, _token_aad(version, aad))
    payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=")
    return b"v%d:" % version + payload


def version_of(token: bytes) -> int:
    """Return the key version named by ``token`` without decrypting it.

    Raises ``MalformedCiphertext`` when the token is not well formed.
    """
    return _parse_token(token)[0]


def decrypt_value(key: bytes, token: bytes, *, aad: bytes = b"") -> bytes:
    """Decrypt a token made by ``encrypt_value`` with the same key and ``aad``.

    Raises ``DecryptionError`` for a malformed token, a wrong key or AAD, or any tampering;
    raises ``ValueError`` for a key that is not 32 bytes.
    """
    aead = _aesgcm(key)
    try:
        version, blob = _parse_token(token)
    except MalformedCiphertext as exc:
        raise DecryptionError("The ciphertext is malformed.") from exc
    try:
        return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _token_aad(version, aad))
    except InvalidTag:
        raise DecryptionError("The ciphertext does not verify under this key.") from None


def key_check_value(key: bytes) -> str:
    """Return the key check value: the first 8 hex chars of HMAC-SHA256(key, b"certadmin-kcv")."""
    return hmac.new(key, b"certadmin-kcv", hashlib.sha256).hexdigest()[:8]


def _derive(password: str, salt: bytes, n: int) -> tuple[bytes, str]:
    """Return (wrapping key, password check) derived from ``password`` with scrypt."""
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    raw = Scrypt(salt=salt, length=64, n=n, r=_SCRYPT_R, p=_SCRYPT_P).derive(secret)
    check = hmac.new(raw[32:], b"certadmin-password-check", hashlib.sha256).hexdigest()[:32]
    return raw[:32], check


def _header(org: str, version: int, n: int, salt: bytes, kcv: str, check: str) -> list[str]:
    return [
        EXPORT_MAGIC,
        f"org: {org}",
        f"version: {version}",
        f"kdf: scrypt n={n} r={_SCRYPT_R} p={_SCRYPT_P}",
        f"salt: {base64.b64encode(salt).decode()}",
        f"kcv: {kcv}",
        f"check: {check}",
    ]


def export_key(
    *,
    key: bytes,
    org_public_id: str,
    version: int,
    password: str,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> str:
    """Return a text file holding ``key`` wrapped under ``password`` (see module docstring).

    ``scrypt_n`` (a power of two, at most ``MAX_SCRYPT_N``) exists so tests can run fast;
    keep the default in production.
    """
    _aesgcm(key)
    _check_version(version)
    if org_public_id.splitlines() != [org_public_id] or org_public_id != org_public_id.strip():
        raise ValueError("org_public_id must be a non-empty single line without outer spaces")
    if not password:
        raise ValueError("password must not be empty")
    if not 2 <= scrypt_n <= MAX_SCRYPT_N or scrypt_n & (scrypt_n - 1):
        raise ValueError(f"scrypt_n must be a power of two between 2 and {MAX_SCRYPT_N}")
    salt = os.urandom(SALT_BYTES)
    wrap_key, check = _derive(password, salt, scrypt_n)
    header = _header(org_public_id, version, scrypt_n, salt, key_check_value(key), check)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(wrap_key).encrypt(nonce, key, "\n".join(header).encode())
    return "\n".join([*header, f"data: {base64.b64encode(nonce + sealed).decode()}"]) + "\n"


def _b64(value: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyImportError(DAMAGED) from None
    if len(raw) != size:
        raise KeyImportError(DAMAGED)
    return raw


def _parse_export(text: str) -> dict[str, str]:
    if not isinstance(text, str) or len(text) > MAX_EXPORT_CHARS:
        raise KeyImportError(NOT_AN_EXPORT)
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    if not lines or lines[0] != EXPORT_MAGIC:
        raise KeyImportError(NOT_AN_EXPORT)
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or name not in _EXPORT_FIELDS or name in fields:
            raise KeyImportError(DAMAGED)
        fields[name] = value.strip()
    if set(fields) != set(_EXPORT_FIELDS):
        raise KeyImportError(DAMAGED)
    return fields


def import_key(
    text: str,
    *,
    password: str,
    expected_org_public_id: str,
    expected_version: int,
    expected_kcv: str | None,
) -> bytes:
    """Unwrap the key in an ``export_key`` file and return it.

    Checks, in order: file format, org, version, key check value (when ``expected_kcv`` is
    given, e.g. the stored KCV of the destroyed key), password, integrity. Each failure raises
    ``KeyImportError`` with a message fit to show the admin.
    """
    fields = _parse_export(text)
    kdf = _KDF_RE.fullmatch(fields["kdf"])
    if (
        not _VERSION_RE.fullmatch(fields["version"])
        or not re.fullmatch(r"[0-9a-f]{8}", fields["kcv"])
        or not re.fullmatch(r"[0-9a-f]{32}", fields["check"])
        or kdf is None
    ):
        raise KeyImportError(DAMAGED)
    n, version = int(kdf.group(1)), int(fields["version"])
    if not 2 <= n <= MAX_SCRYPT_N or n & (n - 1):
        raise KeyImportError(DAMAGED)
    salt = _b64(fields["salt"], SALT_BYTES)
    blob = _b64(fields["data"], NONCE_BYTES + KEY_BYTES + TAG_BYTES)
    if fields["org"] != expected_org_public_id:
        raise KeyImportError(OTHER_ORG)
    if version != expected_version:
        raise KeyImportError(
            f"This file holds key version {version}, not version {expected_version}."
        )
    if expected_kcv is not None and fields["kcv"] != expected_kcv.strip().lower():
        raise KeyImportError(OTHER_KEY)
    wrap_key, check = _derive(password, salt, n)
    if not hmac.compare_digest(check, fields["check"]):
        raise KeyImportError(WRONG_PASSWORD)
    header = _header(fields["org"], version, n, salt, fields["kcv"], fields["check"])
    try:
        key = AESGCM(wrap_key).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], "\n".join(header).encode()
        )
    except InvalidTag:
        raise KeyImportError(ALTERED) from None
    if not hmac.compare_digest(key_check_value(key), fields["kcv"]):
        raise KeyImportError(ALTERED)
    return key
