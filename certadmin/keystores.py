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

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import jks
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import univ
from pyasn1_modules import rfc5652, rfc7292

from certadmin import ber

MIB = 1024 * 1024
#: Total key-derivation iterations a store may ask for (MAC, encrypted safes, every key). A
#: default Java PKCS#12 needs 10,000 per item and a JCEKS key 200,000 (about 0.25 s each in pyjks'
#: pure-Python KDF), so this admits ordinary stores and bounds the CPU one upload can burn.
MAX_KDF_ITERATIONS = 5_000_000
#: Not a key policy (that is the caller's) but a resource guard: validating an RSA key costs
#: about (bits / 2048) ** 3 * 40 ms, so a 16384-bit key would take some 20 s.
MAX_RSA_BITS = 8192
#: PBKDF2 rounds of the PKCS#12 files we write (Java reads up to 5,000,000).
PKCS12_KDF_ROUNDS = 100_000
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
ONE_KEY_PER_PKCS12 = (
    "A PKCS#12 export holds exactly one private key: export the keys one by one, or as JKS."
)

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
        return jks.KeyStore.new("jks", jks_entries).saves(password)
    except jks.DuplicateAliasException as exc:
        raise KeystoreError("Two keys have the same alias (aliases ignore case in JKS).") from exc


def write_pkcs12(entries: Sequence[KeyEntry], password: str) -> bytes:
    """Return a PKCS#12 (PBES2 AES-256-CBC, HMAC-SHA256) whose key bag is named by the alias.

    ``cryptography`` (50) serialises one private key per PKCS#12 and offers no way to add more
    key bags or to compute the PKCS#12 MAC over a merged file, so exactly one entry is required.
    """
    if len(entries) != 1:
        raise KeystoreError(ONE_KEY_PER_PKCS12)
    (entry,) = entries
    if not entry.chain_der:
        raise KeystoreError(NO_CHAIN.format(alias=entry.alias))
    key = serialization.load_der_private_key(entry.key_pkcs8_der, password=None)
    leaf, *cas = [x509.load_der_x509_certificate(der) for der in entry.chain_der]
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(PKCS12_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )
    return pkcs12.serialize_key_and_certificates(
        entry.alias.encode(),
        key,  # type: ignore[arg-type]  # X25519/X448 keys are rejected by cryptography itself
        leaf,
        cas or None,
        encryption,
    )


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


def _size(count: int) -> str:
    if count % MIB == 0:
        return f"{count // MIB} MiB"
    return f"{count // 1024} KiB" if count % 1024 == 0 else f"{count} bytes"


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
        matches = _spki(chain[0]) == _spki(key)
    except Exception as exc:
        raise KeystoreError(BAD_CERT.format(alias=alias)) from exc
    if not matches:
        raise KeystoreError(KEY_MISMATCH)
    return ImportedKey(alias, key, chain)


def _spki(holder: x509.Certificate | PrivateKeyTypes) -> bytes:
    return holder.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- PKCS#12 ------------------------------------------------------------------------------


@dataclass
class _Pkcs12Layout:
    """What can be seen of a PKCS#12 without its password."""

    key_bags: list[tuple[str, bytes, bool]] = field(default_factory=list)  # name, DER, shrouded
    secret_names: list[str] = field(default_factory=list)
    iterations: int = 0
    bags: int = 0  # of every kind, nested ones included


