"""Certificate and key helpers for certadmin (pure Python, no Django).

All cryptography is delegated to the ``cryptography`` package.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

from certadmin import ber

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

KEY_TYPES: tuple[str, ...] = ("RSA-2048", "RSA-3072", "RSA-4096", "EC-P256", "EC-P384")
_RSA_SIZES = {"RSA-2048": 2048, "RSA-3072": 3072, "RSA-4096": 4096}
_EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "EC-P256": ec.SECP256R1,
    "EC-P384": ec.SECP384R1,
}
_EC_LABELS = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

MAX_BYTES = 1024 * 1024
MAX_CERTIFICATES = 20

# Attributes rfc4514_string() would write as dotted OIDs, named as openssl names them (it
# already names CN, OU, O, L, ST, C, STREET, DC and UID).
_NAME_LABELS = {
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.TITLE: "title",
    NameOID.GIVEN_NAME: "GN",
    NameOID.SURNAME: "SN",
}

# The one PEM pattern: every reader of PEM text (uploads, the trust bundle, the client
# certificate a TLS proxy passes on) walks these markers.
_PEM_MARKER = re.compile(rb"-----(BEGIN|END) ([A-Z0-9 ]+)-----")
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE"}
_CSR_LABELS = {b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"}

MSG_EMPTY = "The file is empty."
MSG_NO_CERT = "No certificate was found in the file."
MSG_DAMAGED = "The file contains a damaged certificate block (PEM)."
MSG_PRIVATE_KEY = "This file holds a private key, not a certificate. Upload the certificate only."
MSG_CSR = (
    "This file holds a certificate signing request (CSR), not a certificate. "
    "Upload the certificate issued by your certificate authority."
)
MSG_KEYSTORE = (
    "This file is a {kind} keystore, not a certificate. To add the keys and certificates it "
    "holds, use Import from Keystore (Certificate and Key Management, Import from Keystore)."
)
MSG_CONCATENATED_DER = (
    "This file holds {count} DER certificates one after the other, and a DER file can hold "
    "only one. Upload them as PEM text (one BEGIN CERTIFICATE block each, in one file), or "
    "upload each DER certificate on its own."
)
_JAVA_KEYSTORES = {b"\xfe\xed\xfe\xed": "Java (JKS)", b"\xce\xce\xce\xce": "Java (JCEKS)"}
_SEQUENCE = 0x30


class CertificateParseError(ValueError):
    """Uploaded data could not be read as certificates; the message is user-facing."""


class ChainError(ValueError):
    """Certificates do not form a single valid chain from the leaf; message is user-facing."""


# --- keys -------------------------------------------------------------------------------------


def key_type_label(key_type: str) -> str:
    """Human label for a key type constant, e.g. "RSA 2048" or "ECDSA P-256"."""
    if key_type in _RSA_SIZES:
        return f"RSA {_RSA_SIZES[key_type]}"
    if key_type in _EC_CURVES:
        return f"ECDSA {_EC_LABELS[_EC_CURVES[key_type]().name]}"
    raise ValueError(f"Unknown key type: {key_type!r}")


def generate_private_key(key_type: str) -> PrivateKey:
    """Generate a new private key of one of ``KEY_TYPES``."""
    if key_type in _RSA_SIZES:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_SIZES[key_type])
    if key_type in _EC_CURVES:
        return ec.generate_private_key(_EC_CURVES[key_type]())
    raise ValueError(f"Unknown key type: {key_type!r}")


def private_key_to_der(key: PrivateKey) -> bytes:
    """Serialize a private key as unencrypted PKCS#8 DER (the caller encrypts it)."""
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key_der(der: bytes, *, trusted: bool = True) -> PrivateKey:
    """Load an unencrypted DER private key of a supported type.

    ``trusted`` keys (generated or validated by us before) skip the costly RSA consistency
    check; untrusted keys are fully validated. Raises ``ValueError`` on bad or unsupported keys.
    """
    try:
        key = serialization.load_der_private_key(
            der, password=None, unsafe_skip_rsa_key_validation=trusted
        )
    except (TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"Cannot load private key: {exc}") from exc
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)) and key_type_of(
        key.public_key()
    ):
        return key
    raise ValueError(f"Unsupported private key: {key_description(key.public_key())}.")


def validity_days(key_type: str) -> int:
    """Validity of a self-signed certificate: 730 days for RSA-4096, else 365."""
    if key_type not in KEY_TYPES:
        raise ValueError(f"Unknown key type: {key_type!r}")
    return 730 if key_type == "RSA-4096" else 365


