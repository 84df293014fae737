"""What the keystore readers and writers share: limits, user-facing messages, the entries
they return, and the checks every imported key passes. Pure Python, no Django."""

from __future__ import annotations

import math
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from certadmin import ber
from certadmin.crypto.keypairs import spki

MIB = 1024 * 1024
#: Total key-derivation iterations a store may ask for (MAC, encrypted safes, every key). A
#: default Java PKCS#12 needs 10,000 per item and a JCEKS key 200,000 (about 0.25 s each in pyjks'
#: pure-Python KDF), so this admits ordinary stores and bounds the CPU one upload can burn.
MAX_KDF_ITERATIONS = 5_000_000
#: Not a key policy (that is the caller's) but a resource guard: validating an RSA key costs
#: about (bits / 2048) ** 3 * 40 ms, so a 16384-bit key would take some 20 s.
MAX_RSA_BITS = 8192
#: PBKDF2 rounds of the PKCS#12 files we write (Java reads up to 5,000,000), and the fewest a
#: file of many keys falls back to so that it stays under MAX_KDF_ITERATIONS (Java's default).
PKCS12_KDF_ROUNDS = 100_000
JAVA_KDF_ROUNDS = 10_000
#: Limits on a PKCS#12's structure, enforced while its layout is read (certadmin/ber.py), before
#: any key is decrypted. keytool, openssl, Windows and macOS write two or three SafeContents,
#: nest none, and give a bag two or three attributes. Reading costs ~1-3 us per element, so the
#: element budget (33,792 at the default 1000 entries) bounds it at about 0.1 s.
MAX_PKCS12_SAFES = 64
MAX_PKCS12_NESTING = 4
MAX_BAG_ATTRIBUTES = 16
MAX_BER_DEPTH = 32
#: Elements an entry may use (a keytool key bag with its two attributes uses 29), and a base.
BER_ELEMENTS_PER_ENTRY = 32
BER_ELEMENTS_BASE = 1024
#: Elements of one algorithm identifier's parameters (PBES2 uses 12) or one bag's key.
MAX_ALGORITHM_ELEMENTS = 64
#: Certificates in one key's chain, as for an uploaded certificate chain (certadmin.crypto).
MAX_CHAIN = 20

EMPTY = "The keystore file is empty."
TOO_LARGE = "The keystore file is larger than the {limit} limit."
NOT_A_KEYSTORE = "The file is not a JKS, JCEKS or PKCS#12 keystore, or it is damaged."
PEM_FILE = "The file is a PEM text file, not a JKS, JCEKS or PKCS#12 keystore."
DAMAGED = "The keystore file is damaged or truncated."
BAD_PASSWORD = "The keystore password is incorrect, or the file has been modified or damaged."
TOO_MANY_ENTRIES = "The keystore contains more than {limit} entries."
TOO_COSTLY = (
    "The keystore's password protection needs more than {limit:,} key-derivation iterations "
    "in total, which is more than this service will compute."
)
TOO_MANY_SAFES = (
    "The PKCS#12 file is split into more than {limit} SafeContents; keystore tools write two "
    "or three. It was not read."
)
TOO_DEEP = "The PKCS#12 file nests its contents more than {limit} levels deep. It was not read."
TOO_COMPLEX = (
    "The keystore is more complex than keystore tools write ({what}: more than {limit:,}). "
    "It was not read."
)
CHAIN_TOO_LONG = "The certificate chain of '{alias}' has more than {limit} certificates."
UNSUPPORTED_PKCS12 = "This PKCS#12 file is not password-protected in a supported way."
KEY_PASSWORD_DIFFERS = (
    "The Keystore contains a certificate '{alias}' whose per key password is not the same as "
    "the keystore password."
)
KEY_MISMATCH = "The private key does not match the certificate chain in the keystore."
NO_CHAIN = "The private key '{alias}' has no certificate chain in the keystore."
BAD_KEY = "The private key '{alias}' is invalid or of an unsupported type."
# SPEC 3's text, for keys that are neither RSA nor elliptic-curve (DSA, Ed25519, ...).
NOT_RSA = "The key is not an RSA key. ('{alias}' holds another kind of key.)"
RSA_TOO_LARGE = "The private key '{alias}' is an RSA key larger than {limit} bits."
BAD_CERT = "The certificate chain of '{alias}' contains an invalid or unsupported certificate."
NO_ENTRIES = "There is no key to write to the keystore."

_TRUSTED = "trusted certificate"
_SECRET = "secret key"
_TRUSTED_REASON = "A trusted certificate entry has no private key; it was not imported."
_SECRET_REASON = "A secret (symmetric) key cannot be used with certificates; it was not imported."
_JKS_MAGIC = bytes.fromhex("FEEDFEED")
_JCEKS_MAGIC = bytes.fromhex("CECECECE")


class KeystoreError(ValueError):
    """A keystore cannot be read or written; ``str(error)`` is safe to show to the user."""


@dataclass(frozen=True)
class KeyEntry:
    """A private key to export: PKCS#8 DER key and DER certificate chain, leaf first."""

    alias: str
    key_pkcs8_der: bytes
    chain_der: list[bytes]


