"""The expiration digest: one email per recipient per org per day (SPEC 4), plain text + HTML.

Both bodies are Django templates (`templates/emails/expiry_digest.txt` and `.html`); the HTML
one is autoescaped, the text one is not (it is not HTML). `Line` is the row the templates show.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from orgs import clock
from orgs.links import absolute, org_url
from orgs.models import Organization

SUBJECT = "Expiring Certificate Notification"
TEXT_TEMPLATE = "emails/expiry_digest.txt"
HTML_TEMPLATE = "emails/expiry_digest.html"

STEPS = (
    "Download the certificate from its page, to keep a copy.",
    (
        "Create a replacement certificate (self-signed, or CA-signed and signed by your "
        "certificate authority)."
    ),
    (
        'Move every use of the old certificate to the replacement (see "Where is this used?" '
        "on its page)."
    ),
    "Delete the old certificate once nothing uses it.",
)
# Typographic quotes in the HTML part, plain ones in the text.
HTML_STEPS = tuple(
    step.replace(' (see "', " (see \u201c").replace('?" on', "?\u201d on") for step in STEPS
)


@dataclass(frozen=True)
class Line:
    """One certificate in a digest."""

    label: str
    kind: str  # Self-Signed, CA-Signed, Mutual Authentication
    expires_on: date  # in the org's time zone
    days_left: int
    url: str  # absolute
    # Where the certificate is used ("Named Credential: Partner API", ...), from
    # certadmin.usage: the digest names what breaks when it expires.
    uses: tuple[str, ...] = ()

    @property
    def used_by(self) -> str:
        return f"Used by: {'; '.join(self.uses)}." if self.uses else ""

    @property
    def date(self) -> str:
        return self.expires_on.isoformat()

    @property
    def late(self) -> bool:
        """A day-of notice sent after its day (a mail outage kept it from going out)."""
        return self.days_left < 0

    @property
    def expires(self) -> str:
        return "expired on" if self.late else "expires on"

    @property
    def warning(self) -> str:
        if self.late:
            return (
                "This certificate has expired. This notice is late: it was due on "
                f"{self.date}, the day the certificate expired."
            )
        # The pages' wording (orgs.clock): "expires in 4 days", "expires tomorrow", "expires today".
        return f"This certificate {clock.phrase(self.days_left)}."

    @property
    def text(self) -> str:
        """The line of SPEC 4, word for word (a late one says "expired on")."""
        return f"{self.label}, {self.kind}, {self.expires} {self.date}. Warning: {self.warning}"


def settings_url(org: Organization) -> str:
    """The org's "Expiration Notifications" page, absolute."""
    return absolute(org_url("notifications:settings", org.public_id), org)


def _state(lines: list[Line]) -> str:
    if all(line.late for line in lines):
        return "have expired"
    if any(line.late for line in lines):
        return "have expired or are about to expire"
    return "are about to expire"


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

    `page_url` is `settings_url(org)`, which a caller sending many digests may pass.
    """
    context = {
        "org": org,
        "name": name,
        "lines": lines,
        "state": _state(lines),
        "reason": reason,
        "settings_url": page_url or settings_url(org),
    }
    return EmailMultiAlternatives(
        subject=SUBJECT,
        body=render_to_string(TEXT_TEMPLATE, {**context, "steps": STEPS}),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        alternatives=[
            (render_to_string(HTML_TEMPLATE, {**context, "steps": HTML_STEPS}), "text/html")
        ],
    )
