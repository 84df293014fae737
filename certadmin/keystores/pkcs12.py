"""PKCS#12 files: written with ``cryptography``; read by locating each key bag in the layout
(certadmin.ber, bounded) and decrypting it with ``cryptography``. Pure Python, no Django."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from jks import rfc7292 as jks_kdf
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import univ
from pyasn1_modules import rfc4055, rfc5652, rfc7292

from certadmin import ber
from certadmin.crypto.chains import issued_by
from certadmin.crypto.keypairs import spki
from certadmin.keystores.common import (
    _SECRET,
    _SECRET_REASON,
    _TRUSTED,
    _TRUSTED_REASON,
    BAD_PASSWORD,
    BER_ELEMENTS_BASE,
    BER_ELEMENTS_PER_ENTRY,
    CHAIN_TOO_LONG,
    JAVA_KDF_ROUNDS,
    KEY_MISMATCH,
    KEY_PASSWORD_DIFFERS,
    MAX_BAG_ATTRIBUTES,
    MAX_BER_DEPTH,
    MAX_CHAIN,
    MAX_KDF_ITERATIONS,
    MAX_PKCS12_NESTING,
    MAX_PKCS12_SAFES,
    NO_CHAIN,
    NO_ENTRIES,
    NOT_A_KEYSTORE,
    PEM_FILE,
    PKCS12_KDF_ROUNDS,
    TOO_COSTLY,
    TOO_MANY_ENTRIES,
    UNSUPPORTED_PKCS12,
    ImportedKey,
    KeyEntry,
    KeystoreContents,
    KeystoreError,
    SkippedEntry,
    _limit_message,
    _max_integer,
    _parse_key,
    _pbe_iterations,
    _validated,
)


def write_pkcs12(entries: Sequence[KeyEntry], password: str) -> bytes:
    """Return one PKCS#12 holding every entry: its key (PBES2 AES-256-CBC), its chain and the
    alias as friendly name, with an HMAC-SHA256 integrity MAC, as keytool and openssl write.

    ``cryptography`` (50) serialises one private key per PKCS#12, so the file is assembled from
    parts (docs/decisions.md, Keystores): ``cryptography`` encrypts each key into its
    shrouded key bag (``serialize_key_and_certificates`` with the key alone: no key ever leaves
    ``cryptography`` in clear); the bags, the certificate bags (certificates are public: one
    unencrypted SafeContents, as ``keytool`` with ``certProtectionAlgorithm=NONE`` and
    ``openssl pkcs12 -certpbe NONE`` write it) and the PFX are pyasn1-modules' RFC 7292
    structures encoded by pyasn1; the MAC key comes from the PKCS#12 key derivation of pyjks
    (``jks.rfc7292.derive_key``, RFC 7292 appendix B) and the HMAC from ``cryptography``.
    A key's ``localKeyId`` is the SHA-1 of its leaf certificate, as ``cryptography`` and
    OpenSSL write it, and pairs it with its leaf; intermediates shared by several keys are
    written once.
    """
    if not entries:
        raise KeystoreError(NO_ENTRIES)
    rounds = pkcs12_rounds(len(entries))
    secret = password.encode()
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(rounds)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(secret)
    )
    key_bags = rfc7292.SafeContents()
    cert_bags = rfc7292.SafeContents()
    written: set[bytes] = set()
    for entry in entries:
        if not entry.chain_der:
            raise KeystoreError(NO_CHAIN.format(alias=entry.alias))
        key = serialization.load_der_private_key(entry.key_pkcs8_der, password=None)
        leaf_der, *ca_ders = entry.chain_der
        local_id = _sha1(leaf_der)
        alone = pkcs12.serialize_key_and_certificates(
            entry.alias.encode(),
            key,  # type: ignore[arg-type]  # X25519/X448 keys are rejected by cryptography itself
            None,
            None,
            encryption,
        )
        key_bag = _only_bag(alone)
        key_bag["bagAttributes"].append(
            _attribute(rfc7292.pkcs_9_at_localKeyId, univ.OctetString(local_id))
        )
        key_bags.append(key_bag)
        cert_bags.append(_cert_bag(leaf_der, name=entry.alias, local_id=local_id))
        written.add(leaf_der)
        for der in ca_ders:
            if der not in written:
                written.add(der)
                cert_bags.append(_cert_bag(der))
    safes = rfc7292.AuthenticatedSafe()
    safes.append(_data(cert_bags))
    safes.append(_data(key_bags))
    return _pfx(encoder.encode(safes), password, rounds)


def pkcs12_rounds(keys: int) -> int:
    """PBKDF2 rounds per key (and for the MAC) of a PKCS#12 of `keys` keys.

    PKCS12_KDF_ROUNDS, unless the file would then ask more than MAX_KDF_ITERATIONS in all of
    whoever reads it (this product refuses more): then fewer, never under Java's default of
    10,000. So an export of up to 49 keys has 100,000 rounds each, and any export the product
    writes (at most CERTADMIN_KEYSTORE_MAX_ENTRIES keys, 1,000 by default) up to 499 keys can
    be imported back.
    """
    return max(JAVA_KDF_ROUNDS, min(PKCS12_KDF_ROUNDS, MAX_KDF_ITERATIONS // (keys + 1)))


def _sha1(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA1())  # an identifier (RFC 7292's localKeyId), not security
    digest.update(data)
    return digest.finalize()


def _only_bag(pfx_der: bytes) -> rfc7292.SafeBag:
    """The one bag of a PKCS#12 ``cryptography`` wrote with a key alone (no certificate)."""
    pfx, _ = der_decoder.decode(pfx_der, asn1Spec=rfc7292.PFX())
    (info,) = _auth_safe(pfx)
    octets, _ = der_decoder.decode(bytes(info["content"]), asn1Spec=univ.OctetString())
    (bag,) = der_decoder.decode(bytes(octets), asn1Spec=rfc7292.SafeContents())[0]
    return bag


