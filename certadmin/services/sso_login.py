"""Logging in to certadmin with an org's identity provider (issue 16): SP-initiated requests,
the Assertion Consumer Service's bookkeeping (requests remembered, replays refused), the
user's match by Federation ID, just-in-time creation, and the audit trail of every attempt.

The XML checks themselves are certadmin.saml_acs (signxml + xmlsec)."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import xmlsec
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from certadmin import saml, saml_acs
from certadmin.crypto import parsing
from certadmin.held import Held
from certadmin.models import Certificate, SamlAuthnRequest, SamlConsumedAssertion, SamlSsoConfig
from certadmin.services import certificates
from certadmin.services import sso as sso_services
from certadmin.services.sso_refusals import SECTION_LOGIN, audit_refusal
from orgs import permissions, setup_tree
from orgs.access import held_permissions
from orgs.http import OrgRequest
from orgs.links import absolute
from orgs.models import Membership, Organization
from orgs.services.audit import record_audit
from orgs.services.members import add_member
from orgs.services.profiles import standard_profile

# An AuthnRequest must be answered within this time.
REQUEST_LIFETIME = timedelta(minutes=10)
# The ids of the logins this browser started with a configuration (the views keep them in a
# cookie), or None where the browser cannot be told (plain HTTP: no SameSite=None cookie).
StartedHere = frozenset[str] | None
# Per thread, the xmlsec key managers of this many decryption certificates are kept.
DECRYPTION_KEYS_HELD = 32
Refused = saml_acs.Refused


@dataclass(frozen=True)
class LoginResult:
    membership: Membership
    redirect_to: str
    created: bool  # just-in-time


def login_path(config: SamlSsoConfig) -> str:
    return reverse("sso-login", args=[config.organization.public_id, config.uuid])


def login_url(config: SamlSsoConfig) -> str:
    """Where a user starts logging in with this configuration (shown on its page)."""
    return absolute(login_path(config), config.organization)


def proxy_deadline() -> datetime:
    """After this moment a configuration still signing with the retired default proxy
    certificate no longer logs anyone in (installation setting CERTADMIN_PROXY_DEADLINE)."""
    deadline: datetime = settings.CERTADMIN_PROXY_DEADLINE
    return deadline


def proxy_days_left(org: Organization, *, now: datetime | None = None) -> int:
    """Calendar days from today to the deadline's day, in the org's time zone (0 once due)."""
    now = now or timezone.now()
    days = (org.local(proxy_deadline()).date() - org.local(now).date()).days
    return max(days, 0) if now < proxy_deadline() else 0


def proxy_home_notices(request: OrgRequest) -> list[setup_tree.Notice]:
    """Setup Home's countdown: the org's configurations still on the retired proxy
    certificate, for members who can replace it."""
    if permissions.CUSTOMIZE_APPLICATION.codename not in request.perms:
        return []
    count = SamlSsoConfig.objects.for_org(request.org).using_retired_proxy().count()
    if not count:
        return []
    days = proxy_days_left(request.org)
    deadline = request.org.local(proxy_deadline())
    when = (
        f"{days} day{'s' if days != 1 else ''} left until {deadline:%Y-%m-%d %H:%M %Z}"
        if days
        else "the deadline has passed and they no longer log anyone in"
    )
    return [
        setup_tree.Notice(
            text=f"{count} SAML SSO configuration{'s' if count != 1 else ''} still sign"
            f"{'' if count != 1 else 's'} requests with the retired default proxy certificate: "
            f"{when}. Act now to prevent a possible interruption of service.",
            url=reverse("certadmin:sso-proxy-replace", args=[request.org.public_id]),
            link_label="Replace",
        )
    ]


def expired_certificates(config: SamlSsoConfig, *, now: datetime | None = None) -> list[str]:
    """The certificates of this configuration that have expired, by role (the flag on its
    page and at login). The retired proxy certificate counts as expired, as the seed says."""
    now = now or timezone.now()
    found = []
    if config.proxy_certificate_id is not None:
        found.append("Request Signing Certificate (the retired default proxy certificate)")
    signer = config.request_signing_certificate
    if signer is not None and signer.not_after is not None and signer.not_after <= now:
        found.append(f"Request Signing Certificate ({signer.unique_name})")
    decrypter = config.assertion_decryption_certificate
    if decrypter is not None and decrypter.not_after is not None and decrypter.not_after <= now:
        found.append(f"Assertion Decryption Certificate ({decrypter.unique_name})")
    if config.idp_certificate_not_after is not None and config.idp_certificate_not_after <= now:
        found.append("Identity Provider Certificate")
    return found


def _check_usable(config: SamlSsoConfig, now: datetime) -> None:
    if config.proxy_certificate_id is not None and now >= proxy_deadline():
        raise Refused(
            "proxy_deadline",
            f"{config.name} still signs with the retired default proxy certificate, which "
            "stopped working at the deadline. An administrator must choose a new Request "
            "Signing Certificate.",
        )


@dataclass(frozen=True)
class Started:
    url: str  # the identity provider's, carrying the signed AuthnRequest
    request_id: str


def begin_login(
    config: SamlSsoConfig,
    *,
    relay_state: str = "",
    client: str | None = None,
    now: datetime | None = None,
) -> Started:
    """Remember a new AuthnRequest; the identity provider URL that carries it (HTTP-Redirect
    binding, signed with the Request Signing Certificate's key) and its id. `client`: the
    address asking, whose refusals are audited within a bound (sso_refusals)."""
    now = now or timezone.now()
    try:
        _check_usable(config, now)
    except Refused as refused:
        audit_refusal(config, refused, client=client)
        raise
    request_id = saml.new_id()
    SamlAuthnRequest.objects.create(
        config=config, request_id=request_id, relay_state=relay_state[:500], created_at=now
    )
    key, _ = sso_services.request_signer(config)
    message = saml.authn_request_unsigned(
        request_id=request_id,
        issuer=config.issuer,
        destination=config.idp_login_url,
        acs_url=sso_services.acs_url(config),
        issue_instant=now,
    )
    url = saml.redirect_url(
        location=config.idp_login_url,
        message=message,
        relay_state="",
        key=key,
        method=config.signature_method,
    )
    return Started(url=url, request_id=request_id)


# The xmlsec key managers of the Assertion Decryption Certificates this thread decrypted with
# lately (certadmin.held): a key manager costs ~20 ms to make, four times the decryption.
_decryption_keys: Held[xmlsec.KeysManager] = Held(DECRYPTION_KEYS_HELD, per_thread=True)


def decryption_keys(certificate: Certificate) -> xmlsec.KeysManager:
    """The key manager holding `certificate`'s private key, unsealed on first use in this
    thread, in memory only, and handed to xmlsec as PEM bytes that are never written anywhere.
    Keyed by the sealed blob's digest too, so a key sealed anew (KEK rotation) is opened anew."""

    def build() -> xmlsec.KeysManager:
        key_pem = certificates.load_private_key(certificate).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return saml_acs.decryption_keys(key_pem)

    sealed = hashlib.sha256(bytes(certificate.private_key)).digest()
    return _decryption_keys.get((certificate.pk, sealed), build)


def expected(config: SamlSsoConfig, *, now: datetime) -> saml_acs.Expected:
    """What the ACS of `config` accepts."""
    decrypter = config.assertion_decryption_certificate
    return saml_acs.Expected(
        idp_entity_id=config.idp_entity_id,
        idp_certificate=parsing.parse_certificates(config.idp_certificate_pem.encode())[0],
        audience=config.issuer,
        acs_url=sso_services.acs_url(config),
        now=now,
        decryption_keys=decryption_keys(decrypter) if decrypter is not None else None,
    )


def _answer_request(
    config: SamlSsoConfig, request_id: str | None, now: datetime, started_here: StartedHere
) -> str:
    """Mark the AuthnRequest the response answers; its relay state. IdP-initiated responses
    (no InResponseTo) only where the configuration allows them; SP-initiated ones only in
    the browser that started the login, where it can tell (`started_here`)."""
    if not request_id:
        if not config.allow_idp_initiated:
            raise Refused(
                "idp_initiated",
                "The response answers no request of ours (IdP-initiated login), which this "
                "configuration does not allow.",
            )
        return ""
    if started_here is not None and request_id not in started_here:
        # Login CSRF: someone else's response, for a login someone else started, posted
        # from this browser would log it in to their account.
        raise Refused(
            "other_browser",
            "This response answers a login that was started in another browser. Start the "
            "login again here.",
        )
    sent = SamlAuthnRequest.objects.filter(config=config, request_id=request_id).first()
    if sent is None:
        raise Refused("unknown_request", "The response answers a request we never sent.")
    if sent.answered_at is not None:
        raise Refused("replay", "The request this response answers was already answered.")
    if sent.created_at < now - REQUEST_LIFETIME:
        raise Refused("request_expired", "The login took too long; start it again.")
    answered = SamlAuthnRequest.objects.filter(pk=sent.pk, answered_at=None).update(answered_at=now)
    if answered != 1:  # a concurrent post of the same response won
        raise Refused("replay", "The request this response answers was already answered.")
    return sent.relay_state


def _spend(
    config: SamlSsoConfig,
    assertion: saml_acs.Assertion,
    now: datetime,
    started_here: StartedHere,
) -> str:
    """Mark the request answered and remember the assertion id, in one transaction; the
    request's relay state. A second use of either is a replay (the unique assertion id
    settles two concurrent posts). Expired rows are pruned hourly (prune_spent)."""
    try:
        with transaction.atomic():
            relay_state = _answer_request(config, assertion.in_response_to, now, started_here)
            SamlConsumedAssertion.objects.create(
                config=config,
                assertion_id=assertion.assertion_id[:256],
                expires_at=max(assertion.not_on_or_after, now) + saml_acs.CLOCK_SKEW,
            )
    except IntegrityError as exc:
        raise Refused("replay", "This response was already used to log in.") from exc
    return relay_state


def prune_spent(*, now: datetime | None = None) -> tuple[int, int]:
    """Forget requests older than a day (they are refused after REQUEST_LIFETIME) and
    assertion ids past their validity (a replay is refused as expired by then): the hourly
    job (notifications/schedules.py). Returns how many of each were deleted."""
    now = now or timezone.now()
    requests, _ = SamlAuthnRequest.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
    assertions, _ = SamlConsumedAssertion.objects.filter(expires_at__lt=now).delete()
    return requests, assertions


def _with_federation_id(org: Organization, name_id: str) -> Membership | None:
    return (
        Membership.objects.select_related("user", "organization")
        .filter(organization=org, federation_id=name_id)
        .first()
    )


def _username_taken(org: Organization, assertion: saml_acs.Assertion) -> Refused:
    return Refused(
        "jit_username_taken",
        f"No user of {org.name} has the Federation ID {assertion.name_id[:200]!r}, and the "
        "username is taken, so none could be created.",
    )


def _jit_member(config: SamlSsoConfig, assertion: saml_acs.Assertion) -> Membership:
    org = config.organization
    username = assertion.name_id[:150]
    if User.objects.filter(username__iexact=username).exists():
        raise _username_taken(org, assertion)
    email = next(
        iter(assertion.attributes.get("email") or assertion.attributes.get("mail") or []), ""
    )
    if "@" in assertion.name_id and not email:
        email = assertion.name_id
    user = User(username=username, email=email[:254])
    user.set_unusable_password()
    user.save()
    membership = add_member(
        org=org,
        user=user,
        profile=standard_profile(org, permissions.STANDARD_USER),
        acting_user=None,
    )
    membership.federation_id = assertion.name_id
    membership.save(update_fields=["federation_id"])
    record_audit(
        org=org,
        acting_user=None,
        section=SECTION_LOGIN,
        action="createdUserJit",
        message=f"Created user {username} just in time from SAML SSO configuration "
        f"{config.name} (Federation ID {assertion.name_id[:200]})",
    )
    return membership


def _member(config: SamlSsoConfig, assertion: saml_acs.Assertion) -> tuple[Membership, bool]:
    """The org's member with this Federation ID (this org only), or one made just in time."""
    org = config.organization
    membership = _with_federation_id(org, assertion.name_id)
    created = False
    if membership is None:
        if not config.jit_provisioning:
            raise Refused(
                "unknown_user",
                f"No user of {org.name} has the Federation ID {assertion.name_id[:200]!r}. "
                "An administrator sets it on the user's page (Federation ID).",
            )
        try:
            with transaction.atomic():
                membership = _jit_member(config, assertion)
            created = True
        except IntegrityError:  # another login created the same user a moment ago
            membership = _with_federation_id(org, assertion.name_id)
            if membership is None:
                raise _username_taken(org, assertion) from None
    user = membership.user
    if user.is_superuser or user.is_staff:
        raise Refused(
            "superuser",
            f"{user.username} runs the installation: an organization's identity provider "
            "cannot log in a superuser or staff user; they log in with their password.",
        )
    if not user.is_active or not membership.is_active:
        raise Refused("inactive_user", f"The user {user.username} is deactivated.")
    if permissions.API_ONLY_USER.codename in held_permissions(user, org):
        raise Refused("api_only", f"The user {user.username} is an API Only user.")
    return membership, created


def _redirect_to(org: Organization, relay_state: str) -> str:
    home = reverse("orgs:setup-home", args=[org.public_id])
    prefix = f"/o/{org.public_id}/"
    if (
        relay_state.startswith(prefix)
        and url_has_allowed_host_and_scheme(relay_state, allowed_hosts=None)
        and "\\" not in relay_state
    ):
        return relay_state
    return home


def consume_response(
    config: SamlSsoConfig,
    *,
    saml_response: str,
    log_in: Callable[[User], None],
    started_here: StartedHere,
    relay_state: str = "",
    client: str | None = None,
    now: datetime | None = None,
) -> LoginResult:
    """Check a posted response, find the user it logs in and `log_in` that user; Refused
    (audited) otherwise. The XML checks touch no table. Then two transactions: the request
    answered and the assertion remembered (a response is used up even when it logs nobody
    in, so it cannot be replayed once the admin has set the Federation ID), and the login
    itself (a just-in-time user, the audit line, the session `log_in` makes), written whole
    or not at all, with one commit rather than one per row. `client`: the address posting;
    refusals no verified signature vouches for are audited within a bound (sso_refusals)."""
    now = now or timezone.now()
    name_id, checked = "", False
    try:
        _check_usable(config, now)
        assertion = saml_acs.check_response(
            saml_acs.decode_post(saml_response), expected(config, now=now)
        )
        name_id, checked = assertion.name_id, True
        # Used up, even if it logs nobody in.
        stored_relay = _spend(config, assertion, now, started_here)
        with transaction.atomic():
            membership, created = _member(config, assertion)
            flags = expired_certificates(config, now=now)
            record_audit(
                org=config.organization,
                acting_user=membership.user,
                section=SECTION_LOGIN,
                action="samlLogin",
                message=f"{membership.user.username} logged in with SAML SSO configuration "
                f"{config.name}{' (IdP-initiated)' if not assertion.in_response_to else ''}"
                f"{'; expired: ' + ', '.join(flags) if flags else ''}",
            )
            log_in(membership.user)
    except Refused as refused:
        refused.signed = refused.signed or checked  # refused after the signature verified
        detail = f" (NameID {name_id[:100]})" if name_id else ""
        audit_refusal(config, refused, client=client, detail=detail)
        raise
    target = _redirect_to(config.organization, stored_relay or relay_state)
    return LoginResult(membership=membership, redirect_to=target, created=created)
