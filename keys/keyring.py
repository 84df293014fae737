"""The master keys of one org, as the database says they are right now.

`Keyring.load(org_id)` reads the org's keys' versions, states and key check values in one
small query; that is what decides whether a key may be used, so a key destroyed by another
process stops decrypting at the next load (every request, save and job batch loads afresh).

Unwrapping a key (opening it under the KEK) is cached per process by (org id, version). That
cache holds no mutable state: the material of an org's key version never changes (a destroyed
key that is imported again is proven by its key check value to be the same key), and every
hit is checked against the key check value the database returned, so an entry can never
answer for a different key. The cache is never consulted for a key the database does not
call usable.
"""

from __future__ import annotations

import binascii
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps

from keys import crypto, envelope

if TYPE_CHECKING:
    from keys.models import MasterKey

_CACHE_SIZE = 4096
_material: OrderedDict[tuple[int, int], tuple[str, bytes]] = OrderedDict()
_material_lock = threading.Lock()


class KeyUnavailable(crypto.DecryptionError):
    """The token names a key this org does not have, or one that was destroyed."""

    def __init__(self, version: int, reason: str) -> None:
        self.version = version
        super().__init__(f"Master key {version} is {reason}.")


class NoActiveKey(Exception):
    """The org has no active master key yet (it is created with the first encrypted field)."""


@dataclass(frozen=True)
class KeyInfo:
    version: int
    state: str
    kcv: str

    @property
    def usable(self) -> bool:
        return self.state != "destroyed"


# The purpose a master key's material is sealed under: SealedBinaryField's purpose of
# MasterKey.material (a test holds the two together). A constant here, so that neither this
# module nor the services need the model to seal or open a key.
MATERIAL_PURPOSE = "keys.MasterKey.material"


def _master_key_model() -> type[MasterKey]:
    # Through the app registry: keys.models imports keys.fields, which imports this module.
    return apps.get_model("keys", "MasterKey")


def _remember(org_id: int, version: int, kcv: str, key: bytes) -> None:
    with _material_lock:
        _material[(org_id, version)] = (kcv, key)
        _material.move_to_end((org_id, version))
        while len(_material) > _CACHE_SIZE:
            _material.popitem(last=False)


def _recall(org_id: int, version: int, kcv: str) -> bytes | None:
    with _material_lock:
        entry = _material.get((org_id, version))
    if entry is None or entry[0] != kcv:
        return None
    return entry[1]


def forget(org_id: int, version: int) -> None:
    """Drop a key from this process's cache (done when it is destroyed here)."""
    with _material_lock:
        _material.pop((org_id, version), None)


def unwrap(sealed: bytes, *, kcv: str) -> bytes:
    """Open a master key's sealed material and check it against its key check value."""
    key = envelope.open_sealed(sealed, purpose=MATERIAL_PURPOSE)
    if crypto.key_check_value(key) != kcv:
        raise envelope.SealedDataError("The master key does not match its key check value.")
    return key


class Keyring:
    """An org's master keys: which one encrypts, which ones decrypt, and their material."""

    def __init__(self, org_id: int, keys: Mapping[int, KeyInfo]) -> None:
        self.org_id = org_id
        self.keys = dict(keys)

    @classmethod
    def load(cls, org_id: int) -> Keyring:
        """The org's keys as the database has them now (one query, no key material)."""
        rows = _master_key_model().objects.filter(organization_id=org_id).order_by()
        keys = {v: KeyInfo(v, s, k) for v, s, k in rows.values_list("version", "state", "kcv")}
        return cls(org_id, keys)

    @property
    def active_version(self) -> int | None:
        return next((v for v, info in self.keys.items() if info.state == "active"), None)

    def usable(self, version: int) -> bool:
        info = self.keys.get(version)
        return info is not None and info.usable

    def material(self, version: int) -> bytes:
        """The unwrapped key `version`; KeyUnavailable if it is unknown or destroyed."""
        info = self.keys.get(version)
        if info is None:
            raise KeyUnavailable(version, "not a key of this org")
        if not info.usable:
            raise KeyUnavailable(version, "destroyed")
        key = _recall(self.org_id, version, info.kcv)
        if key is None:
            sealed = (
                _master_key_model()
                .objects.filter(organization_id=self.org_id, version=version)
                .values_list("material", flat=True)
                .first()
            )
            if sealed is None:  # destroyed since load()
                raise KeyUnavailable(version, "destroyed")
            key = unwrap(bytes(sealed), kcv=info.kcv)
            _remember(self.org_id, version, info.kcv, key)
        return key

    def encrypt(self, plaintext: str, *, aad: bytes) -> str:
        """A token of `plaintext` under the active key."""
        version = self.active_version
        if version is None:
            raise NoActiveKey("This org has no active master key.")
        key = self.material(version)
        return crypto.encrypt_value(key, version, plaintext.encode(), aad=aad).decode("ascii")

    def decrypt(self, token: str, *, aad: bytes) -> str:
        """The plaintext of `token`. Raises KeyUnavailable (destroyed or unknown key) or
        crypto.DecryptionError (malformed or altered token); never returns the token."""
        raw = token.encode("ascii", "replace")
        try:
            version = crypto.version_of(raw)
        except crypto.MalformedCiphertext as exc:
            raise crypto.DecryptionError("The ciphertext is malformed.") from exc
        return crypto.decrypt_value(self.material(version), raw, aad=aad).decode()


