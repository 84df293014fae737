"""The org as SAML Identity Provider for other applications (issue 16): registered service
providers, SP-initiated requests (HTTP-Redirect and HTTP-POST, signatures checked when the
service provider has a certificate; Destination, IssueInstant and the request's id answered
once) and IdP-initiated logins; responses and assertions signed with the Identity Provider
certificate, assertions optionally encrypted to the SP's."""

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from lxml import etree

from certadmin import saml, saml_acs
from certadmin.crypto import display, parsing
from certadmin.models import IdpAnsweredRequest, ServiceProvider
from certadmin.services import certificates
from certadmin.services import sso as sso_services
from orgs.models import Membership, Organization
from orgs.services.audit import record_audit

SECTION = sso_services.SECTION_IDP
USER_FIELDS = ("username", "email", "first_name", "last_name", "federation_id")
# An AuthnRequest is answered at most this long after its IssueInstant (plus the clock skew,
# saml_acs.CLOCK_SKEW): time for the member to log in first, and soon stale once captured.
REQUEST_LIFETIME = timedelta(minutes=5)


class IdpRefused(Exception):
    """The request cannot be answered; the reason is shown to the user and audited."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ServiceProviderSettings:
    name: str
    entity_id: str
    acs_url: str
    certificate_pem: str | None  # None keeps the stored one; "" removes it
    name_id_format: str
    subject: str
    attribute_mapping: dict[str, str]
    encrypt_assertions: bool


@dataclass(frozen=True)
class Answer:
    """What the browser posts to the service provider (HTTP-POST binding)."""

    service_provider: ServiceProvider
    acs_url: str
    saml_response: str  # base64
    relay_state: str


@transaction.atomic
def save_service_provider(
    *,
    org: Organization,
    sp: ServiceProvider | None,
    data: ServiceProviderSettings,
    acting_user: User | None,
) -> ServiceProvider:
    """Create or change a registered service provider; ValidationError on bad input."""
    creating = sp is None
    sp = sp or ServiceProvider(organization=org)
    sp.name, sp.entity_id, sp.acs_url = data.name, data.entity_id, data.acs_url
    sp.name_id_format, sp.subject = data.name_id_format, data.subject
    sp.attribute_mapping, sp.encrypt_assertions = data.attribute_mapping, data.encrypt_assertions
    if data.certificate_pem is not None:
        if data.certificate_pem:
            cert = sso_services.parse_idp_certificate(data.certificate_pem.encode())
            sp.certificate_pem = display.certificate_pem(cert)
            sp.certificate_subject = display.name_to_string(cert.subject)
            sp.certificate_not_after = cert.not_valid_after_utc
        else:
            sp.certificate_pem, sp.certificate_subject, sp.certificate_not_after = "", "", None
    if sp.encrypt_assertions and not sp.certificate_pem:
        raise ValidationError(
            {"encrypt_assertions": ["Upload the service provider's certificate to encrypt to."]}
        )
    sp.modified_at = timezone.now()
    sp.full_clean()
    try:
        with transaction.atomic():
            sp.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"entity_id": ["A service provider with this Entity ID already exists."]}
        ) from exc
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="createdServiceProvider" if creating else "changedServiceProvider",
        message=f"{'Registered' if creating else 'Changed'} service provider {sp.name} "
        f"({sp.entity_id})",
    )
    return sp


@transaction.atomic
def delete_service_provider(*, sp: ServiceProvider, acting_user: User | None) -> None:
    org, name = sp.organization, sp.name
    sp.delete()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="deletedServiceProvider",
        message=f"Deleted service provider {name}",
    )


def _certificate(sp: ServiceProvider) -> x509.Certificate | None:
    return (
        parsing.parse_certificates(sp.certificate_pem.encode())[0] if sp.certificate_pem else None
    )


def _name_id(sp: ServiceProvider, membership: Membership) -> str:
    user = membership.user
    value = {
        ServiceProvider.Subject.USERNAME: user.username,
        ServiceProvider.Subject.EMAIL: user.email,
        ServiceProvider.Subject.FEDERATION_ID: membership.federation_id,
    }.get(ServiceProvider.Subject(sp.subject), "")
    if not value:
        raise IdpRefused(
            f"Your {sp.get_subject_display()} is empty, and {sp.name} needs it to know you. "
            "Ask your administrator to set it."
        )
    return value


def _attributes(sp: ServiceProvider, membership: Membership) -> dict[str, str]:
    user = membership.user
    values = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "federation_id": membership.federation_id,
    }
    return {name: values[field] for name, field in sp.attribute_mapping.items() if field in values}


def _answer(
    *,
    membership: Membership,
    sp: ServiceProvider,
    in_response_to: str | None,
    relay_state: str,
    now: datetime,
) -> Answer:
    org = membership.organization
    idp = sso_services.identity_provider_of(org)
    if not idp.enabled or idp.certificate is None:
        raise IdpRefused(f"The Identity Provider of {org.name} is not enabled.")
    key = certificates.load_private_key(idp.certificate)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise IdpRefused("The Identity Provider certificate has no RSA key.")
    encrypt_to = _certificate(sp) if sp.encrypt_assertions else None
    body = saml.idp_response(
        issuer=sso_services.idp_entity_id(org),
        acs_url=sp.acs_url,
        audience=sp.entity_id,
        in_response_to=in_response_to,
        name_id=_name_id(sp, membership),
        name_id_format=sp.name_id_format,
        attributes=_attributes(sp, membership),
        now=now,
        key=key,
        chain=parsing.parse_certificates(idp.certificate.chain_pem.encode()),
        encrypt_to=encrypt_to,
    )
    record_audit(
        org=org,
        acting_user=membership.user,
        section=SECTION,
        action="idpLogin",
        message=f"{membership.user.username} logged in to {sp.name} with the Identity Provider"
        f"{'' if in_response_to else ' (IdP-initiated)'}",
    )
    return Answer(
        service_provider=sp,
        acs_url=sp.acs_url,
        saml_response=base64.b64encode(body).decode("ascii"),
        relay_state=relay_state[:500],
    )


def _refuse(org: Organization, user: User | None, reason: str, sp: str = "") -> IdpRefused:
    record_audit(
        org=org,
        acting_user=user,
        section=SECTION,
        action="idpLoginRefused",
        message=f"Identity Provider refused a request{f' from {sp}' if sp else ''}: {reason}",
    )
    return IdpRefused(reason)


def answer_request(
    *,
    membership: Membership,
    saml_request: str,
    relay_state: str,
    binding: str,
    query_string: str = "",
    now: datetime | None = None,
) -> Answer:
    """Answer an AuthnRequest (HTTP-Redirect: `query_string` as received, for its signature;
    HTTP-POST: base64 XML with an enveloped signature)."""
    org, user = membership.organization, membership.user
    now = now or timezone.now()
    try:
        raw = (
            saml.parse_redirect_request(saml_request)
            if binding == saml.HTTP_REDIRECT
            else saml_acs.decode_post(saml_request)
        )
        request = saml_acs.parse_document(raw)
    except (ValueError, saml_acs.Refused) as exc:
        raise _refuse(org, user, getattr(exc, "reason", str(exc))) from exc
    if request.tag != f"{{{saml.SAMLP}}}AuthnRequest":
        raise _refuse(org, user, "The message is not a SAML AuthnRequest.")
    issuer = saml_acs._text(request.find(f"{{{saml.SAML}}}Issuer"))
    sp = ServiceProvider.objects.filter(organization=org, entity_id=issuer).first()
    if sp is None:
        raise _refuse(
            org, user, f"No service provider with the Entity ID {issuer[:200]!r} is registered."
        )
    certificate = _certificate(sp)
    if certificate is not None:
        try:
            if binding == saml.HTTP_REDIRECT:
                saml.verify_redirect_signature(query_string, certificate)
            else:
                request = saml_acs.verify_enveloped(
                    request,
                    certificate,
                    "request",
                    signer=f"the certificate registered for {sp.name}",
                )
        except (ValueError, saml_acs.Refused) as exc:
            raise _refuse(org, user, getattr(exc, "reason", str(exc)), sp.name) from exc
    acs_url = request.get("AssertionConsumerServiceURL")
    if acs_url and acs_url != sp.acs_url:
        raise _refuse(
            org,
            user,
            f"The request asks for responses at another address than {sp.name}'s registered "
            "Assertion Consumer Service URL.",
            sp.name,
        )
    request_id = (request.get("ID") or "")[:256]
    try:
        until = _check_request(org, sp, request, request_id, now)
        with transaction.atomic():  # the id is spent only if the answer is made
            _spend(sp, request_id, until)
            return _answer(
                membership=membership,
                sp=sp,
                in_response_to=request_id,
                relay_state=relay_state,
                now=now,
            )
    except IdpRefused as exc:
        raise _refuse(org, user, exc.reason, sp.name) from exc


def _check_request(
    org: Organization, sp: ServiceProvider, request: etree._Element, request_id: str, now: datetime
) -> datetime:
    """The ID, Destination and IssueInstant of a request (read after its signature, if any,
    verified); until when its id must be remembered. IdpRefused otherwise."""
    if not request_id:
        raise IdpRefused("The request has no ID.")
    sso_url = sso_services.idp_sso_url(org)
    destination = request.get("Destination")
    if destination is not None and destination != sso_url:
        raise IdpRefused(
            "The request is addressed to another identity provider: its Destination is not "
            f"this Identity Provider's Single Sign-On URL, {sso_url}."
        )
    try:
        issued = saml_acs._time(request.get("IssueInstant"), "IssueInstant")
    except saml_acs.Refused as exc:
        raise IdpRefused(exc.reason) from exc
    if issued is None:
        raise IdpRefused("The request has no IssueInstant.")
    if issued > now + saml_acs.CLOCK_SKEW:
        raise IdpRefused(
            f"The request was issued in the future: the clocks of {sp.name} and of this "
            "server disagree."
        )
    until = issued + REQUEST_LIFETIME + saml_acs.CLOCK_SKEW
    if now >= until:
        minutes = int(REQUEST_LIFETIME.total_seconds()) // 60
        raise IdpRefused(
            f"The request is more than {minutes} minutes old. Go back to {sp.name} and log "
            "in again."
        )
    return until


def _spend(sp: ServiceProvider, request_id: str, until: datetime) -> None:
    """Remember that `request_id` of `sp` is answered (until it could no longer be); IdpRefused
    if it already was. The unique constraint settles two concurrent answers."""
    try:
        with transaction.atomic():
            IdpAnsweredRequest.objects.create(
                service_provider=sp, request_id=request_id, expires_at=until
            )
    except IntegrityError as exc:
        raise IdpRefused(
            f"This request was already answered. Go back to {sp.name} and log in again."
        ) from exc


def prune_answered(*, now: datetime | None = None) -> int:
    """Forget the ids of answered requests that are too old to be answered again (the hourly
    SAML housekeeping, certadmin.tasks); how many."""
    deleted, _ = IdpAnsweredRequest.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted


def idp_initiated(
    *, membership: Membership, sp: ServiceProvider, now: datetime | None = None
) -> Answer:
    """Log the member in to `sp` without a request of its own."""
    try:
        return _answer(
            membership=membership,
            sp=sp,
            in_response_to=None,
            relay_state="",
            now=now or timezone.now(),
        )
    except IdpRefused as exc:
        raise _refuse(membership.organization, membership.user, exc.reason, sp.name) from exc
