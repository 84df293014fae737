"""Named Credentials: their writes, the requests made through them, and "Test connection".

A request through a credential presents its certificate and chain (mutual TLS), verifies the
server against the credential's trust, and is signed (RFC 9421) when the credential says so.
The TLS context, the HTTP client and the signing key are built once per (credential, its
version, its certificate) in this process and reused (`_prepared`): the sealed key is opened
once, not per request (bench/callout.py measures it).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import certifi
import httpx
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from http_message_signatures import HTTPMessageSigner

from certadmin import naming, outbound
from certadmin.crypto import display, parsing
from certadmin.held import Held
from certadmin.models import Certificate, NamedCredential
from certadmin.services.certificates import load_private_key
from orgs.models import Organization
from orgs.services.audit import record_audit

SECTION = "Named Credentials"
DEFAULT_TIMEOUT = 10.0
TEST_TIMEOUT = 10.0
# Prepared clients kept in this process (least recently used dropped first).
CACHE_SIZE = 256


@dataclass(frozen=True)
class CredentialSettings:
    """What the Named Credential form edits. `trust_pem=None` keeps the stored bundle."""

    label: str
    name: str
    url: str
    certificate: Certificate
    trust: str = NamedCredential.Trust.SYSTEM
    trust_pem: str | None = None
    sign_requests: bool = False


def selectable_certificates(
    org: Organization, *, now: datetime | None = None
) -> QuerySet[Certificate]:
    """What a credential may present: the org's certificates with a chain, not expired."""
    now = now or timezone.now()
    return (
        Certificate.objects.for_org(org)
        .usable()
        .filter(not_after__gt=now)
        .select_related("organization")
        .order_by("label", "unique_name")
    )


def parse_trust_bundle(data: bytes) -> str:
    """The CA certificates of an upload (PEM or DER) as PEM; ValidationError in words."""
    try:
        certs = parsing.parse_certificates(data, max_bytes=settings.CERTADMIN_UPLOAD_MAX_BYTES)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    return display.chain_pem(certs)


def name_problems(name: str) -> list[str]:
    """The Name's rules (those of a Unique Name), in words."""
    return [p.replace("The Unique Name", "The Name") for p in naming.unique_name_problems(name)]


def url_problems(url: str) -> list[str]:
    if not url.lower().startswith("https://"):
        return ["The URL must start with https:// (the certificate is presented over TLS)."]
    return []


def _check(credential: NamedCredential, data: CredentialSettings, *, now: datetime) -> None:
    org = credential.organization
    errors: dict[str, list[str]] = {}
    if not data.label.strip():
        errors["label"] = ["The Label is required."]
    problems = name_problems(data.name)
    if not problems:
        taken = (
            NamedCredential.objects.filter(organization=org)
            .alias(name_lower=Lower("name"))
            .filter(name_lower=data.name.lower())
            .exclude(pk=credential.pk)
        )
        if taken.exists():
            problems = [f"A named credential with the Name {data.name} already exists."]
    if problems:
        errors["name"] = problems
    if url_errors := url_problems(data.url):
        errors["url"] = url_errors
    certificate = data.certificate
    if certificate.pk != credential.certificate_id:
        if certificate.organization_id != org.pk:
            errors["certificate"] = ["The certificate must be one of this org's."]
        elif certificate.is_awaiting_signature:
            errors["certificate"] = [
                f"{certificate.unique_name} is awaiting its signed certificate; upload it first."
            ]
        elif certificate.is_expired(now):
            errors["certificate"] = [
                f"{certificate.unique_name} has expired; choose a current one."
            ]
    if data.trust not in NamedCredential.Trust.values:
        errors["trust"] = ["Choose how the server's certificate is verified."]
    trust_pem = data.trust_pem if data.trust_pem is not None else credential.trust_pem
    if data.trust == NamedCredential.Trust.UPLOADED and not trust_pem:
        errors["trust_bundle"] = ["Upload the CA certificates the server's certificate chains to."]
    if errors:
        raise ValidationError(errors)


def _apply(credential: NamedCredential, data: CredentialSettings) -> list[str]:
    changed = []
    for name, label in (
        ("label", "Label"),
        ("name", "Name"),
        ("url", "URL"),
        ("trust", "Server Trust"),
        ("sign_requests", "Sign Requests"),
    ):
        value = getattr(data, name)
        if getattr(credential, name) != value:
            setattr(credential, name, value)
            changed.append(label)
    if credential.certificate_id != data.certificate.pk:
        credential.certificate = data.certificate
        changed.append("Certificate")
    if data.trust_pem is not None and data.trust_pem != credential.trust_pem:
        credential.trust_pem = data.trust_pem
        changed.append("Trusted CA Certificates")
    return changed


