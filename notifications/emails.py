"""The expiration digest: one email per recipient per org per run (SPEC 4), plain text + HTML."""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from orgs.models import Organization

SUBJECT = "Expiring Certificate Notification"


@dataclass(frozen=True)
class Line:
    """One certificate in a digest."""

    label: str
    kind: str  # Self-Signed, CA-Signed, Mutual Authentication
    expires_on: date  # in the org's time zone
    days_left: int
    url: str  # absolute

    @property
    def date(self) -> str:
        return f"{self.expires_on:%Y-%m-%d}"

    @property
    def warning(self) -> str:
        if self.days_left <= 0:
            return "This certificate expires today."
        return f"This certificate will expire in {self.days_left} day(s)."

    @property
    def text(self) -> str:
        """The line of SPEC 4, word for word."""
        return f"{self.label}, {self.kind}, expires on {self.date}. Warning: {self.warning}"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def settings_url(org: Organization) -> str:
    """The org's "Expiration Notifications" page, absolute."""
    return absolute(reverse("notifications:settings", args=[org.public_id]))


def build_digest(
    *,
    org: Organization,
    to: str,
    name: str,
    lines: list[Line],
    reason: str,
    page_url: str | None = None,
) -> EmailMultiAlternatives:
    """The digest for one recipient of `org`; `lines` soonest expiry first.

    `page_url` is `settings_url(org)`, which a caller sending many digests computes once.
    """
    ctx = {
        "org": org,
        "name": name,
        "lines": lines,
        "reason": reason,
        "settings_url": page_url or settings_url(org),
    }
    message = EmailMultiAlternatives(
        subject=SUBJECT,
        body=render_to_string("emails/expiry_digest.txt", ctx),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(render_to_string("emails/expiry_digest.html", ctx), "text/html")
    return message
