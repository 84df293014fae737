"""Envelope encryption of secret blobs under the key-encryption key (KEK), SPEC 8.

Every secret (a certificate's private key, an org's master key) is sealed with its own random
256-bit data key (AES-GCM); the data key is wrapped with the KEK (AES-GCM). The KEK lives
outside the database, so a copy of the database alone reveals nothing.

Blob layout (bytes):  b"\x01" | kek id (8) | nonce (12) | wrapped data key (48)
                      | nonce (12) | ciphertext + tag
The kek id is the first 8 bytes of SHA-256(KEK): it names which configured KEK wrapped the
data key, so several KEKs can be configured (the first encrypts, all decrypt) and
`manage.py rotate_kek` rewraps data keys without touching the ciphertext.
"""

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FORMAT_VERSION = b"\x01"
_KEY_BYTES = 32
_NONCE = 12
_WRAPPED = _KEY_BYTES + 16
_HEADER = 1 + 8 + _NONCE + _WRAPPED


class SealedDataError(Exception):
    """A blob that cannot be opened: damaged, or wrapped by a KEK that is not configured."""


@dataclass(frozen=True)
class Kek:
    key: bytes

    @property
    def kek_id(self) -> bytes:
        return hashlib.sha256(self.key).digest()[:8]


def _decode_key(text: str, origin: str) -> Kek:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"A KEK in {origin} is not valid base64.") from exc
    if len(raw) != _KEY_BYTES:
        raise ImproperlyConfigured(f"A KEK in {origin} must be 32 bytes, not {len(raw)}.")
    return Kek(raw)


def new_kek_text() -> str:
    """A new random KEK, base64 (the form CERTADMIN_KEKS and the KEK file hold)."""
    return base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode()


def write_key_file(path: Path, keys: list[str]) -> None:
    """Write `keys` (base64, first encrypts) to `path`, mode 0600, replacing it atomically.

    The file is written beside `path` and linked (new file) or renamed (existing file) into
    place, so a reader never sees half a file. When `path` does not exist yet and two processes
    race to create it, the first link wins and the other keeps the winner's key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(f"{key}\n" for key in keys))
    try:
        if path.exists():
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if another process won the race: keep theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def read_key_file(path: Path) -> list[str]:
    """The base64 keys of a KEK file, in order (empty lines skipped)."""
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


@lru_cache(maxsize=8)
def _load(keks: tuple[str, ...], kek_file: str, generate: bool) -> tuple[Kek, ...]:
    if keks:
        return tuple(_decode_key(text, "CERTADMIN_KEKS") for text in keks)
    path = Path(kek_file)
    if not path.exists():
        if not generate:
            raise ImproperlyConfigured(
                "No key-encryption key (KEK) is configured: CERTADMIN_KEKS is unset and the "
                f"KEK file {path} (CERTADMIN_KEK_FILE) does not exist."
            )
        write_key_file(path, [new_kek_text()])  # development mode only (settings.py)
    lines = read_key_file(path)
    if not lines:
        raise ImproperlyConfigured(f"The KEK file {path} (CERTADMIN_KEK_FILE) is empty.")
    return tuple(_decode_key(line, f"{path} (CERTADMIN_KEK_FILE)") for line in lines)


def configured_keks() -> tuple[Kek, ...]:
    """The configured KEKs, first one encrypts. Cached per process (configuration only)."""
    return _load(
        tuple(settings.CERTADMIN_KEKS),
        str(settings.CERTADMIN_KEK_FILE),
        bool(settings.CERTADMIN_KEK_GENERATE),
    )


def kek_problem() -> str | None:
    """Why no KEK can be used, or None. Generates nothing (the system check asks this)."""
    if (
        not settings.CERTADMIN_KEKS
        and settings.CERTADMIN_KEK_GENERATE
        and not Path(settings.CERTADMIN_KEK_FILE).exists()
    ):
        return None  # development mode: made on first use
    try:
        configured_keks()
    except ImproperlyConfigured as exc:
        return str(exc)
    except OSError as exc:
        return f"The KEK file {settings.CERTADMIN_KEK_FILE} cannot be read: {exc.strerror}."
    return None


def seal(plaintext: bytes, *, purpose: str) -> bytes:
    """Encrypt `plaintext` under a new data key wrapped by the primary KEK.

    `purpose` (e.g. "certadmin.Certificate.private_key") is bound as associated data, so a
    blob copied into another kind of field does not open.
    """
    kek = configured_keks()[0]
    data_key = AESGCM.generate_key(bit_length=256)
    wrap_nonce, data_nonce = os.urandom(_NONCE), os.urandom(_NONCE)
    wrapped = AESGCM(kek.key).encrypt(wrap_nonce, data_key, b"certadmin-kek|" + purpose.encode())
    body = AESGCM(data_key).encrypt(data_nonce, plaintext, purpose.encode())
    return FORMAT_VERSION + kek.kek_id + wrap_nonce + wrapped + data_nonce + body


def _unwrap(blob: bytes, purpose: str) -> bytes:
    if len(blob) < _HEADER + _NONCE + 16 or blob[:1] != FORMAT_VERSION:
        raise SealedDataError("Not a sealed blob.")
    kek_id = blob[1:9]
    kek = next((k for k in configured_keks() if k.kek_id == kek_id), None)
    if kek is None:
        raise SealedDataError("The key-encryption key that sealed this data is not configured.")
    wrap_nonce, wrapped = blob[9 : 9 + _NONCE], blob[9 + _NONCE : _HEADER]
    try:
        return AESGCM(kek.key).decrypt(wrap_nonce, wrapped, b"certadmin-kek|" + purpose.encode())
    except InvalidTag as exc:
        raise SealedDataError("The sealed data key is damaged.") from exc


def open_sealed(blob: bytes, *, purpose: str) -> bytes:
    """Decrypt a blob made by `seal` with the same `purpose`; raise SealedDataError."""
    blob = bytes(blob)
    data_key = _unwrap(blob, purpose)
    data_nonce, body = blob[_HEADER : _HEADER + _NONCE], blob[_HEADER + _NONCE :]
    try:
        return AESGCM(data_key).decrypt(data_nonce, body, purpose.encode())
    except InvalidTag as exc:
        raise SealedDataError("The sealed data is damaged.") from exc


def is_current(blob: bytes) -> bool:
    """Is the blob's data key wrapped by the primary KEK?"""
    return bytes(blob[1:9]) == configured_keks()[0].kek_id


def rewrap(blob: bytes, *, purpose: str) -> bytes:
    """The same ciphertext with its data key rewrapped under the primary KEK."""
    blob = bytes(blob)
    data_key = _unwrap(blob, purpose)
    kek = configured_keks()[0]
    wrap_nonce = os.urandom(_NONCE)
    wrapped = AESGCM(kek.key).encrypt(wrap_nonce, data_key, b"certadmin-kek|" + purpose.encode())
    return FORMAT_VERSION + kek.kek_id + wrap_nonce + wrapped + blob[_HEADER:]