def key_type_of(public_key: PublicKeyTypes) -> str | None:
    """Map a public key to its ``KEY_TYPES`` constant, or None if unsupported."""
    if isinstance(public_key, rsa.RSAPublicKey):
        key_type = f"RSA-{public_key.key_size}"
        return key_type if key_type in _RSA_SIZES else None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        for key_type, curve in _EC_CURVES.items():
            if isinstance(public_key.curve, curve):
                return key_type
    return None


def key_description(public_key: PublicKeyTypes) -> str:
    """Readable key description, e.g. "RSA 2048" or "ECDSA P-256"."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"RSA {public_key.key_size}"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"ECDSA {_EC_LABELS.get(public_key.curve.name, public_key.curve.name)}"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "Ed448"
    key_size = getattr(public_key, "key_size", None)
    name = type(public_key).__name__.removesuffix("PublicKey").lstrip("_")
    return f"{name} {key_size}" if key_size else name


def spki(public_key: PublicKeyTypes) -> bytes:
    """The SubjectPublicKeyInfo DER of a public key: equal for equal keys, whatever holds them."""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_key_matches_certificate(key: PrivateKey, cert: x509.Certificate) -> bool:
    """True if the certificate carries the public half of ``key``."""
    return spki(key.public_key()) == spki(cert.public_key())


# --- building ---------------------------------------------------------------------------------


def _name(pairs: list[tuple[x509.ObjectIdentifier, str]]) -> x509.Name:
    """Build a Name from (oid, value) pairs in DER order, skipping empty values."""
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs if value])


def build_self_signed(
    key: PrivateKey, *, common_name: str, org_unit: str, org_name: str, now: datetime
) -> x509.Certificate:
    """Self-signed end-entity certificate ``CN=<cn>, OU=<ou>, O=<org>`` valid from ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware.")
    key_type = key_type_of(key.public_key())
    if key_type is None:
        raise ValueError("Unsupported key type.")
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    name = _name(
        [
            (NameOID.ORGANIZATION_NAME, org_name),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, org_unit),
            (NameOID.COMMON_NAME, common_name),
        ]
    )
    key_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=is_rsa,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(secrets.randbelow(2**128 - 1) + 1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=validity_days(key_type)))
        .add_extension(key_usage, critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def build_csr(
    key: PrivateKey,
    *,
    common_name: str,
    email: str = "",
    company: str = "",
    department: str = "",
    city: str = "",
    state: str = "",
    country: str = "",
) -> x509.CertificateSigningRequest:
    """SHA-256 CSR whose subject holds only the non-empty fields (``country``: 2 letters)."""
    if country and (len(country) != 2 or not country.isascii() or not country.isalpha()):
        raise ValueError("The country code must be two letters, e.g. CH.")
    subject = _name(
        [
            (NameOID.COUNTRY_NAME, country.upper()),
            (NameOID.STATE_OR_PROVINCE_NAME, state),
            (NameOID.LOCALITY_NAME, city),
            (NameOID.ORGANIZATION_NAME, company),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, department),
            (NameOID.COMMON_NAME, common_name),
            (NameOID.EMAIL_ADDRESS, email),
        ]
    )
    return x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())


# --- parsing ----------------------------------------------------------------------------------


