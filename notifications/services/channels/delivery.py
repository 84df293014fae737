"""The channels' runs: claim the deliveries due and those to retry, send, mark.

The rules are the emails' (services.claims), per channel: a run INSERTs the deliveries due
as `claimed` by itself (the unique constraint ignores what another run inserted first),
takes over failed ones whose back-off has passed and claims older than the lease with one
conditional UPDATE, sends only what it holds, and marks each delivery right after its answer
with an UPDATE conditional on still holding it. So a notice reaches a channel once per
(channel, certificate, expiration, threshold) whatever the number of runs; a run killed
between the answer and the mark resends after the lease, with the same `Idempotency-Key`
(the delivery's uuid) for the receiver to drop the repeat.

Two runs share this code: `deliver()`, in the hourly expiry job, does all of it; `retry_due()`,
every five minutes, only takes over and sends the deliveries due for a retry, so a failure is
retried when its back-off (`BACKOFF`) has passed, not at the next hourly run. Either may run
while the other does. A claim carries the time it was made and is renewed while a run works
through a channel, as the emails' claims are: a long run's claims never look abandoned to
the other. A retry whose certificate has meanwhile entered a tighter window is superseded,
one whose certificate was renewed or deleted is suppressed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.db.models import (
    Case,
    Exists,
    F,
    OuterRef,
    PositiveSmallIntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from certadmin import usage
from notifications import windows
from notifications.models import ChannelDelivery, NotificationChannel
from notifications.services.channels.formats import Notice, message
from notifications.services.channels.transport import TIMEOUT, post
from notifications.sources import Source, source, sources
from orgs.links import absolute
from orgs.wording import count

# Wait before the next attempt after the n-th failure (then the last one, repeated), kept by
# the 5-minute retries: a receiver back after a day down gets its notices within four hours.
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

    @property
    def summary(self) -> str:
        lost = f", {self.lost} lost to another run" if self.lost else ""
        return (
            f"{count(self.sent, 'webhook delivery', 'webhook deliveries')} sent, "
            f"{self.failed} failed, {self.superseded} superseded, "
            f"{self.suppressed} suppressed{lost}"
        )


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
    run = _Run(now=now, timeout=timeout)
    thresholds = windows.normalize(settings.EXPIRY_NOTICE_DAYS)
    for channel in _enabled_channels():
        run.claim_due(channel, thresholds)
        run.take_over(channel)
        run.send_claimed(channel, thresholds)
    return run.tally


def retry_due(*, now: datetime | None = None, timeout: float = TIMEOUT) -> DeliveryTally:
    """Only the retries: the deliveries of enabled channels that failed and whose back-off has
    passed, and claims left older than the lease; nothing new (the hourly `deliver()` inserts
    those). Safe to run at any time, also while `deliver()` runs."""
    run = _Run(now=now, timeout=timeout)
    thresholds = windows.normalize(settings.EXPIRY_NOTICE_DAYS)
    # Through the partial index of pending deliveries: most runs find nothing and stop here.
    due = ChannelDelivery.objects.filter(_retryable(run.clock())).values("channel_id")
    for channel in _enabled_channels().filter(pk__in=due):
        run.take_over(channel)
        run.send_claimed(channel, thresholds)
    return run.tally


def _enabled_channels() -> QuerySet[NotificationChannel]:
    return NotificationChannel.objects.filter(enabled=True).select_related(
        "organization", "named_credential__organization", "named_credential__certificate"
    )


def _retryable(now: datetime) -> Q:
    """Deliveries a run may take over: failed ones whose back-off has passed, and claims older
    than the lease (their run was killed, or stalled past it); never a "Send test"."""
    stale = now - timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS)
    return (
        Q(state=State.FAILED, next_attempt_at__lte=now)
        | Q(state=State.CLAIMED, claimed_at__lt=stale)
    ) & ~Q(source=ChannelDelivery.TEST_SOURCE)


class _Run:
    """One run's claims (`id` in ChannelDelivery.claim) and what it did with them.

    Timestamps follow the real clock unless the caller fixed `now` (tests): a claim carries
    the time it was made, so a run that reaches a channel late does not make claims that
    already look older than the lease.
    """

    def __init__(self, *, now: datetime | None, timeout: float) -> None:
        self.id = uuid4()
        self.clock: Callable[[], datetime] = (lambda: now) if now else timezone.now
        self.timeout = timeout
        self.tally = DeliveryTally()
        # As the emails' claims (services.claims): renewed three times per lease, so a claim
        # is never older than a third of the lease when its POST (at most `timeout`) starts.
        self.renew_every = timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS / 3)

    def claim_due(self, channel: NotificationChannel, thresholds: tuple[int, ...]) -> None:
        """INSERT the channel's deliveries due, claimed by this run (conflicts: another run's)."""
        now = self.clock()
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
                claim=self.id,
                claimed_at=now,
                created_at=now,
            )
            for src in sources()
            for row in _due(channel, src, today=today, thresholds=thresholds)
        ]
        ChannelDelivery.objects.bulk_create(new, ignore_conflicts=True)

    def take_over(self, channel: NotificationChannel) -> None:
        """Claim the channel's deliveries to retry, with one conditional UPDATE.

        Filtered on the delivery's own columns (no join), so that on PostgreSQL an UPDATE that
        waited for another run's re-checks the state and time of the row that run left, and
        skips it; SQLite runs one writer at a time.
        """
        now = self.clock()
        ChannelDelivery.objects.filter(_retryable(now), channel=channel).update(
            state=State.CLAIMED, claim=self.id, claimed_at=now
        )

    def _held(self, channel: NotificationChannel) -> QuerySet[ChannelDelivery]:
        return ChannelDelivery.objects.filter(channel=channel, claim=self.id, state=State.CLAIMED)

    def send_claimed(self, channel: NotificationChannel, thresholds: tuple[int, ...]) -> None:
        """Send what this run holds in `channel`, renewing the claims as time passes; a claim
        another run took over meanwhile (this run stalled past the lease) is theirs to send."""
        mine = list(self._held(channel).order_by("expires_at", "id"))
        held = {delivery.pk for delivery in mine}
        renewed_at = self.clock()
        for delivery in mine:
            if self.clock() - renewed_at >= self.renew_every:
                renewed_at = self.clock()
                self._held(channel).update(claimed_at=renewed_at)
                held = set(self._held(channel).values_list("pk", flat=True))
            if delivery.pk not in held:
                self.tally.lost += 1
                continue
            _deliver_one(
                channel,
                delivery,
                run=self.id,
                now=self.clock(),
                timeout=self.timeout,
                thresholds=thresholds,
                tally=self.tally,
            )


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


def _tighter_window(
    channel: NotificationChannel,
    delivery: ChannelDelivery,
    *,
    now: datetime,
    thresholds: tuple[int, ...],
) -> bool:
    """The certificate has entered a tighter notice's window since this delivery was due (a
    retry between the local midnight and the hourly run that inserts the tighter one)."""
    tz = channel.organization.tzinfo
    left = windows.days_left(delivery.expires_at, windows.local_date(now, tz), tz)
    window = windows.window_for(left, thresholds)
    return window is not None and window.threshold < delivery.threshold


def _deliver_one(
    channel: NotificationChannel,
    delivery: ChannelDelivery,
    *,
    run: UUID,
    now: datetime,
    timeout: float,
    thresholds: tuple[int, ...],
    tally: DeliveryTally,
) -> None:
    tighter = ChannelDelivery.objects.filter(
        channel=channel,
        source=delivery.source,
        object_id=delivery.object_id,
        expires_at=delivery.expires_at,
        threshold__lt=delivery.threshold,
    ).exists()
    if tighter or _tighter_window(channel, delivery, now=now, thresholds=thresholds):
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
