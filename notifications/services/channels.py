"""Webhook notification channels (issue 17): expiration notices posted to a URL or through a
named credential, as generic JSON, Slack or Microsoft Teams messages.

The rules are the emails' (services.claims), per channel: a run INSERTs the deliveries due
as `claimed` by itself (the unique constraint ignores what another run inserted first),
takes over failed ones whose back-off has passed and claims older than the lease with one
conditional UPDATE, sends only what it holds, and marks each delivery right after its answer
with an UPDATE conditional on still holding it. So a notice reaches a channel once per
(channel, certificate, expiration, threshold) whatever the number of runs; a run killed
between the answer and the mark resends after the lease, with the same `Idempotency-Key`
(the delivery's uuid) for the receiver to drop the repeat.

A failure (no connection, timeout, TLS refused, any answer but 2xx) is retried with back-off
(`BACKOFF`), at each run of the job after that time; a tighter notice supersedes it, a
renewal or deletion of the certificate suppresses it.
"""

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import certifi
import httpx
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, OuterRef, PositiveSmallIntegerField, Q, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from certadmin import usage
from certadmin.models import NamedCredential
from certadmin.services import callout
from notifications import emails, windows
from notifications.models import ChannelDelivery, NotificationChannel
from notifications.sources import Source, source, sources
from orgs.links import absolute, org_url
from orgs.models import Organization
from orgs.services.audit import record_audit

log = logging.getLogger(__name__)

SECTION = "Expiration Notifications"
TIMEOUT = 10.0  # seconds per delivery; well under the claim lease
# Wait before the next attempt after the n-th failure (then the last one, repeated). With
# the hourly job, a receiver back after a day down gets its notices within four hours.
BACKOFF = (
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
)
State = ChannelDelivery.State


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


# --- channels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelSettings:
    name: str
    format: str
    url: str = ""
    named_credential: NamedCredential | None = None
    enabled: bool = True


def _check(channel: NotificationChannel, data: ChannelSettings) -> None:
    errors: dict[str, list[str]] = {}
    if not data.name.strip():
        errors["name"] = ["The Name is required."]
    elif (
        NotificationChannel.objects.filter(organization=channel.organization)
        .alias(lower=Lower("name"))
        .filter(lower=data.name.lower())
        .exclude(pk=channel.pk)
        .exists()
    ):
        errors["name"] = [f"A channel named {data.name} already exists."]
    if data.format not in NotificationChannel.Format.values:
        errors["format"] = ["Choose Generic JSON, Slack or Microsoft Teams."]
    if bool(data.url) == (data.named_credential is not None):
        errors["url"] = ["Give a URL or choose a named credential (one of them)."]
    elif data.url and not data.url.lower().startswith(("https://", "http://")):
        errors["url"] = ["The URL must start with https:// (or http://)."]
    credential = data.named_credential
    if credential is not None and credential.organization_id != channel.organization_id:
        errors["named_credential"] = ["Choose a named credential of this org."]
    if errors:
        raise ValidationError(errors)


def _save(channel: NotificationChannel) -> None:
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError as exc:
        raise ValidationError({"name": ["A channel with this name already exists."]}) from exc


def _apply(channel: NotificationChannel, data: ChannelSettings) -> None:
    channel.name = data.name.strip()
    channel.format = data.format
    channel.url = data.url
    channel.named_credential = data.named_credential
    channel.enabled = data.enabled


@transaction.atomic
def create_channel(
    *, org: Organization, data: ChannelSettings, acting_user: User | None
) -> NotificationChannel:
    channel = NotificationChannel(organization=org)
    _check(channel, data)
    _apply(channel, data)
    _save(channel)
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="createdNotificationChannel",
        message=f"Created notification channel {channel.name} ({channel.get_format_display()}, "
        f"{channel.target})",
    )
    return channel


@transaction.atomic
def update_channel(
    *, channel: NotificationChannel, data: ChannelSettings, acting_user: User | None
) -> None:
    _check(channel, data)
    _apply(channel, data)
    channel.modified_at = timezone.now()
    _save(channel)
    record_audit(
        org=channel.organization,
        acting_user=acting_user,
        section=SECTION,
        action="changedNotificationChannel",
        message=f"Changed notification channel {channel.name} ({channel.get_format_display()}, "
        f"{channel.target}{'' if channel.enabled else ', disabled'})",
    )


@transaction.atomic
def delete_channel(*, channel: NotificationChannel, acting_user: User | None) -> None:
    name, org = channel.name, channel.organization
    channel.delete()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="deletedNotificationChannel",
        message=f"Deleted notification channel {name}",
    )


