"""The retired default proxy certificate's warnings (issue 16): each day the expiry job runs,
the admins of every org that still has SAML SSO configurations signing with it get one email
naming them and the deadline ("act now to prevent a possible interruption of service").

Once a day per org, in the org's time zone: the audit line the send writes is the record
(the job runs hourly)."""

from datetime import datetime

from django.core.mail import EmailMessage, get_connection
from django.urls import reverse
from django.utils import timezone

from certadmin.models import SamlSsoConfig
from certadmin.services import sso_login
from notifications.recipients import active_members
from orgs import permissions
from orgs.links import absolute
from orgs.models import AuditEvent, Organization
from orgs.services.audit import record_audit
from orgs.wording import count

ACTION = "emailedProxyDeadline"
# Who is told: those who can replace the certificate, or who look after certificates.
ADMIN_CODES = {permissions.CUSTOMIZE_APPLICATION.codename, permissions.MANAGE_CERTIFICATES.codename}


def _sent_today(org: Organization, now: datetime) -> bool:
    start = org.local(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return AuditEvent.objects.filter(
        organization=org, action=ACTION, created_at__gte=start
    ).exists()


def send_proxy_warnings(*, now: datetime | None = None) -> int:
    """Email every org's admins about its configurations on the proxy; the emails sent."""
    now = now or timezone.now()
    by_org: dict[int, list[SamlSsoConfig]] = {}
    for config in SamlSsoConfig.objects.using_retired_proxy().order_by("name"):
        by_org.setdefault(config.organization_id, []).append(config)
    if not by_org:
        return 0
    members = active_members(list(by_org))
    sent = 0
    connection = get_connection()
    for org in Organization.objects.filter(pk__in=list(by_org)).order_by("pk"):
        if _sent_today(org, now):
            continue
        to = sorted(
            {m.email for m in members.get(org.pk, []) if m.email and ADMIN_CODES & set(m.codes)}
        )
        if not to:
            continue
        configs = by_org[org.pk]
        days = sso_login.proxy_days_left(org, now=now)
        deadline = org.local(sso_login.proxy_deadline())
        replace = absolute(reverse("certadmin:sso-proxy-replace", args=[org.public_id]), org)
        names = "\n".join(f"  - {config.name}" for config in configs)
        when = (
            f"They stop logging users in on {deadline:%Y-%m-%d %H:%M %Z} ({days} day"
            f"{'s' if days != 1 else ''} left)."
            if days
            else "The deadline has passed: they no longer log users in."
        )
        body = (
            f"{len(configs)} SAML SSO configuration{'s' if len(configs) != 1 else ''} of "
            f"{org.name} still sign requests with the retired default proxy certificate, "
            f"which expired when it was retired:\n\n{names}\n\n{when}\n"
            "Act now to prevent a possible interruption of service: choose one of your own "
            f"certificates for them.\n\nReplace: {replace}\n"
        )
        EmailMessage(
            subject=f"[{org.name}] Act now: SAML SSO still uses the retired proxy certificate",
            body=body,
            to=to,
            connection=connection,
        ).send()
        record_audit(
            org=org,
            acting_user=None,
            section="Single Sign-On Settings",
            action=ACTION,
            message=f"Emailed {count(len(to), 'admin', 'admins')} about "
            f"{count(len(configs), 'configuration', 'configurations')} on the "
            "retired default proxy certificate",
        )
        sent += 1
    return sent