_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_MIN_BLOB = crypto.NONCE_BYTES + crypto.TAG_BYTES
_B64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SIXBITS = [_B64URL.find(bytes([c])) for c in range(256)]  # value of each base64url character
# A payload of 4k+2 (4k+3) characters is canonical only if the low 4 (2) bits of its last
# character are zero; 4k+1 characters never decode.
_UNUSED_BITS = {0: 0, 2: 0b1111, 3: 0b11}


class TokenRotator:
    """Moves many tokens from one key to another, for the re-encryption job.

    It makes and accepts exactly the tokens of keys.crypto (tests compare the two on valid and
    on malformed, relabelled, non-canonical and altered tokens) but keeps one AES-GCM object
    per key and does the base64 work in C: the job's per-value cost is the AES-GCM work, not
    the bookkeeping around it.
    """

    def __init__(
        self, *, old_key: bytes, old_version: int, new_key: bytes, new_version: int, aad: bytes
    ) -> None:
        self._old, self._new = AESGCM(old_key), AESGCM(new_key)
        self._old_prefix, self._new_prefix = b"v%d:" % old_version, b"v%d:" % new_version
        self._old_aad, self._new_aad = self._old_prefix + aad, self._new_prefix + aad

    def rotate(self, token: str) -> str:
        """`token` (made by the old key) re-encrypted with the new key. Raises
        crypto.DecryptionError for anything crypto.decrypt_value would refuse."""
        rotated, _ = self.rotate_batch([(0, token)])
        if not rotated:
            raise crypto.DecryptionError("The ciphertext is malformed or does not verify.")
        return rotated[0][2]

    def rotate_batch(
        self, rows: list[tuple[int, str]]
    ) -> tuple[list[tuple[int, str, str]], list[int]]:
        """([(id, old token, new token)], [ids of tokens crypto.decrypt_value would refuse]).

        One loop with everything bound to locals: this is the job's inner loop.
        """
        old_decrypt, new_encrypt = self._old.decrypt, self._new.encrypt
        old_prefix, new_prefix = self._old_prefix, self._new_prefix
        old_aad, new_aad, skip = self._old_aad, self._new_aad, len(self._old_prefix)
        a2b, b2a, urandom = binascii.a2b_base64, binascii.b2a_base64, os.urandom
        sixbits, unused_bits = _SIXBITS, _UNUSED_BITS
        done: list[tuple[int, str, str]] = []
        failed: list[int] = []
        for pk, token in rows:
            try:
                raw = token.encode("ascii")
                if not raw.startswith(old_prefix):
                    raise ValueError
                payload = raw[skip:]
                # Strict decoding refuses everything outside the standard alphabet once '-'
                # and '_' are mapped; the standard alphabet's own '+', '/', '=' go first.
                if not payload or b"+" in payload or b"/" in payload or b"=" in payload:
                    raise ValueError
                rest = len(payload) % 4
                if sixbits[payload[-1]] & unused_bits.get(rest, 0):
                    raise ValueError  # non-canonical: crypto accepts one spelling only
                blob = a2b(payload.translate(_TO_STANDARD) + b"=" * (-rest % 4), strict_mode=True)
                if len(blob) < _MIN_BLOB:
                    raise ValueError
                plain = old_decrypt(blob[:12], blob[12:], old_aad)
            except (ValueError, InvalidTag):  # binascii.Error and UnicodeError are ValueErrors
                failed.append(pk)
                continue
            nonce = urandom(12)
            sealed = b2a(nonce + new_encrypt(nonce, plain, new_aad), newline=False)
            done.append(
                (pk, token, (new_prefix + sealed.translate(_TO_URLSAFE).rstrip(b"=")).decode())
            )
        return done, failed
