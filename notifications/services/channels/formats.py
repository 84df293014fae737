"""What a webhook channel receives: one notice as generic JSON, a Slack or a Microsoft Teams
message (docs/named-credentials.md shows the three bodies). Pure: builds dicts, sends nothing."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from notifications import emails, windows
from notifications.models import NotificationChannel
from orgs.models import Organization


@dataclass(frozen=True)
class Notice:
    """What one delivery says."""

    delivery: UUID
    org: Organization
    label: str
    kind: str
    expires_at: datetime
    days_left: int
    threshold: int
    url: str
    uses: list[str]
    test: bool = False

    @property
    def sentence(self) -> str:
        line = emails.Line(
            label=self.label,
            kind=self.kind,
            expires_on=windows.local_date(self.expires_at, self.org.tzinfo),
            days_left=self.days_left,
            url=self.url,
        )
        prefix = "Test from certadmin: " if self.test else ""
        used = f" Used by: {', '.join(self.uses)}." if self.uses else ""
        return f"{prefix}{line.text}{used}"


def message(channel_format: str, notice: Notice) -> dict[str, Any]:
    """The JSON body for the channel's format."""
    if channel_format == NotificationChannel.Format.SLACK:
        # Slack incoming webhooks: `text` (also the notification text) and Block Kit blocks.
        return {
            "text": notice.sentence,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": _slack(notice)}},
            ],
        }
    if channel_format == NotificationChannel.Format.TEAMS:
        # Teams incoming webhooks (Workflows): a message with one Adaptive Card.
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {
                                "type": "TextBlock",
                                "text": f"Certificate expiring: {notice.label}",
                                "weight": "Bolder",
                                "wrap": True,
                            },
                            {"type": "TextBlock", "text": notice.sentence, "wrap": True},
                        ],
                        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": notice.url}]
                        if notice.url
                        else [],
                    },
                }
            ],
        }
    return {
        "id": str(notice.delivery),
        "type": "certificate.expiry_test" if notice.test else "certificate.expiry",
        "org": {"id": notice.org.public_id, "name": notice.org.name},
        "certificate": {
            "label": notice.label,
            "type": notice.kind,
            "expires_at": notice.expires_at.isoformat(),
            "days_left": notice.days_left,
            "url": notice.url,
            "uses": notice.uses,
        },
        "threshold_days": notice.threshold,
        "text": notice.sentence,
    }


def _slack(notice: Notice) -> str:
    def esc(text: str) -> str:  # Slack's mrkdwn escapes
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    title = f"<{notice.url}|{esc(notice.label)}>" if notice.url else f"*{esc(notice.label)}*"
    return f"{title}\n{esc(notice.sentence)}"
