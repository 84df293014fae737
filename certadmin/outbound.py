"""Outbound HTTPS with an org's certificate (Named Credentials, issue 17). No Django here.

- `client_context` builds the TLS context that presents a certificate and its chain (mutual
  TLS) and verifies the server against a trust bundle.
- How the private key gets into OpenSSL without touching disk in clear: Python's `ssl` loads a
  client key only from a path (`SSLContext.load_cert_chain`), never from memory. The key is
  written, encrypted (PKCS#8 under a random one-time password), with its chain into an
  anonymous in-memory file (`os.memfd_create`: RAM only, no name in any filesystem, gone when
  closed), loaded through `/proc/self/fd/N` with the password, and the file is closed at once.
  So neither a disk nor even that memory file ever holds the key in clear. Linux only.
- `sign_request` signs a request as RFC 9421 HTTP Message Signatures with the
  `http-message-signatures` library (pyauth); `Handshake` records what the server sent during
  the handshake (through the `ssl` message callback) for "Test connection".
"""

import os
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import HTTPSignatureKeyResolver

from certadmin.crypto.keypairs import PrivateKey

# What each request's signature covers: RFC 9421's request target, and the body through
# Content-Digest (RFC 9530) whenever there is one.
COVERED = ("@method", "@authority", "@target-uri", "content-type")
SIGNATURE_LABEL = "certadmin"
# The signed application tag (RFC 9421 2.3), which a receiver may require.
SIGNATURE_TAG = "certadmin"


class TrustError(ValueError):
    """The trust bundle cannot be used (a user-facing message)."""


def load_client_certificate(
    context: ssl.SSLContext, key: PrivateKey, chain: Sequence[x509.Certificate]
) -> None:
    """Make `context` present `chain` (leaf first) with `key`, the key never in clear outside
    this process's memory (see the module docstring)."""
    password = secrets.token_bytes(32)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain) + encrypted
    fd = os.memfd_create("certadmin-client-credential", os.MFD_CLOEXEC)
    try:
        os.write(fd, pem)
        path = f"/proc/self/fd/{fd}"
        context.load_cert_chain(path, path, password=password)
    finally:
        os.close(fd)