def _read_pkcs12(data: bytes, password: str, max_entries: int) -> KeystoreContents:
    if data.lstrip()[:5] == b"-----":
        raise KeystoreError(PEM_FILE)
    layout = _pkcs12_layout(data, max_entries)
    if layout.iterations > MAX_KDF_ITERATIONS:
        raise KeystoreError(TOO_COSTLY.format(limit=MAX_KDF_ITERATIONS))
    if len(layout.key_bags) + len(layout.secret_names) > max_entries:
        raise KeystoreError(TOO_MANY_ENTRIES.format(limit=max_entries))
    # Keys are decrypted (and their size bounded) before load_pkcs12, which fully validates the
    # first key itself; a key bag that does not decrypt is reported once the MAC has been checked.
    secret = password.encode()
    loaded: list[tuple[str, PrivateKeyTypes | None]] = []
    for number, (name, der, shrouded) in enumerate(layout.key_bags, 1):
        alias = name or str(number)
        loaded.append((alias, _parse_key(alias, der, secret if shrouded else None)))
    try:  # verifies the MAC and decrypts the certificates
        p12 = pkcs12.load_pkcs12(data, secret)
    except ValueError as exc:
        raise KeystoreError(BAD_PASSWORD) from exc
    for (alias, key), (_name, _der, shrouded) in zip(loaded, layout.key_bags, strict=True):
        if key is None and shrouded:  # the MAC (store password) is fine, this key is not
            raise KeystoreError(KEY_PASSWORD_DIFFERS.format(alias=alias))
    certs = ([p12.cert] if p12.cert else []) + p12.additional_certs
    if len(layout.key_bags) + len(layout.secret_names) + len(certs) > max_entries:
        raise KeystoreError(TOO_MANY_ENTRIES.format(limit=max_entries))
    valid = [(alias, _validated(alias, key)) for alias, key in loaded]
    if p12.key is not None and all(_spki(p12.key) != _spki(key) for _, key in valid):
        # A key inside an encrypted safe (not visible to the layout scan).
        alias = _cert_name(p12.cert) if p12.cert else str(len(valid) + 1)
        valid.append((alias, p12.key))

    used: set[int] = set()
    keys = [_pkcs12_key(alias, key, certs, used) for alias, key in valid]
    skipped = [
        SkippedEntry(_cert_name(cert), _TRUSTED, _TRUSTED_REASON)
        for index, cert in enumerate(certs)
        if index not in used
    ]
    skipped += [SkippedEntry(name, _SECRET, _SECRET_REASON) for name in layout.secret_names]
    return KeystoreContents(keys, skipped, "PKCS#12")


def _pkcs12_key(
    alias: str, key: PrivateKeyTypes, certs: list[pkcs12.PKCS12Certificate], used: set[int]
) -> ImportedKey:
    """Pair a key with its leaf (same public key) and rebuild the chain by issuer links."""
    spki, name = _spki(key), alias.encode()
    order = sorted(range(len(certs)), key=lambda i: i in used)  # stable: then file order
    named_first = sorted(order, key=lambda i: certs[i].friendly_name != name)
    leaf = next((i for i in named_first if _spki(certs[i].certificate) == spki), None)
    if leaf is None:
        named = any(c.friendly_name == name for c in certs)
        raise KeystoreError(KEY_MISMATCH if named else NO_CHAIN.format(alias=alias))
    chain = [leaf]
    while len(chain) < len(certs):
        current = certs[chain[-1]].certificate
        if current.issuer == current.subject:
            break
        issuer = next(
            (i for i in order if i not in chain and _issued_by(current, certs[i].certificate)),
            None,
        )
        if issuer is None:
            break
        chain.append(issuer)
        if len(chain) > MAX_CHAIN:
            raise KeystoreError(CHAIN_TOO_LONG.format(alias=alias, limit=MAX_CHAIN))
    used.update(chain)
    return ImportedKey(alias, key, [certs[i].certificate for i in chain])


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _cert_name(cert: pkcs12.PKCS12Certificate) -> str:
    if cert.friendly_name:
        return cert.friendly_name.decode("utf-8", "replace")
    return cert.certificate.subject.rfc4514_string()


def _oid(value: univ.ObjectIdentifier) -> bytes:
    """The contents octets of an OID, compared with an element's without decoding it."""
    return bytes(der_encoder.encode(value))[2:]  # the OIDs below are all shorter than 128


_ID_DATA = _oid(rfc5652.id_data)
_ID_ENCRYPTED_DATA = _oid(rfc5652.id_encryptedData)
_ID_KEY_BAG = _oid(rfc7292.id_keyBag)
_ID_SHROUDED_KEY_BAG = _oid(rfc7292.id_pkcs8ShroudedKeyBag)
_ID_SECRET_BAG = _oid(rfc7292.id_secretBag)
_ID_SAFE_CONTENTS_BAG = _oid(rfc7292.id_safeContentsBag)
_FRIENDLY_NAME = _oid(rfc7292.pkcs_9_at_friendlyName)
#: What a limit of certadmin.ber is called in TOO_COMPLEX; the others have messages of their own.
_LIMIT_NAMES = {
    "elements": "ASN.1 elements",
    "attributes": "attributes of one entry",
    "parameter elements": "elements of one encryption algorithm's parameters",
}


