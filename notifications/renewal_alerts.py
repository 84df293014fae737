"""The email about a failed ACME renewal (issue 18): to the org's notification recipients (the
same people SPEC 4's expiration notices go to), with the CA's error in words. certadmin sends
`renewal_failed` (at most once a day per certificate); this module, connected in apps.py,
answers it, as certadmin may not know about notifications."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail

from certadmin.models import AcmeCertificate
from notifications import recipients
from orgs.links import absolute

SUBJECT = "Certificate renewal failed: {name}"


def email_renewal_failure(
    *, acme_cert: AcmeCertificate, error: str, next_attempt_at: datetime, **kwargs: Any
) -> int:
    """Email each recipient of the certificate's org; returns how many were sent."""
    org = acme_cert.organization
    certificate = acme_cert.certificate
    people = recipients.recipients_for(org, settings.EXPIRY_NOTICE_DAYS)
    expires = (
        org.local(certificate.not_after).strftime("%Y-%m-%d %H:%M %Z")
        if certificate.not_after
        else "unknown"
    )
    retry = org.local(next_attempt_at).strftime("%Y-%m-%d %H:%M %Z")
    body = (
        f"The automatic renewal of the certificate {certificate.label} "
        f"({certificate.unique_name}) of the organization {org.name} "
        f"(Organization ID {org.public_id}) failed.\n\n"
        f"The certificate authority said: {error}\n\n"
        f"Names: {', '.join(acme_cert.domains)}\n"
        f"ACME account: {acme_cert.account.label} ({acme_cert.account.directory_url})\n"
        f"Failed attempts so far: {acme_cert.failures}\n"
        f"Next attempt: {retry}\n"
        f"The certificate expires: {expires}\n\n"
        f"{absolute(certificate.get_absolute_url(), org)}\n\n"
        "Until a renewal succeeds, the usual expiration notices are sent for this certificate.\n"
    )
    subject = SUBJECT.format(name=certificate.label)
    messages = [
        (subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])
        for person in people
        if person.email
    ]
    return send_mass_mail(messages, fail_silently=False) if messages else 0