def _size_text(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def _pem_blocks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Return (label, DER) per PEM block; raise on unbalanced or undecodable blocks."""
    blocks: list[tuple[bytes, bytes]] = []
    open_label: bytes | None = None
    start = 0
    for match in _PEM_MARKER.finditer(data):
        kind, label = match.group(1), match.group(2)
        if kind == b"BEGIN" and open_label is None:
            open_label, start = label, match.end()
        elif kind == b"END" and open_label == label:
            body = b"".join(data[start : match.start()].split())
            try:
                blocks.append((label, base64.b64decode(body, validate=True)))
            except binascii.Error as exc:
                if label in _CERT_LABELS:
                    raise CertificateParseError(MSG_DAMAGED) from exc
                blocks.append((label, b""))
            open_label = None
        elif open_label in _CERT_LABELS or label in _CERT_LABELS:
            raise CertificateParseError(MSG_DAMAGED)
        else:
            open_label = label if kind == b"BEGIN" else None
    if open_label is not None:
        raise CertificateParseError(MSG_DAMAGED)
    return blocks


def _classify_der(data: bytes) -> x509.Certificate:
    """Load a single DER certificate or raise a helpful error about what it is instead."""
    if data[:4] in _JAVA_KEYSTORES:
        raise CertificateParseError(MSG_KEYSTORE.format(kind=_JAVA_KEYSTORES[data[:4]]))
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError:
        pass
    count = _concatenated_certificates(data)
    if count > 1:
        raise CertificateParseError(MSG_CONCATENATED_DER.format(count=count))
    if _is_pkcs12(data):
        raise CertificateParseError(MSG_KEYSTORE.format(kind="PKCS#12"))
    try:
        serialization.load_der_private_key(data, None, unsafe_skip_rsa_key_validation=True)
        is_key = True
    except TypeError:  # an encrypted key: password required
        is_key = True
    except (ValueError, UnsupportedAlgorithm):
        is_key = False
    if is_key:
        raise CertificateParseError(MSG_PRIVATE_KEY)
    try:
        x509.load_der_x509_csr(data)
    except ValueError:
        raise CertificateParseError(MSG_NO_CERT) from None
    raise CertificateParseError(MSG_CSR)


def _top_level(data: bytes, limit: int) -> list[ber.Element]:
    """The DER elements that follow each other in `data`, at most `limit` (headers only)."""
    walk = ber.Walker(max_elements=limit, max_depth=0)
    elements: list[ber.Element] = []
    with contextlib.suppress(ber.BerError, ber.BerLimitError):
        while len(elements) < limit and (not elements or elements[-1].after < len(data)):
            elements.append(walk.element(data, elements[-1].after if elements else 0))
    return elements


def _concatenated_certificates(data: bytes) -> int:
    """How many DER certificates `data` holds one after the other (0 unless all of it is)."""
    elements = _top_level(data, MAX_CERTIFICATES + 1)
    if len(elements) < 2 or elements[-1].after != len(data):
        return 0
    for element in elements:
        try:
            x509.load_der_x509_certificate(element.encoded)
        except ValueError:
            return 0
    return len(elements)


def _is_pkcs12(data: bytes) -> bool:
    """A PFX: SEQUENCE { INTEGER 3, ContentInfo SEQUENCE { OID, ... }, ... } (headers only)."""
    walk = ber.Walker(max_elements=16, max_depth=2)
    try:
        pfx = walk.element(data)
        if pfx.tag != _SEQUENCE:
            return False
        version, auth_safe, *_ = walk.children(pfx, limit=3, what="fields")
        content_type = next(walk.iter_children(auth_safe), None)
    except (ber.BerError, ber.BerLimitError, ValueError):
        return False
    return (
        version.tag == ber.INTEGER
        and version.content == b"\x03"
        and auth_safe.tag == _SEQUENCE
        and content_type is not None
        and content_type.tag == ber.OID
    )


def parse_certificates(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_certificates: int = MAX_CERTIFICATES
) -> list[x509.Certificate]:
    """Read certificates from PEM (any text around, LF or CRLF, several blocks) or one DER cert.

    Raises ``CertificateParseError`` with a user-facing message when nothing usable is found.
    """
    if len(data) > max_bytes:
        raise CertificateParseError(f"The file is larger than the {_size_text(max_bytes)} limit.")
    if not data.strip():
        raise CertificateParseError(MSG_EMPTY)
    if not _PEM_MARKER.search(data):
        return _usable([_classify_der(data)])
    if any(
        match.group(1) == b"BEGIN" and match.group(2).endswith(b"PRIVATE KEY")
        for match in _PEM_MARKER.finditer(data)
    ):
        raise CertificateParseError(MSG_PRIVATE_KEY)
    blocks = _pem_blocks(data)
    labels = {label for label, _ in blocks}
    certs: list[x509.Certificate] = []
    for label, der in blocks:
        if label not in _CERT_LABELS:
            continue
        if len(certs) >= max_certificates:
            raise CertificateParseError(
                f"The file contains more than {max_certificates} certificates."
            )
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            raise CertificateParseError(MSG_DAMAGED) from exc
    if not certs:
        raise CertificateParseError(MSG_CSR if labels & _CSR_LABELS else MSG_NO_CERT)
    return _usable(certs)


def certificate_ders(data: bytes) -> list[bytes]:
    """The DER of every well-formed certificate block of PEM text, skipping damaged blocks and
    everything else: for a trust bundle and for the client certificate a TLS proxy passes on.
    Uploads go through ``parse_certificates``, which refuses a damaged block instead."""
    ders: list[bytes] = []
    start: int | None = None
    for match in _PEM_MARKER.finditer(data):
        kind, label = match.group(1), match.group(2)
        if label not in _CERT_LABELS:
            start = None
        elif kind == b"BEGIN":
            start = match.end()
        elif start is not None:
            with contextlib.suppress(binascii.Error):
                body = b"".join(data[start : match.start()].split())
                ders.append(base64.b64decode(body, validate=True))
            start = None
    return ders


MSG_UNSUPPORTED = (
    "The file contains a certificate with a key type this service does not support, or with "
    "malformed or duplicated extensions."
)


def _usable(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """Certificates parse lazily: touch the key and extensions now, so a certificate with an
    unknown key algorithm or duplicated extensions is refused here with a message instead of
    raising later, wherever it is first used."""
    for cert in certs:
        try:
            cert.public_key()
            cert.extensions  # noqa: B018
        except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension) as exc:
            raise CertificateParseError(MSG_UNSUPPORTED) from exc
    return certs


# --- chains -----------------------------------------------------------------------------------


def find_leaf_for_key(
    certs: list[x509.Certificate], public_key: PublicKeyTypes
) -> x509.Certificate | None:
    """The first certificate whose public key equals ``public_key`` (compared as SPKI DER)."""
    wanted = spki(public_key)
    return next((cert for cert in certs if spki(cert.public_key()) == wanted), None)


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Does ``issuer``'s key verify ``cert``'s signature (and do the names chain)?"""
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def order_chain(leaf: x509.Certificate, certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """Return ``[leaf, issuer, issuer's issuer, ...]`` built from ``certs``.

    Duplicates are dropped and the root may be missing. Raises ``ChainError`` if a link's
    signature does not verify or if any certificate is not on the path from the leaf.
    """
    seen = {fingerprint_hex(leaf)}
    pool: list[x509.Certificate] = []
    for cert in certs:
        if fingerprint_hex(cert) not in seen:
            seen.add(fingerprint_hex(cert))
            pool.append(cert)
    chain = [leaf]
    current = leaf
    while pool and current.subject != current.issuer:
        candidates = [cert for cert in pool if cert.subject == current.issuer]
        if not candidates:
            break
        issuer = next((cert for cert in candidates if issued_by(current, cert)), None)
        if issuer is None:
            raise ChainError(
                f"The certificate '{name_to_string(current.subject)}' is not validly signed by "
                f"'{name_to_string(candidates[0].subject)}' (signature check failed)."
            )
        pool.remove(issuer)
        chain.append(issuer)
        current = issuer
    if pool:
        raise ChainError(
            f"The certificate '{name_to_string(pool[0].subject)}' is not part of the chain of "
            f"'{name_to_string(leaf.subject)}'."
        )
    return chain


def complete_chain(
    chain: list[x509.Certificate], stored: list[x509.Certificate]
) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """``chain`` (from ``order_chain``) continued with the certificates of ``stored`` (a chain
    held before, leaf first) that still sign its top, and the certificates added.

    For Update Signed Certificate: a CA's renewed leaf uploaded alone keeps the intermediates
    (and root) already on file, as long as each one verifies the signature of the one below.
    """
    added: list[x509.Certificate] = []
    seen = {fingerprint_hex(cert) for cert in chain}
    pool = [cert for cert in stored[1:] if fingerprint_hex(cert) not in seen]
    current = chain[-1]
    while current.subject != current.issuer:
        issuer = next((cert for cert in pool if issued_by(current, cert)), None)
        if issuer is None:
            break
        pool.remove(issuer)
        added.append(issuer)
        current = issuer
    return chain + added, added


# --- display ----------------------------------------------------------------------------------


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint as uppercase hex pairs joined by colons (AA:BB:...)."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def fingerprint_hex(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint as 64 lowercase hex characters (for database keys)."""
    return cert.fingerprint(hashes.SHA256()).hex()


def name_to_string(name: x509.Name) -> str:
    """Readable "CN=..., OU=..., O=..." (RFC 4514: CN first, special characters escaped) with
    UTF-8 left as is: cryptography's rfc4514_string() of each RDN, joined by ", " as openssl
    and browsers show names."""
    return ", ".join(rdn.rfc4514_string(_NAME_LABELS) for rdn in reversed(name.rdns))


def certificate_pem(cert: x509.Certificate) -> str:
    """PEM text of one certificate."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def chain_pem(certs: list[x509.Certificate]) -> str:
    """Concatenated PEM text of several certificates, in the given order."""
    return "".join(certificate_pem(cert) for cert in certs)


def csr_pem(csr: x509.CertificateSigningRequest) -> str:
    """PEM text of a certificate signing request."""
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class CertificateFacts:
    """Display facts about a certificate."""

    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    fingerprint: str
    is_self_issued: bool
    key_description: str


def describe(cert: x509.Certificate) -> CertificateFacts:
    """Collect the display facts of ``cert`` (dates are aware UTC datetimes)."""
    return CertificateFacts(
        subject=name_to_string(cert.subject),
        issuer=name_to_string(cert.issuer),
        serial=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint=fingerprint_sha256(cert),
        is_self_issued=cert.subject == cert.issuer,
        key_description=key_description(cert.public_key()),
    )