def _pkcs12_layout(data: bytes, max_entries: int) -> _Pkcs12Layout:
    """Find the key and secret bags of the unencrypted safes, and add up every KDF cost.

    Read with certadmin.ber, which reads headers only and stops at the limits (SafeContents,
    bags, nesting, attributes, elements in all): what a crafted file can make this cost is
    bounded. Encrypted safes are opaque here; ``load_pkcs12`` decrypts them after the MAC.
    """
    budget = BER_ELEMENTS_BASE + BER_ELEMENTS_PER_ENTRY * max_entries
    walk = ber.Walker(max_elements=budget, max_depth=MAX_BER_DEPTH)
    layout = _Pkcs12Layout()
    try:
        pfx = walk.element(data)
        _version, auth_safe, *mac = walk.children(pfx, limit=3, what="fields")
        content_type, *content = walk.children(auth_safe, limit=2, what="fields")
        if content_type.tag != ber.OID or not content:
            raise ber.BerError("not a ContentInfo")
        if content_type.content != _ID_DATA:
            raise KeystoreError(UNSUPPORTED_PKCS12)  # public-key integrity mode
        if mac:  # MacData: DigestInfo, salt, iterations (DEFAULT 1)
            *_, iterations = walk.children(mac[0], limit=3, what="fields")
            layout.iterations += (
                _max_integer(walk, iterations) if iterations.tag == ber.INTEGER else 1
            )
        safes = walk.iter_children(_encapsulated(walk, content[0]))
        for number, info in enumerate(safes, 1):
            if number > MAX_PKCS12_SAFES:
                raise ber.BerLimitError("safes", MAX_PKCS12_SAFES)
            info_type, *info_content = walk.children(info, limit=2, what="fields")
            if info_type.content == _ID_DATA and info_content:
                _scan_bags(walk, _encapsulated(walk, info_content[0]), layout, max_entries)
            elif info_type.content == _ID_ENCRYPTED_DATA and info_content:
                encrypted = walk.only_child(info_content[0])  # version, EncryptedContentInfo
                _version, encrypted_info, *_ = walk.children(encrypted, limit=3, what="fields")
                _type, algorithm, *_ = walk.children(encrypted_info, limit=3, what="fields")
                layout.iterations += _pbe_iterations(walk, algorithm)
            else:
                raise KeystoreError(UNSUPPORTED_PKCS12)  # public-key encrypted safe
    except ber.BerLimitError as exc:
        raise KeystoreError(_limit_message(exc, max_entries)) from exc
    except ber.BerError as exc:
        raise KeystoreError(NOT_A_KEYSTORE) from exc
    return layout


def _encapsulated(walk: ber.Walker, explicit: ber.Element) -> ber.Element:
    """The element inside the OCTET STRING inside an EXPLICIT [0] (a ContentInfo's content)."""
    return walk.element(walk.octets(walk.only_child(explicit)), depth=explicit.depth + 2)


def _scan_bags(
    walk: ber.Walker, safe_contents: ber.Element, layout: _Pkcs12Layout, max_entries: int,
    level: int = 1,
) -> None:  # fmt: skip
    """Record the bags of a SafeContents (and of those nested in it); count every bag."""
    if level > MAX_PKCS12_NESTING:
        raise ber.BerLimitError("nesting", MAX_PKCS12_NESTING)
    for bag in walk.iter_children(safe_contents):
        layout.bags += 1
        if layout.bags > max_entries:
            raise ber.BerLimitError("entries", max_entries)
        bag_id, explicit, *attributes = walk.children(bag, limit=3, what="fields")
        if bag_id.content == _ID_SHROUDED_KEY_BAG:
            value = walk.only_child(explicit)  # EncryptedPrivateKeyInfo
            algorithm, _encrypted = walk.children(value, limit=2, what="fields")
            layout.iterations += _pbe_iterations(walk, algorithm)
            layout.key_bags.append((_friendly_name(walk, attributes), value.encoded, True))
        elif bag_id.content == _ID_KEY_BAG:
            value = walk.only_child(explicit)
            layout.key_bags.append((_friendly_name(walk, attributes), value.encoded, False))
        elif bag_id.content == _ID_SECRET_BAG:
            layout.secret_names.append(_friendly_name(walk, attributes) or "(unnamed)")
        elif bag_id.content == _ID_SAFE_CONTENTS_BAG:
            _scan_bags(walk, walk.only_child(explicit), layout, max_entries, level + 1)


def _friendly_name(walk: ber.Walker, attribute_sets: list[ber.Element]) -> str:
    """The friendlyName (a BMPString) among a bag's attributes, or ""."""
    for attribute_set in attribute_sets:
        for attribute in walk.children(attribute_set, limit=MAX_BAG_ATTRIBUTES, what="attributes"):
            attribute_type, *values = walk.children(attribute, limit=2, what="fields")
            if attribute_type.content == _FRIENDLY_NAME and values:
                first = next(walk.iter_children(values[0]), None)
                if first is not None and first.tag == ber.BMP_STRING:
                    return first.content.decode("utf-16-be", "replace")
    return ""


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
