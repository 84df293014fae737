"""Webhook notification channels (issue 17): expiration notices posted to a URL or through a
named credential, as generic JSON, Slack or Microsoft Teams messages. By sub-domain:

- `configure`: the Setup page's writes (create, change, delete a channel; "Send test");
- `delivery`: the runs that claim, send, mark and retry deliveries, exactly once each (the
  hourly job's `deliver()`, the 5-minute `retry_due()`);
- `formats`: the message bodies (generic JSON, Slack, Teams);
- `transport`: one POST, to a URL or through a named credential.
"""

from notifications.services.channels.configure import (
    ChannelSettings,
    create_channel,
    delete_channel,
    send_test,
    update_channel,
)
from notifications.services.channels.delivery import (
    BACKOFF,
    DeliveryTally,
    backoff,
    deliver,
    retry_due,
)
from notifications.services.channels.formats import Notice, message
from notifications.services.channels.transport import TIMEOUT, Answer, post

__all__ = [
    "BACKOFF",
    "TIMEOUT",
    "Answer",
    "ChannelSettings",
    "DeliveryTally",
    "Notice",
    "backoff",
    "create_channel",
    "delete_channel",
    "deliver",
    "message",
    "post",
    "retry_due",
    "send_test",
    "update_channel",
]