def client_context(
    key: PrivateKey,
    chain: Sequence[x509.Certificate],
    *,
    trust: str,
    trust_pem: str = "",
    certifi_path: str = "",
) -> ssl.SSLContext:
    """A client TLS context: TLS 1.2+, the server verified (hostname and chain), our
    certificate presented. `trust` is "system", "certifi" (`certifi_path`) or "uploaded"
    (`trust_pem`, only those CAs)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if trust == "uploaded":
        if not trust_pem.strip():
            raise TrustError("Upload the CA certificates the server's certificate chains to.")
        context.load_verify_locations(cadata=trust_pem)
    elif trust == "certifi":
        context.load_verify_locations(cafile=certifi_path)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    load_client_certificate(context, key, chain)
    return context


# --- what the handshake showed ----------------------------------------------------------------

_HANDSHAKE = 22
_ALERT = 21
_CERTIFICATE = 11
_CERTIFICATE_REQUEST = 13
ALERTS = {
    40: "handshake failure",
    42: "bad certificate",
    43: "unsupported certificate",
    44: "certificate revoked",
    45: "certificate expired",
    46: "certificate unknown",
    48: "unknown CA",
    49: "access denied",
    116: "certificate required",
}


@dataclass
class Handshake:
    """Filled by the `ssl` message callback while one connection is made (`attach`)."""

    certificate_requested: bool = False
    server_chain: list[x509.Certificate] = field(default_factory=list)
    alert_received: str = ""

    def attach(self, context: ssl.SSLContext) -> None:
        # The message callback is CPython's debugging hook (a private attribute since 3.8): the
        # one way `ssl` shows a CertificateRequest and a chain that failed verification.
        setattr(context, "_msg_callback", self._callback)  # noqa: B010

    def _callback(
        self,
        conn: object,
        direction: str,
        version: object,
        content_type: int,
        msg_type: int,
        data: bytes,
    ) -> None:
        if direction != "read":
            return
        if content_type == _HANDSHAKE and msg_type == _CERTIFICATE_REQUEST:
            self.certificate_requested = True
        elif content_type == _HANDSHAKE and msg_type == _CERTIFICATE and not self.server_chain:
            self.server_chain = _certificates_of(data)
        elif content_type == _ALERT and len(data) >= 2 and data[0] == 2:  # fatal
            self.alert_received = ALERTS.get(data[1], f"alert {data[1]}")


def _certificates_of(message: bytes) -> list[x509.Certificate]:
    """The certificates of a TLS Certificate handshake message (RFC 8446 4.4.2 or RFC 5246
    7.4.2: the 1.3 form has a request context and extensions per entry)."""
    body = message[4:]
    for tls13 in (True, False):
        try:
            return _parse_certificate_list(body, tls13)
        except (ValueError, IndexError):
            continue
    return []


def _parse_certificate_list(body: bytes, tls13: bool) -> list[x509.Certificate]:
    pos = 0
    if tls13:
        pos = 1 + body[0]
    total = int.from_bytes(body[pos : pos + 3], "big")
    pos += 3
    if pos + total != len(body):
        raise ValueError("not this form")
    certs = []
    while pos < len(body):
        length = int.from_bytes(body[pos : pos + 3], "big")
        pos += 3
        certs.append(x509.load_der_x509_certificate(body[pos : pos + length]))
        pos += length
        if tls13:
            pos += 2 + int.from_bytes(body[pos : pos + 2], "big")
    if pos != len(body):
        raise ValueError("trailing bytes")
    return certs


def explain_tls_error(exc: ssl.SSLError, handshake: Handshake | None = None) -> str:
    """The exact failure, in words."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        if code == 10:
            return "The server's certificate has expired (certificate verify failed)."
        if code == 9:
            return "The server's certificate is not valid yet (certificate verify failed)."
        if code in (2, 18, 19, 20, 21):
            return (
                "The server's certificate was issued by an unknown CA: it does not chain to a CA "
                f"this credential trusts ({exc.verify_message})."
            )
        if code == 62:
            return f"The server's certificate is not for this host ({exc.verify_message})."
        return f"The server's certificate was refused: {exc.verify_message}."
    reason = (exc.reason or "").upper()
    alert = handshake.alert_received if handshake else ""
    if "ALERT" in reason or alert:
        what = alert or reason.split("ALERT_", 1)[-1].replace("_", " ").lower()
        return (
            f"The server refused the handshake (TLS alert: {what}): it did not accept our "
            "certificate, or requires one."
        )
    if "WRONG_VERSION_NUMBER" in reason or "RECORD_LAYER_FAILURE" in reason:
        return "The server does not speak TLS on this port."
    return f"The TLS handshake failed: {exc.reason or exc}."


def describe_certificate(cert: x509.Certificate) -> tuple[str, str, datetime]:
    """(subject, issuer, expiry) of a certificate, for the page."""
    return (cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.not_valid_after_utc)


# --- RFC 9421 signatures ----------------------------------------------------------------------


def signature_algorithm(key: PrivateKey) -> type[algorithms.HTTPSignatureAlgorithm]:
    """RSA-PSS SHA-512 for RSA keys, ECDSA with the curve's hash for EC keys (RFC 9421 3.3)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return algorithms.RSA_PSS_SHA512
    if isinstance(key.curve, ec.SECP384R1):
        return algorithms.ECDSA_P384_SHA384
    return algorithms.ECDSA_P256_SHA256


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key: PrivateKey) -> None:
        self.key = key

    def resolve_private_key(self, key_id: str) -> PrivateKey:
        return self.key

    def resolve_public_key(self, key_id: str) -> None:
        return None


def signer_for(key: PrivateKey) -> HTTPMessageSigner:
    """A signer holding `key` (built once per credential and certificate version)."""
    return HTTPMessageSigner(
        signature_algorithm=signature_algorithm(key), key_resolver=_OneKey(key)
    )


def sign_request(
    signer: HTTPMessageSigner, request: object, *, key_id: str, body: bytes | None
) -> None:
    """Add Signature-Input and Signature (and Content-Digest for a body) to `request` (an
    httpx or requests request: method, url, headers)."""
    headers = getattr(request, "headers")  # noqa: B009
    covered = [c for c in COVERED if not c[0].isalpha() or c in headers]
    signer.sign(
        request,
        key_id=key_id,
        label=SIGNATURE_LABEL,
        tag=SIGNATURE_TAG,
        covered_component_ids=covered,
        body=body or None,
    )