def _save(credential: NamedCredential) -> None:
    try:
        with transaction.atomic():
            credential.save()
    except IntegrityError as exc:  # a concurrent save took the name between check and save
        raise ValidationError(
            {"name": ["A named credential with this Name already exists."]}
        ) from exc


@transaction.atomic
def create_named_credential(
    *,
    org: Organization,
    data: CredentialSettings,
    acting_user: User | None,
    now: datetime | None = None,
) -> NamedCredential:
    now = now or timezone.now()
    credential = NamedCredential(
        organization=org, created_at=now, modified_at=now, created_by=acting_user
    )
    credential.modified_by = acting_user
    _check(credential, data, now=now)
    _apply(credential, data)
    _save(credential)
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="createdNamedCredential",
        message=f"Created named credential {credential.name} ({credential.url}, certificate "
        f"{credential.certificate.unique_name}{', signed requests' if data.sign_requests else ''})",
    )
    return credential


@transaction.atomic
def update_named_credential(
    *,
    credential: NamedCredential,
    data: CredentialSettings,
    acting_user: User | None,
    now: datetime | None = None,
) -> list[str]:
    now = now or timezone.now()
    _check(credential, data, now=now)
    changed = _apply(credential, data)
    if not changed:
        return []
    credential.modified_at, credential.modified_by = now, acting_user
    _save(credential)
    record_audit(
        org=credential.organization,
        acting_user=acting_user,
        section=SECTION,
        action="changedNamedCredential",
        message=f"Changed named credential {credential.name}: {', '.join(changed)}",
    )
    return changed


def users_of(credential: NamedCredential) -> list[str]:
    """What sends through `credential` (its reverse relations: the notification channels),
    as "<kind> <name>"; what refuses the delete (on_delete=PROTECT)."""
    found = []
    for relation in NamedCredential._meta.related_objects:
        accessor = relation.get_accessor_name()
        if relation.one_to_many and accessor:
            kind = str(relation.related_model._meta.verbose_name)
            found += [f"{kind} {obj}" for obj in getattr(credential, accessor).all()]
    return found


@transaction.atomic
def delete_named_credential(*, credential: NamedCredential, acting_user: User | None) -> None:
    users = users_of(credential)
    if users:
        raise ValidationError(
            f"{credential.name} is in use and cannot be deleted ({', '.join(users)}): point "
            "them elsewhere or delete them first."
        )
    name, org = credential.name, credential.organization
    credential.delete()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="deletedNamedCredential",
        message=f"Deleted named credential {name}",
    )


def trusted_cas(credential: NamedCredential) -> list[tuple[str, str, datetime]]:
    """The uploaded CA certificates of a credential: (subject, issuer, expiry) each."""
    if not credential.trust_pem:
        return []
    certs = parsing.parse_certificates(credential.trust_pem.encode())
    return [outbound.describe_certificate(c) for c in certs]


# --- requests through a credential ------------------------------------------------------------


@dataclass
class Prepared:
    """What a credential's requests reuse: the TLS context (holding the key), the HTTP client
    (its connection pool), the signer."""

    client: httpx.Client
    signer: HTTPMessageSigner | None
    key_id: str


# One client per credential and certificate version, per process (certadmin.held).
_held: Held[Prepared] = Held(CACHE_SIZE, close=lambda entry: entry.client.close())


def _cache_key(credential: NamedCredential) -> tuple[Any, ...]:
    # A saved change, a switched certificate (Renew/Replace) or a renewed chain make a new key.
    cert = credential.certificate
    return (credential.pk, credential.modified_at, cert.pk, cert.fingerprint_sha256)


def key_id(certificate: Certificate) -> str:
    """The `keyid` of the signatures: the SHA-256 fingerprint of the certificate the receiver
    downloads from certadmin (so it finds the right one across renewals)."""
    return f"sha256:{certificate.fingerprint_sha256}"


def _prepare(credential: NamedCredential, handshake: outbound.Handshake | None = None) -> Prepared:
    """A client for `credential`: its certificate's sealed key is opened here, once, and held
    by the TLS context and the signer."""
    cert = credential.certificate
    key = load_private_key(cert)
    context = outbound.client_context(
        key,
        parsing.parse_certificates(cert.chain_pem.encode()),
        trust=credential.trust,
        trust_pem=credential.trust_pem,
        certifi_path=certifi.where(),
    )
    if handshake is not None:
        handshake.attach(context)
    signer = outbound.signer_for(key) if credential.sign_requests else None
    client = httpx.Client(verify=context, timeout=DEFAULT_TIMEOUT, follow_redirects=False)
    return Prepared(client=client, signer=signer, key_id=key_id(cert))