# --- messages ---------------------------------------------------------------------------------


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


# --- sending ----------------------------------------------------------------------------------

_plain: httpx.Client | None = None
_plain_lock = threading.Lock()


def _plain_client() -> httpx.Client:
    global _plain
    with _plain_lock:
        if _plain is None:
            import ssl

            _plain = httpx.Client(
                verify=ssl.create_default_context(cafile=certifi.where()), timeout=TIMEOUT
            )
        return _plain


@dataclass
class Answer:
    ok: bool
    status: int | None
    error: str


def post(channel: NotificationChannel, body: dict[str, Any], key: UUID, timeout: float) -> Answer:
    """POST one message; never raises for the receiver's or the network's failures."""
    content = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(key)}
    try:
        if channel.named_credential is not None:
            response = callout.send(
                channel.named_credential, "POST", content=content, headers=headers, timeout=timeout
            )
        else:
            response = _plain_client().post(
                channel.url, content=content, headers=headers, timeout=timeout
            )
    except httpx.TimeoutException:
        return Answer(False, None, f"Timed out: no answer within {timeout:g} seconds.")
    except (httpx.HTTPError, OSError, ValueError) as exc:
        return Answer(False, None, f"Not delivered: {exc or type(exc).__name__}")
    if 200 <= response.status_code < 300:
        return Answer(True, response.status_code, "")
    return Answer(
        False,
        response.status_code,
        f"The receiver answered {response.status_code} {response.reason_phrase}.",
    )


# --- the run ----------------------------------------------------------------------------------


@dataclass
class DeliveryTally:
    sent: int = 0
    failed: int = 0
    superseded: int = 0
    suppressed: int = 0
    lost: int = 0  # taken over by another run before the mark


def _due(
    channel: NotificationChannel, src: Source, *, today: Any, thresholds: tuple[int, ...]
) -> list[dict[str, Any]]:
    tz = channel.organization.tzinfo
    b = windows.bounds(today, tz, thresholds)
    window_of = Case(
        *[
            When(not_after__lt=b.upper[w.threshold], then=Value(w.threshold))
            for w in windows.windows(thresholds)
        ],
        output_field=PositiveSmallIntegerField(),
    )
    delivered = ChannelDelivery.objects.filter(
        channel=channel,
        source=src.key,
        object_id=OuterRef("pk"),
        expires_at=OuterRef("not_after"),
        threshold__lte=OuterRef("due_threshold"),
    )
    rows = (
        src.covered()
        .filter(
            organization_id=channel.organization_id,
            not_after__gte=b.start,
            not_after__lt=b.end,
        )
        .annotate(due_threshold=window_of, kind_label=src.kind)
        .filter(~Exists(delivered))
        .order_by()
    )
    return list(rows.values("pk", "uuid", "label", "kind_label", "not_after", "due_threshold"))


def deliver(*, now: datetime | None = None, timeout: float = TIMEOUT) -> DeliveryTally:
    """One run over every enabled channel: claim what is due and what is to retry, send,
    mark. Safe to run any number of times and in several processes at once."""
    now = now or timezone.now()
    thresholds = windows.normalize(settings.EXPIRY_NOTICE_DAYS)
    run = uuid4()
    tally = DeliveryTally()
    stale = now - timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS)
    channels = NotificationChannel.objects.filter(enabled=True).select_related(
        "organization", "named_credential__organization", "named_credential__certificate"
    )
    for channel in channels:
        today = windows.local_date(now, channel.organization.tzinfo)
        new = [
            ChannelDelivery(
                channel=channel,
                source=src.key,
                object_id=row["pk"],
                object_uuid=row["uuid"],
                label=row["label"][:200],
                kind_label=str(row["kind_label"])[:40],
                expires_at=row["not_after"],
                threshold=row["due_threshold"],
                state=State.CLAIMED,
                claim=run,
                claimed_at=now,
                created_at=now,
            )
            for src in sources()
            for row in _due(channel, src, today=today, thresholds=thresholds)
        ]
        ChannelDelivery.objects.bulk_create(new, ignore_conflicts=True)
        ChannelDelivery.objects.filter(channel=channel).exclude(
            source=ChannelDelivery.TEST_SOURCE
        ).filter(
            Q(state=State.FAILED, next_attempt_at__lte=now)
            | Q(state=State.CLAIMED, claimed_at__lt=stale)
        ).update(state=State.CLAIMED, claim=run, claimed_at=now)
        mine = list(
            ChannelDelivery.objects.filter(
                channel=channel, claim=run, state=State.CLAIMED
            ).order_by("expires_at", "id")
        )
        for delivery in mine:
            _deliver_one(channel, delivery, run=run, now=now, timeout=timeout, tally=tally)
    return tally


