"""The expiration digest: one email per recipient per org per run (SPEC 4), plain text + HTML.

The two bodies are format strings here rather than Django templates: a run sends thousands
of digests, and two template renders cost more than everything else the job does per email
(about 0.2 ms against 0.02 ms; docs/benchmarks.md). Every value put into the HTML part is
escaped with `html.escape`, as Django's autoescape would.
"""

from dataclasses import dataclass
from datetime import date
from html import escape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from orgs.models import Organization

SUBJECT = "Expiring Certificate Notification"

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

TEXT = """Hello {name},

Certificates of the organization {org_name} (Organization ID {org_id}) {state}.
{lines}
To replace a certificate before it expires:
{steps}

You receive this email because: {reason}.
Who receives these notices: {settings_url}

"""
TEXT_LINE = "\n{text}\n{url}\n"

HTML = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Expiring Certificate Notification</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #181818; line-height: 1.4;">
<p>Hello {name},</p>
<p>Certificates of the organization <strong>{org_name}</strong> (Organization ID {org_id}) \
{state}.</p>
<ul>
{lines}</ul>
<p>To replace a certificate before it expires:</p>
<ol>
{steps}
</ol>
<p style="color: #5c5c5c; font-size: 0.9em;">You receive this email because: {reason}. \
<a href="{settings_url}">Who receives these notices</a></p>
</body>
</html>
"""
HTML_LINE = (
    '  <li><a href="{url}">{label}</a>, {kind}, {expires} {date}. '
    "<strong>Warning: {warning}</strong></li>\n"
)
TEXT_STEPS = "\n".join(f"{n}. {step}" for n, step in enumerate(STEPS, 1))
# Typographic quotes in the HTML part, plain ones in the text.
HTML_STEPS = "\n".join(
    f"  <li>{escape(step, quote=False)}</li>".replace(' (see "', " (see \u201c").replace(
        '?" on', "?\u201d on"
    )
    for step in STEPS
)


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
        if self.days_left == 0:
            return "This certificate expires today."
        return f"This certificate will expire in {self.days_left} day(s)."

    @property
    def text(self) -> str:
        """The line of SPEC 4, word for word (a late one says "expired on")."""
        return f"{self.label}, {self.kind}, {self.expires} {self.date}. Warning: {self.warning}"

    @property
    def html(self) -> str:
        return HTML_LINE.format(
            url=escape(self.url),
            label=escape(self.label),
            kind=escape(self.kind),
            expires=self.expires,
            date=self.date,
            warning=escape(self.warning),
        )


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def settings_url(org: Organization) -> str:
    """The org's "Expiration Notifications" page, absolute."""
    return absolute(reverse("notifications:settings", args=[org.public_id]))


def _state(lines: list[Line]) -> str:
    if all(line.late for line in lines):
        return "have expired"
    if any(line.late for line in lines):
        return "have expired or are about to expire"
    return "are about to expire"


def text_body(*, org: Organization, name: str, lines: list[Line], reason: str, page: str) -> str:
    return TEXT.format(
        name=name,
        org_name=org.name,
        org_id=org.public_id,
        state=_state(lines),
        lines="".join(TEXT_LINE.format(text=line.text, url=line.url) for line in lines),
        steps=TEXT_STEPS,
        reason=reason,
        settings_url=page,
    )


def html_body(*, org: Organization, name: str, lines: list[Line], reason: str, page: str) -> str:
    return HTML.format(
        name=escape(name),
        org_name=escape(org.name),
        org_id=escape(org.public_id),
        state=_state(lines),
        lines="".join(line.html for line in lines),
        steps=HTML_STEPS,
        reason=escape(reason),
        settings_url=escape(page),
    )


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
    parts = {"org": org, "name": name, "lines": lines, "reason": reason}
    page = page_url or settings_url(org)
    return EmailMultiAlternatives(
        subject=SUBJECT,
        body=text_body(**parts, page=page),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        alternatives=[(html_body(**parts, page=page), "text/html")],
    )