def prepared(credential: NamedCredential) -> Prepared:
    """The reusable client of `credential`, built on first use in this process."""
    return _held.get(_cache_key(credential), lambda: _prepare(credential))


def clear_cache() -> None:
    _held.clear()


def _send(
    entry: Prepared,
    method: str,
    url: str,
    *,
    content: bytes | None,
    headers: dict[str, str] | None,
    timeout: float,
) -> httpx.Response:
    request = entry.client.build_request(
        method, url, content=content, headers=headers, timeout=timeout
    )
    if entry.signer is not None:
        outbound.sign_request(entry.signer, request, key_id=entry.key_id, body=content)
    return entry.client.send(request)


def send(
    credential: NamedCredential,
    method: str = "GET",
    url: str | None = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> httpx.Response:
    """One request through `credential` (to its URL, or `url`). Raises httpx errors."""
    return _send(
        prepared(credential),
        method,
        url or credential.url,
        content=content,
        headers=headers,
        timeout=timeout,
    )


# --- Test connection --------------------------------------------------------------------------


@dataclass
class ConnectionReport:
    """What "Test connection" found, for the page."""

    url: str
    ok: bool = False
    tls_version: str = ""
    server_chain: list[tuple[str, str, datetime]] = field(default_factory=list)
    certificate_requested: bool = False
    certificate_accepted: bool | None = None  # None: the server did not ask
    http_status: int | None = None
    http_reason: str = ""
    signed: bool = False
    failure: str = ""

    @property
    def client_certificate_text(self) -> str:
        if not self.certificate_requested:
            return "The server did not ask for a client certificate; ours was not sent."
        if self.certificate_accepted:
            return "The server asked for a client certificate and accepted ours."
        if self.certificate_accepted is False:
            return "The server asked for a client certificate and refused ours."
        return "The server asked for a client certificate; the connection failed before it said."


def _tls_cause(exc: BaseException) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and not isinstance(current, TimeoutError):
            return current
        current = current.__cause__ or current.__context__
    return None


def _failure(exc: Exception, handshake: outbound.Handshake, timeout: float) -> str:
    import ssl

    if isinstance(exc, httpx.TimeoutException):
        return f"Timed out: no answer within {timeout:g} seconds ({type(exc).__name__})."
    cause = _tls_cause(exc)
    if isinstance(cause, ssl.SSLError):
        return outbound.explain_tls_error(cause, handshake)
    if isinstance(cause, ConnectionRefusedError):
        return "Connection refused: nothing listens on that host and port."
    if handshake.alert_received:
        return (
            f"The server refused the handshake (TLS alert: {handshake.alert_received}): it did "
            "not accept our certificate, or requires one."
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError) and handshake.server_chain:
        return (
            "The server closed the connection during or right after the handshake: it did not "
            "accept our certificate, or requires one."
        )
    return f"The request failed: {cause or exc}."


def check_connection(
    credential: NamedCredential, *, timeout: float = TEST_TIMEOUT
) -> ConnectionReport:
    """One request to the credential's URL on a fresh connection, with what the handshake
    showed: TLS version, the server's chain, whether it asked for and accepted our
    certificate, the HTTP status, or the exact failure."""
    report = ConnectionReport(url=credential.url, signed=credential.sign_requests)
    handshake = outbound.Handshake()
    try:
        entry = _prepare(credential, handshake)
    except (ValueError, OSError) as exc:
        report.failure = f"The credential cannot be used: {exc}"
        return report
    try:
        with entry.client:
            try:
                request = entry.client.build_request("GET", credential.url, timeout=timeout)
                if entry.signer is not None:
                    outbound.sign_request(entry.signer, request, key_id=entry.key_id, body=None)
                response = entry.client.send(request, stream=True)
                try:
                    stream = response.extensions.get("network_stream")
                    ssl_object = stream.get_extra_info("ssl_object") if stream else None
                    report.tls_version = ssl_object.version() if ssl_object else ""
                    response.read()
                finally:
                    response.close()
                report.http_status = response.status_code
                report.http_reason = response.reason_phrase
                report.ok = True
            except httpx.HTTPError as exc:
                report.failure = _failure(exc, handshake, timeout)
    finally:
        report.server_chain = [outbound.describe_certificate(c) for c in handshake.server_chain]
        report.certificate_requested = handshake.certificate_requested
        if handshake.certificate_requested:
            report.certificate_accepted = True if report.ok else None
            if not report.ok and (
                handshake.alert_received
                or "refused the handshake" in report.failure
                or "closed the connection" in report.failure
            ):
                report.certificate_accepted = False
    return report
