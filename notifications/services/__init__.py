"""Writes of the notifications app (SPEC 4), by concern:

- `job`: the expiry job (plan -> claim -> send -> mark -> record) and the admin's retry;
- `claims`: what a run holds and what it did with it (claims, renewals, marks, figures);
- `permissions`: who holds Receive Certificate Expiration Notifications;
- `channels`: the webhook channels (issue 17): their Setup writes, their deliveries (claimed,
  sent, marked and retried like the emails), the JSON, Slack and Teams bodies.
"""

from notifications.services.claims import Tally
from notifications.services.job import (
    Digest,
    MailServerDown,
    Outcome,
    retry_notices,
    send_expiry_notices,
)
from notifications.services.permissions import (
    PERMISSION_SET_API_NAME,
    PERMISSION_SET_LABEL,
    ensure_notification_permission_set,
    grant_expiration_notifications,
    notification_permission_set,
    revoke_expiration_notifications,
)

__all__ = [
    "PERMISSION_SET_API_NAME",
    "PERMISSION_SET_LABEL",
    "Digest",
    "MailServerDown",
    "Outcome",
    "Tally",
    "ensure_notification_permission_set",
    "grant_expiration_notifications",
    "notification_permission_set",
    "retry_notices",
    "revoke_expiration_notifications",
    "send_expiry_notices",
]
