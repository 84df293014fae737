"""Java keystores: JKS written and read, JCEKS read (pyjks). Pure Python, no Django."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import cast

import jks

from certadmin import ber
from certadmin.keystores.common import (
    _JKS_MAGIC,
    _SECRET,
    _SECRET_REASON,
    _TRUSTED,
    _TRUSTED_REASON,
    BAD_PASSWORD,
    CHAIN_TOO_LONG,
    DAMAGED,
    KEY_PASSWORD_DIFFERS,
    MAX_ALGORITHM_ELEMENTS,
    MAX_BER_DEPTH,
    MAX_CHAIN,
    MAX_KDF_ITERATIONS,
    NO_CHAIN,
    TOO_COSTLY,
    TOO_MANY_ENTRIES,
    KeyEntry,
    KeystoreContents,
    KeystoreError,
    SkippedEntry,
    _checked,
    _limit_message,
    _parse_key,
    _pbe_iterations,
    _validated,
)


def write_jks(entries: Sequence[KeyEntry], password: str) -> bytes:
    """Return a JKS holding one PrivateKeyEntry per entry (alias lowercased, key password =
    store password, full chain)."""
    now = int(time.time()) * 1000
    jks_entries = []
    for entry in entries:
        if not entry.chain_der:
            raise KeystoreError(NO_CHAIN.format(alias=entry.alias))
        # Built directly rather than with PrivateKeyEntry.new(), which re-parses the PKCS#8 with
        # pyasn1 only to fill attributes that encrypt() does not use (3x slower).
        jks_entry = jks.PrivateKeyEntry(
            alias=entry.alias.lower(),
            timestamp=now,
            cert_chain=[("X.509", der) for der in entry.chain_der],
            pkey_pkcs8=entry.key_pkcs8_der,
            store_type="jks",
        )
        jks_entry.encrypt(password)
        jks_entries.append(jks_entry)
    try:
        # pyjks ships no types; KeyStore.saves() returns the serialized store as bytes.
        return cast(bytes, jks.KeyStore.new("jks", jks_entries).saves(password))
    except jks.DuplicateAliasException as exc:
        raise KeystoreError("Two keys have the same alias (aliases ignore case in JKS).") from exc


def _read_java(data: bytes, password: str, max_entries: int) -> KeystoreContents:
    store_type = "JKS" if data[:4] == _JKS_MAGIC else "JCEKS"
    if len(data) < 12:
        raise KeystoreError(DAMAGED)
    if int.from_bytes(data[8:12], "big") > max_entries:
        raise KeystoreError(TOO_MANY_ENTRIES.format(limit=max_entries))
    try:
        # Keys are decrypted below, after their KDF cost has been checked.
        store = jks.KeyStore.loads(data, password, try_decrypt_keys=False)
    except jks.KeystoreSignatureException as exc:
        # The store hash mixes password and content: a wrong password and a modified file look
        # the same. (A key decrypting with the password proves nothing: it may have its own.)
        raise KeystoreError(BAD_PASSWORD) from exc
    except jks.KeystoreException as exc:
        raise KeystoreError(DAMAGED) from exc
    # Only JCEKS keys carry an iteration count; JKS's fixed keystream costs what the
    # (size-capped) file holds, so decoding every JKS key header here would be wasted work.
    if store_type == "JCEKS" and (
        sum(_key_iterations(entry) for entry in store.private_keys.values()) > MAX_KDF_ITERATIONS
    ):
        raise KeystoreError(TOO_COSTLY.format(limit=MAX_KDF_ITERATIONS))
    keys, skipped = [], []
    for alias, entry in store.entries.items():
        if isinstance(entry, jks.PrivateKeyEntry):
            if len(entry.cert_chain) > MAX_CHAIN:
                raise KeystoreError(CHAIN_TOO_LONG.format(alias=alias, limit=MAX_CHAIN))
            try:
                entry.decrypt(password)
            except jks.DecryptionFailureException as exc:
                raise KeystoreError(KEY_PASSWORD_DIFFERS.format(alias=alias)) from exc
            key = _validated(alias, _parse_key(alias, entry.pkey_pkcs8, None))
            keys.append(_checked(alias, key, [der for _type, der in entry.cert_chain]))
        elif isinstance(entry, jks.TrustedCertEntry):
            skipped.append(SkippedEntry(alias, _TRUSTED, _TRUSTED_REASON))
        else:
            skipped.append(SkippedEntry(alias, _SECRET, _SECRET_REASON))
    return KeystoreContents(keys, skipped, store_type)


def _key_iterations(entry: jks.PrivateKeyEntry) -> int:
    """KDF cost of decrypting a still-encrypted pyjks entry (JCEKS keys carry a count)."""
    walk = ber.Walker(max_elements=4 * MAX_ALGORITHM_ELEMENTS, max_depth=MAX_BER_DEPTH)
    try:  # EncryptedPrivateKeyInfo: AlgorithmIdentifier, OCTET STRING
        info = walk.element(entry._encrypted)
        algorithm, _encrypted = walk.children(info, limit=2, what="fields")
        return _pbe_iterations(walk, algorithm)
    except ber.BerLimitError as exc:
        raise KeystoreError(_limit_message(exc, 0)) from exc
