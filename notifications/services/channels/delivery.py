"""The channels' run: claim the deliveries due and those to retry, send, mark.

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

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.db.models import Case, Exists, F, OuterRef, PositiveSmallIntegerField, Q, Value, When
from django.utils import timezone

from certadmin import usage
from notifications import windows
from notifications.models import ChannelDelivery, NotificationChannel
from notifications.services.channels.formats import Notice, message
from notifications.services.channels.transport import TIMEOUT, post
from notifications.sources import Source, source, sources
from orgs.links import absolute

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
