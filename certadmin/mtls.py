"""The client certificate of a request, and whether it may stand for a user (SPEC 5).

Two ways a certificate reaches the app (docs/mtls.md):

- through the TLS proxy (nginx, `ssl_verify_client optional_no_ca`): it sets the listener
  marker header to "mtls" on the mutual-TLS listener and passes `$ssl_client_escaped_cert`.
  Those headers are believed only when the TCP peer is one of
  settings.CERTADMIN_MTLS_TRUSTED_PROXIES (and, if configured, the proxy also sent the shared
  secret); from anyone else they are removed before any view runs.
- from gunicorn's own TLS socket (settings.CERTADMIN_MTLS_DIRECT), where the peer
  certificate is read from environ["gunicorn.socket"].
"""

import hashlib
import hmac
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from urllib.parse import unquote

from cryptography import x509
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from certadmin.crypto import parsing
from certadmin.models import MutualAuthCertificate
from orgs import proxies
from orgs.models import Organization

MTLS_MARKER = "mtls"
_MAX_HEADER = 64 * 1024  # a client chain as nginx escapes it; larger is not a certificate


def meta_key(header: str) -> str:
    """The request.META key of an HTTP header name."""
    return "HTTP_" + header.upper().replace("-", "_")


def is_trusted_proxy(address: str) -> bool:
    """Is `address` (REMOTE_ADDR) one of the configured TLS proxies?"""
    return proxies.is_trusted(address, settings.CERTADMIN_MTLS_TRUSTED_PROXIES)


class ClientTls:
    """What the request says about TLS: was it the mutual-TLS listener, which certificate."""

    def __init__(self, *, over_mtls_listener: bool, certificate_source: str | bytes | None):
        self.over_mtls_listener = over_mtls_listener
        self._source = certificate_source  # escaped PEM (proxy) or DER (gunicorn socket)

    @cached_property
    def der(self) -> bytes | None:
        """The DER bytes of the certificate presented, or None (none, or not PEM)."""
        source = self._source
        if isinstance(source, bytes) or not source:
            return source or None
        # The proxy passes the client certificate first, then its chain.
        ders = parsing.certificate_ders(unquote(source).encode("utf-8", "replace"))
        return ders[0] if ders else None

    @cached_property
    def fingerprint(self) -> str | None:
        """SHA-256 of the DER, as stored in MutualAuthCertificate.fingerprint_sha256.

        The certificate is not parsed on the request path: a client that proved in the TLS
        handshake that it holds this certificate's key is identified by these bytes alone, and
        its dates are those of the registered row with the same fingerprint.
        """
        der = self.der
        return hashlib.sha256(der).hexdigest() if der else None

    @cached_property
    def certificate(self) -> x509.Certificate | None:
        """The certificate presented, parsed (None if absent or not a certificate)."""
        try:
            return x509.load_der_x509_certificate(self.der) if self.der else None
        except ValueError:
            return None


def read_client_tls(request: HttpRequest) -> ClientTls:
    """Read, and strip from request.META when untrusted, the client-certificate headers."""
    meta = request.META
    cert_key = meta_key(settings.CERTADMIN_MTLS_CERT_HEADER)
    marker_key = meta_key(settings.CERTADMIN_MTLS_LISTENER_HEADER)
    secret_key = meta_key(settings.CERTADMIN_MTLS_SECRET_HEADER)
    escaped = meta.pop(cert_key, "")
    marker = meta.pop(marker_key, "")
    secret = meta.pop(secret_key, "")

    sock = meta.get("gunicorn.socket")
    if settings.CERTADMIN_MTLS_DIRECT and isinstance(sock, ssl.SSLSocket):
        return ClientTls(over_mtls_listener=True, certificate_source=_peer_der(sock))

    if not _from_trusted_proxy(meta.get("REMOTE_ADDR", ""), secret):
        return ClientTls(over_mtls_listener=False, certificate_source=None)
    over = marker == MTLS_MARKER
    # Put back what a trusted proxy said, for code that reads headers (and for logs).
    if marker:
        meta[marker_key] = marker
    if escaped and len(escaped) <= _MAX_HEADER:
        meta[cert_key] = escaped
    else:
        escaped = ""
    return ClientTls(over_mtls_listener=over, certificate_source=escaped if over else None)


def _from_trusted_proxy(remote_addr: str, secret: str) -> bool:
    if not is_trusted_proxy(remote_addr):
        return False
    expected = settings.CERTADMIN_MTLS_PROXY_SECRET
    return not expected or hmac.compare_digest(secret.encode(), expected.encode())


def _peer_der(sock: ssl.SSLSocket) -> bytes | None:
    try:
        return sock.getpeercert(binary_form=True)
    except (ValueError, OSError):  # not connected or handshake not done
        return None


class ClientCertificateMiddleware:
    """Sets request.client_tls; removes client-sent copies of the proxy's headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Django's HttpRequest declares no such attribute; it is read only via client_tls().
        request.client_tls = read_client_tls(request)  # type: ignore[attr-defined]  # see above
        return self.get_response(request)


def client_tls(request: HttpRequest) -> ClientTls:
    """The request's ClientTls (set by the middleware, or read now)."""
    found = getattr(request, "client_tls", None)
    if found is None:
        found = read_client_tls(request)
        request.client_tls = found  # type: ignore[attr-defined]  # as the middleware does
    return found


# --- enforcement ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def reasons() -> dict[str, str]:
    """Refusal code -> the sentence the 401 answer carries."""
    url = settings.CERTADMIN_MTLS_URL
    return {
        "not_mtls_listener": "This user must authenticate with a client certificate: send the "
        f"request to the mutual-TLS listener ({url}) and present your org's mutual "
        "authentication certificate.",
        "no_client_certificate": "No client certificate was presented. Present one of your "
        "org's mutual authentication certificates (with its chain).",
        "unknown_certificate": "The client certificate presented is not registered as a "
        "mutual authentication certificate.",
        "certificate_of_another_org": "The client certificate presented is registered to "
        "another org, not to this one.",
        "certificate_expired": "The client certificate presented has expired.",
        "certificate_not_yet_valid": "The client certificate presented is not valid yet.",
    }


def refusal(code: str) -> Refusal:
    return Refusal(code, reasons()[code])


def check_mutual_auth(
    tls: ClientTls, *, org: Organization, now: datetime | None = None
) -> Refusal | None:
    """None when `tls` satisfies Enforce SSL/TLS Mutual Authentication for `org`, else why not.

    One indexed query (the fingerprint is unique across orgs).
    """
    if not tls.over_mtls_listener:
        return refusal("not_mtls_listener")
    if tls.fingerprint is None:
        return refusal("no_client_certificate")
    registered = MutualAuthCertificate.objects.validity_of(tls.fingerprint)
    if registered is None:
        return refusal("unknown_certificate")
    org_id, not_before, not_after = registered
    if org_id != org.pk:
        return refusal("certificate_of_another_org")
    now = now or timezone.now()
    if not_after <= now:
        return refusal("certificate_expired")
    if not_before > now:
        return refusal("certificate_not_yet_valid")
    return None