def _auth_safe(pfx: rfc7292.PFX) -> rfc7292.AuthenticatedSafe:
    octets, _ = der_decoder.decode(bytes(pfx["authSafe"]["content"]), asn1Spec=univ.OctetString())
    safes, _ = der_decoder.decode(bytes(octets), asn1Spec=rfc7292.AuthenticatedSafe())
    return safes


def _attribute(kind: univ.ObjectIdentifier, value: object) -> rfc7292.PKCS12Attribute:
    attribute = rfc7292.PKCS12Attribute()
    attribute["attrType"] = kind
    attribute["attrValues"].append(encoder.encode(value))
    return attribute


def _cert_bag(der: bytes, *, name: str = "", local_id: bytes = b"") -> rfc7292.SafeBag:
    cert = rfc7292.CertBag()
    cert["certId"] = rfc7292.x509Certificate["certId"]
    cert["certValue"] = encoder.encode(univ.OctetString(der))
    bag = rfc7292.SafeBag()
    bag["bagId"] = rfc7292.id_certBag
    bag["bagValue"] = encoder.encode(cert)
    if name:
        bag["bagAttributes"].append(
            _attribute(rfc7292.pkcs_9_at_friendlyName, rfc7292.FriendlyName(name))
        )
    if local_id:
        bag["bagAttributes"].append(
            _attribute(rfc7292.pkcs_9_at_localKeyId, univ.OctetString(local_id))
        )
    return bag


def _data(contents: rfc7292.SafeContents) -> rfc5652.ContentInfo:
    """An unencrypted ContentInfo (id-data) holding `contents`."""
    info = rfc5652.ContentInfo()
    info["contentType"] = rfc5652.id_data
    info["content"] = encoder.encode(univ.OctetString(encoder.encode(contents)))
    return info


def _pfx(auth_safe: bytes, password: str, rounds: int) -> bytes:
    """The PFX around an encoded AuthenticatedSafe, with its HMAC-SHA256 MacData."""
    salt = secrets.token_bytes(16)
    pfx = rfc7292.PFX()
    pfx["version"] = 3
    pfx["authSafe"]["contentType"] = rfc5652.id_data
    pfx["authSafe"]["content"] = encoder.encode(univ.OctetString(auth_safe))
    pfx["macData"]["mac"]["digestAlgorithm"]["algorithm"] = rfc4055.id_sha256
    pfx["macData"]["mac"]["digestAlgorithm"]["parameters"] = encoder.encode(univ.Null(""))
    pfx["macData"]["mac"]["digest"] = mac_sha256(auth_safe, password, salt, rounds)
    pfx["macData"]["macSalt"] = salt
    pfx["macData"]["iterations"] = rounds
    return bytes(encoder.encode(pfx))


def mac_sha256(auth_safe: bytes, password: str, salt: bytes, rounds: int) -> bytes:
    """PKCS#12's HMAC-SHA256 of the AuthenticatedSafe: the key from the PKCS#12 key derivation
    (pyjks, RFC 7292 appendix B, purpose 3 = MAC), the HMAC from ``cryptography``."""
    key = jks_kdf.derive_key(
        hashlib.sha256, jks_kdf.PURPOSE_MAC_MATERIAL, password, salt, rounds, 32
    )
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(auth_safe)
    return mac.finalize()


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
    if p12.key is not None and all(
        spki(p12.key.public_key()) != spki(key.public_key()) for _, key in valid
    ):
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
    key_spki, name = spki(key.public_key()), alias.encode()
    order = sorted(range(len(certs)), key=lambda i: i in used)  # stable: then file order
    named_first = sorted(order, key=lambda i: certs[i].friendly_name != name)
    leaf = next(
        (i for i in named_first if spki(certs[i].certificate.public_key()) == key_spki), None
    )
    if leaf is None:
        named = any(c.friendly_name == name for c in certs)
        raise KeystoreError(KEY_MISMATCH if named else NO_CHAIN.format(alias=alias))
    chain = [leaf]
    while len(chain) < len(certs):
        current = certs[chain[-1]].certificate
        if current.issuer == current.subject:
            break
        issuer = next(
            (i for i in order if i not in chain and issued_by(current, certs[i].certificate)),
            None,
        )
        if issuer is None:
            break
        chain.append(issuer)
        if len(chain) > MAX_CHAIN:
            raise KeystoreError(CHAIN_TOO_LONG.format(alias=alias, limit=MAX_CHAIN))
    used.update(chain)
    return ImportedKey(alias, key, [certs[i].certificate for i in chain])


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