def _mark(delivery: ChannelDelivery, *, run: UUID, **changes: Any) -> bool:
    """Record an outcome if this run still holds the delivery."""
    return bool(
        ChannelDelivery.objects.filter(pk=delivery.pk, claim=run, state=State.CLAIMED).update(
            **changes
        )
    )


def _still_current(delivery: ChannelDelivery) -> bool:
    """The certificate still exists with this expiration and still gets notices."""
    src = source(delivery.source)
    if src is None:
        return False
    return src.covered().filter(pk=delivery.object_id, not_after=delivery.expires_at).exists()


def _deliver_one(
    channel: NotificationChannel,
    delivery: ChannelDelivery,
    *,
    run: UUID,
    now: datetime,
    timeout: float,
    tally: DeliveryTally,
) -> None:
    tighter = ChannelDelivery.objects.filter(
        channel=channel,
        source=delivery.source,
        object_id=delivery.object_id,
        expires_at=delivery.expires_at,
        threshold__lt=delivery.threshold,
    ).exists()
    if tighter:
        tally.superseded += _mark(delivery, run=run, state=State.SUPERSEDED, claim=None)
        return
    if not _still_current(delivery):
        tally.suppressed += _mark(delivery, run=run, state=State.SUPPRESSED, claim=None)
        return
    notice = _notice(channel, delivery, now=now)
    answer = post(channel, message(channel.format, notice), delivery.uuid, timeout)
    attempts = delivery.attempts + 1
    if answer.ok:
        marked = _mark(
            delivery,
            run=run,
            state=State.SENT,
            claim=None,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            sent_at=now,
            last_status=answer.status,
            last_error="",
        )
        tally.sent += marked
    else:
        marked = _mark(
            delivery,
            run=run,
            state=State.FAILED,
            claim=None,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            next_attempt_at=now + backoff(attempts),
            last_status=answer.status,
            last_error=answer.error[:500],
        )
        tally.failed += marked
    if not marked:
        tally.lost += 1


def _notice(channel: NotificationChannel, delivery: ChannelDelivery, *, now: datetime) -> Notice:
    org = channel.organization
    tz = org.tzinfo
    src = source(delivery.source)
    url = ""
    uses: list[str] = []
    if src is not None and delivery.object_uuid is not None:
        url = absolute(src.url(org.public_id, delivery.object_uuid), org)
        uses = (
            [
                f"{u.kind}: {u.name}"
                for u in usage.uses_by_certificate([delivery.object_id]).get(delivery.object_id, [])
            ]
            if src.fk_field == "certificate"
            else []
        )
    return Notice(
        delivery=delivery.uuid,
        org=org,
        label=delivery.label,
        kind=delivery.kind_label,
        expires_at=delivery.expires_at,
        days_left=windows.days_left(delivery.expires_at, windows.local_date(now, tz), tz),
        threshold=delivery.threshold,
        url=url,
        uses=uses,
    )


def send_test(
    *, channel: NotificationChannel, acting_user: User | None, now: datetime | None = None
) -> ChannelDelivery:
    """The "Send test" button: one test message now, recorded among the deliveries."""
    now = now or timezone.now()
    org = channel.organization
    delivery = ChannelDelivery.objects.create(
        channel=channel,
        source=ChannelDelivery.TEST_SOURCE,
        object_id=0,
        label="Test message",
        kind_label="Test",
        expires_at=now,
        threshold=0,
        state=State.CLAIMED,
        created_at=now,
    )
    notice = Notice(
        delivery=delivery.uuid,
        org=org,
        label="Example certificate",
        kind="Self-Signed",
        expires_at=now + timedelta(days=30),
        days_left=30,
        threshold=30,
        url=absolute(org_url("notifications:settings", org.public_id), org),
        uses=[],
        test=True,
    )
    answer = post(channel, message(channel.format, notice), delivery.uuid, TIMEOUT)
    delivery.state = State.SENT if answer.ok else State.FAILED
    delivery.attempts = 1
    delivery.last_attempt_at = now
    delivery.sent_at = now if answer.ok else None
    delivery.last_status = answer.status
    delivery.last_error = answer.error[:500]
    delivery.save()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="testedNotificationChannel",
        message=f"Sent a test message to notification channel {channel.name}: "
        + ("delivered" if answer.ok else answer.error),
    )
    return delivery
