"""Read and write Java keystores (JKS, JCEKS) and PKCS#12 files (SPEC section 3).

Pure Python, no Django. Key stores are untrusted input: every parser error is turned into a
:class:`KeystoreError` carrying a user-facing message, and nothing in a store is dropped silently.

Cryptography is done only by pyjks (the Java formats) and ``cryptography`` (PKCS#12, keys,
certificates). ``cryptography``'s ``load_pkcs12`` returns only the first private key of a file,
so the key bags are located by reading the PKCS#12 layout with :mod:`certadmin.ber`, a walk
over element headers that stops at fixed limits (a crafted file cannot make it cost more than
a few tens of milliseconds), and decrypted one by one with ``cryptography``. pyasn1-modules
(a pyjks dependency) only names the OIDs.
"""

from __future__ import annotations

from certadmin.keystores.common import (
    _JCEKS_MAGIC,
    _JKS_MAGIC,
    _TRUSTED_REASON,
    BAD_CERT,
    BAD_KEY,
    BAD_PASSWORD,
    BER_ELEMENTS_BASE,
    BER_ELEMENTS_PER_ENTRY,
    CHAIN_TOO_LONG,
    DAMAGED,
    EMPTY,
    KEY_MISMATCH,
    KEY_PASSWORD_DIFFERS,
    MAX_ALGORITHM_ELEMENTS,
    MAX_BAG_ATTRIBUTES,
    MAX_BER_DEPTH,
    MAX_CHAIN,
    MAX_KDF_ITERATIONS,
    MAX_PKCS12_NESTING,
    MAX_PKCS12_SAFES,
    MAX_RSA_BITS,
    MIB,
    NO_CHAIN,
    NO_ENTRIES,
    NOT_A_KEYSTORE,
    NOT_RSA,
    PEM_FILE,
    PKCS12_KDF_ROUNDS,
    RSA_TOO_LARGE,
    TOO_COMPLEX,
    TOO_COSTLY,
    TOO_DEEP,
    TOO_LARGE,
    TOO_MANY_ENTRIES,
    TOO_MANY_SAFES,
    UNSUPPORTED_PKCS12,
    ImportedKey,
    KeyEntry,
    KeystoreContents,
    KeystoreError,
    SkippedEntry,
    _size,
)
from certadmin.keystores.java import _read_java, write_jks
from certadmin.keystores.pkcs12 import _read_pkcs12, pkcs12_rounds, write_pkcs12

__all__ = [
    "BAD_CERT",
    "BAD_KEY",
    "BAD_PASSWORD",
    "BER_ELEMENTS_BASE",
    "BER_ELEMENTS_PER_ENTRY",
    "CHAIN_TOO_LONG",
    "DAMAGED",
    "EMPTY",
    "KEY_MISMATCH",
    "KEY_PASSWORD_DIFFERS",
    "MAX_ALGORITHM_ELEMENTS",
    "MAX_BAG_ATTRIBUTES",
    "MAX_BER_DEPTH",
    "MAX_CHAIN",
    "MAX_KDF_ITERATIONS",
    "MAX_PKCS12_NESTING",
    "MAX_PKCS12_SAFES",
    "MAX_RSA_BITS",
    "MIB",
    "NOT_A_KEYSTORE",
    "NOT_RSA",
    "NO_CHAIN",
    "NO_ENTRIES",
    "PEM_FILE",
    "PKCS12_KDF_ROUNDS",
    "RSA_TOO_LARGE",
    "TOO_COMPLEX",
    "TOO_COSTLY",
    "TOO_DEEP",
    "TOO_LARGE",
    "TOO_MANY_ENTRIES",
    "TOO_MANY_SAFES",
    "UNSUPPORTED_PKCS12",
    "_TRUSTED_REASON",
    "ImportedKey",
    "KeyEntry",
    "KeystoreContents",
    "KeystoreError",
    "SkippedEntry",
    "pkcs12_rounds",
    "read_keystore",
    "write_jks",
    "write_pkcs12",
]


def read_keystore(
    data: bytes, password: str, *, max_bytes: int = MIB, max_entries: int = 1000
) -> KeystoreContents:
    """Read an uploaded JKS, JCEKS or PKCS#12 keystore; raise KeystoreError if unusable."""
    if len(data) > max_bytes:
        raise KeystoreError(TOO_LARGE.format(limit=_size(max_bytes)))
    if not data:
        raise KeystoreError(EMPTY)
    try:
        if data[:4] in (_JKS_MAGIC, _JCEKS_MAGIC):
            return _read_java(data, password, max_entries)
        return _read_pkcs12(data, password, max_entries)
    except KeystoreError:
        raise
    except Exception as exc:  # untrusted input: no raw parser error (or MemoryError) escapes
        raise KeystoreError(DAMAGED) from exc