@dataclass
class ImportedKey:
    """A private key read from a keystore, validated against its chain (leaf first)."""

    alias: str
    private_key: PrivateKeyTypes
    chain: list[x509.Certificate]


@dataclass
class SkippedEntry:
    """A keystore entry that was not imported: kind is "trusted certificate" or "secret key"."""

    alias: str
    kind: str
    reason: str


@dataclass
class KeystoreContents:
    """What :func:`read_keystore` found; store_type is "JKS", "JCEKS" or "PKCS#12"."""

    keys: list[ImportedKey]
    skipped: list[SkippedEntry]
    store_type: str


def _size(count: int) -> str:
    if count % MIB == 0:
        return f"{count // MIB} MiB"
    return f"{count // 1024} KiB" if count % 1024 == 0 else f"{count} bytes"


def _parse_key(alias: str, der: bytes, password: bytes | None) -> PrivateKeyTypes | None:
    """Load PKCS#8 (encrypted if password is given) without the costly RSA checks, after
    bounding the RSA size; None if it does not decrypt or parse."""
    try:
        key = serialization.load_der_private_key(der, password, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size > MAX_RSA_BITS:
        raise KeystoreError(RSA_TOO_LARGE.format(alias=alias, limit=MAX_RSA_BITS))
    return key


def _validated(alias: str, key: PrivateKeyTypes | None) -> PrivateKeyTypes:
    """Check a key from _parse_key before it is trusted.

    RSA keys get the consistency checks of OpenSSL's RSA_check_key (n = p*q, the CRT
    exponents and coefficient agree with e, p and q) but not its primality tests, which cost
    ~40 ms per RSA-2048 key (20 s for a 500-key store). A key with composite factors that
    still satisfies these equations only weakens its owner's own key; one that does not is
    refused here instead of failing later at signing time.
    """
    if key is None:
        raise KeystoreError(BAD_KEY.format(alias=alias))
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeystoreError(NOT_RSA.format(alias=alias))
    if isinstance(key, rsa.RSAPrivateKey) and not _rsa_consistent(key):
        raise KeystoreError(BAD_KEY.format(alias=alias))
    return key


def _rsa_consistent(key: rsa.RSAPrivateKey) -> bool:
    numbers = key.private_numbers()
    p, q, e, n = numbers.p, numbers.q, numbers.public_numbers.e, numbers.public_numbers.n
    return (
        p > 1
        and q > 1
        and p * q == n
        and (e * numbers.dmp1) % (p - 1) == 1
        and (e * numbers.dmq1) % (q - 1) == 1
        and (numbers.iqmp * q) % p == 1
        and (e * numbers.d) % ((p - 1) * (q - 1) // math.gcd(p - 1, q - 1)) == 1
    )


def _checked(alias: str, key: PrivateKeyTypes, chain_der: list[bytes]) -> ImportedKey:
    if not chain_der:
        raise KeystoreError(NO_CHAIN.format(alias=alias))
    try:
        chain = [x509.load_der_x509_certificate(der) for der in chain_der]
        matches = spki(chain[0].public_key()) == spki(key.public_key())
    except Exception as exc:
        raise KeystoreError(BAD_CERT.format(alias=alias)) from exc
    if not matches:
        raise KeystoreError(KEY_MISMATCH)
    return ImportedKey(alias, key, chain)


_LIMIT_NAMES = {
    "elements": "ASN.1 elements",
    "attributes": "attributes of one entry",
    "parameter elements": "elements of one encryption algorithm's parameters",
}


def _limit_message(exc: ber.BerLimitError, max_entries: int) -> str:
    if exc.what == "safes":
        return TOO_MANY_SAFES.format(limit=exc.limit)
    if exc.what == "entries":
        return TOO_MANY_ENTRIES.format(limit=max_entries)
    if exc.what in ("depth", "nesting"):
        return TOO_DEEP.format(limit=exc.limit)
    if exc.what in _LIMIT_NAMES:
        return TOO_COMPLEX.format(what=_LIMIT_NAMES[exc.what], limit=exc.limit)
    return NOT_A_KEYSTORE  # a structure with more fields than its type has: malformed


def _pbe_iterations(walk: ber.Walker, algorithm: ber.Element) -> int:
    """Iteration count of a PBE AlgorithmIdentifier (PKCS#12 PBE, PBES2, Sun's JCE PBE).

    Every INTEGER in these parameters is an iteration count or a small key length, so the
    largest one is taken; an algorithm without parameters (JKS, NULL) yields 0.
    """
    _oid_element, *parameters = walk.children(algorithm, limit=2, what="fields")
    return _max_integer(walk, parameters[0]) if parameters else 0


def _max_integer(walk: ber.Walker, element: ber.Element) -> int:
    """The largest INTEGER in `element` and its constructed descendants (at most 64 elements)."""
    largest, seen, pending = 0, 0, [element]
    while pending:
        current = pending.pop()
        seen += 1
        if seen > MAX_ALGORITHM_ELEMENTS:
            raise ber.BerLimitError("parameter elements", MAX_ALGORITHM_ELEMENTS)
        if current.tag == ber.INTEGER:
            largest = max(largest, int.from_bytes(current.content, "big", signed=True))
        elif current.constructed:
            pending.extend(walk.iter_children(current))
    return largest
