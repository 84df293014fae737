"""Reading certificates from uploaded bytes (PEM text or one DER certificate), with a
user-facing message for everything else a file may hold."""

from __future__ import annotations

import base64
import binascii
import contextlib
import re

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from certadmin import ber

MAX_BYTES = 1024 * 1024
MAX_CERTIFICATES = 20

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
