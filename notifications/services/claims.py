"""What a run holds and what it did with it: claims, their renewal, marks, per-org figures.

A run inserts its new notices as `claimed` by itself and takes over the pending ones to
retry, in one commit per batch of orgs, before it sends anything: another run (another
process, another machine) then sees the claims and leaves them alone. Each email's notices are
marked right after the server accepted it, on the condition that the run still holds them.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from notifications import planning
from notifications.models import ExpiryNotice, NotificationRun

State = ExpiryNotice.State

# The columns of the notice a digest needs, read back after the claim.
ROW_FIELDS = (
    "id",
    "organization_id",
    "source",
    "object_id",
    "object_uuid",
    "label",
    "kind_label",
    "expires_at",
    "threshold",
    "recipient_id",
)
_UNIQUE = ("source", "object_id", "expires_at", "threshold", "recipient_id")


@dataclass
class Tally:
    emails_sent: int = 0
    notices_sent: int = 0
    notices_failed: int = 0
    superseded: int = 0
    suppressed: int = 0
    notices_lost: int = 0

    def add(self, other: "Tally") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)


class Claims:
    """The claims of one run on one batch of orgs, and the figures of each org."""

    def __init__(self, run: NotificationRun, clock: Callable[[], datetime]) -> None:
        self.run = run
        self.clock = clock
        # Each claimed notice's org, the ones not yet sent, the org figures, the marks not
        # yet written, and when the claims were last renewed (clock() time).
        self.org_of: dict[int, int] = {}
        self.unsent: set[int] = set()
        self.results: dict[int, Tally] = {}
        self.unmarked: list[tuple[list[int], str, str]] = []
        self.renewed_at: datetime | None = None
        # Claims are renewed three times per lease, so one is never older than a third of
        # the lease when its email starts: only an email taking two thirds of the lease
        # (10 minutes by default) could see its notices taken over while it is sent.
        self.renew_every = timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS / 3)

    def claim(self, plans: list[planning.OrgPlan]) -> dict[int, list[dict[str, Any]]]:
        """Insert the batch's new notices and take over the ones to retry, in one commit.

        Returns {org id: the notices this run now holds there, as ROW_FIELDS dicts}.
        """
        now = self.clock()
        run = self.run
        new = [notice for plan in plans for notice in (*plan.claims, *plan.held, *plan.superseded)]
        for notice in new:
            notice["run_id"] = run.pk
            if notice["state"] == State.CLAIMED:
                notice["claimed_at"] = now
        # One order for every process, so concurrent inserts of the same keys queue up
        # instead of deadlocking.
        new.sort(key=lambda n: tuple(n[k] for k in _UNIQUE))
        reasons: dict[tuple[str, str], list[int]] = defaultdict(list)
        for plan in plans:
            for pk, reason in plan.supersede.items():
                reasons[(State.SUPERSEDED, reason)].append(pk)
            for pk, reason in plan.suppress.items():
                reasons[(State.SUPPRESSED, reason)].append(pk)
        retry = sorted(pk for plan in plans for pk in plan.retry)
        with transaction.atomic():
            NotificationRun.objects.filter(pk=run.pk).update(heartbeat_at=now)
            self.renewed_at = now
            # Conflicts are notices another run inserted first: they are that run's to send.
            ExpiryNotice.insert_new(new)
            for (state, reason), pks in reasons.items():
                ExpiryNotice.objects.pending(now=now).filter(pk__in=pks).update(
                    state=state, last_error=reason, run=run
                )
            if retry:
                self._take_over(plans, retry, now)
        org_ids = [plan.org.pk for plan in plans]
        mine: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in (
            ExpiryNotice.objects.claimed_by(run)
            .filter(organization_id__in=org_ids)
            .order_by()
            .values(*ROW_FIELDS)
        ):
            mine[row["organization_id"]].append(row)
        self.org_of = {row["id"]: org_id for org_id, rows in mine.items() for row in rows}
        self.unsent = set(self.org_of)
        self.results = self._recorded_by_claim(org_ids)
        return mine

    def _take_over(self, plans: list[planning.OrgPlan], retry: list[int], now: datetime) -> None:
        # PostgreSQL: skip rows another run is claiming right now. SQLite has no row locks
        # (and needs none: it serializes writers); there the conditional UPDATE below is
        # what makes the claim exclusive, on both databases.
        free = list(
            ExpiryNotice.objects.pending(now=now)
            .filter(pk__in=retry)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        emails_of = {
            item.id: recipient.email
            for plan in plans
            for item in plan.retry_items
            for recipient in plan.recipients
            if recipient.user_id == item.recipient_id
        }
        by_email: dict[str, list[int]] = defaultdict(list)
        for pk in free:
            by_email[emails_of.get(pk, "")].append(pk)
        for email, pks in by_email.items():
            ExpiryNotice.objects.pending(now=now).filter(pk__in=pks).update(
                state=State.CLAIMED, claimed_at=now, run=self.run, recipient_email=email
            )

    def _recorded_by_claim(self, org_ids: list[int]) -> dict[int, Tally]:
        """Per org, the notices this run's claim recorded superseded or suppressed.

        Counted in the table, not in the plan: a notice another run inserted or settled
        first is that run's, and is not counted twice.
        """
        results = {org_id: Tally() for org_id in org_ids}
        rows = (
            ExpiryNotice.objects.filter(
                run=self.run,
                organization_id__in=org_ids,
                state__in=[State.SUPERSEDED, State.SUPPRESSED],
            )
            .order_by()
            .values_list("organization_id", "state")
            .annotate(n=Count("pk"))
        )
        for org_id, state, n in rows:
            setattr(results[org_id], str(state), n)
        return results

    def still_mine(self, notice_ids: list[int]) -> list[int]:
        """The positions in `notice_ids` of the notices this run still holds, renewing the
        claims when a third of the lease has passed."""
        assert self.renewed_at is not None
        if self.clock() - self.renewed_at >= self.renew_every:
            self.renew()
        return [i for i, pk in enumerate(notice_ids) if pk in self.unsent]

    def renew(self) -> None:
        """Renew this run's claims and heartbeat; forget the claims another run took over.

        Another run takes over a claim only once it is older than the lease, so a claim
        renewed here stays this run's for a lease. One that was taken over meanwhile (this
        run stalled for longer than the lease) is that run's to send: it is counted lost.
        """
        self.flush_marks()  # so that the claims left are exactly the unsent notices
        now = self.clock()
        with transaction.atomic():
            held = ExpiryNotice.objects.claimed_by(self.run).update(claimed_at=now)
            NotificationRun.objects.filter(pk=self.run.pk).update(heartbeat_at=now)
        self.renewed_at = now
        if held < len(self.unsent):
            mine = set(
                ExpiryNotice.objects.claimed_by(self.run)
                .filter(pk__in=sorted(self.unsent))
                .values_list("pk", flat=True)
            )
            for pk in self.unsent - mine:
                self.results[self.org_of[pk]].notices_lost += 1
            self.unsent &= mine

    def mark(self, notice_ids: list[int], state: str, *, error: str = "") -> None:
        """Record the outcome of one email: at once (the default), or with the next few.

        Marks are written after the server accepted the email, never before, so a crash in
        between repeats the email and never loses it. EXPIRY_NOTICE_MARK_EVERY > 1 writes
        them together, one commit for several emails: fewer statements, and a crash may then
        repeat up to that many emails.
        """
        self.unsent.difference_update(notice_ids)
        self.unmarked.append((notice_ids, state, error[:500]))
        if len(self.unmarked) >= max(1, settings.EXPIRY_NOTICE_MARK_EVERY):
            self.flush_marks()

    def flush_marks(self) -> None:
        if not self.unmarked:
            return
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for ids, state, error in self.unmarked:
            groups[(state, error)] += ids
        now = self.clock()
        marked: list[tuple[list[int], int, str]] = []
        with transaction.atomic():  # one commit for them all
            _commit_without_flush()
            for (state, error), ids in groups.items():
                done = ExpiryNotice.mark(ids, run_id=self.run.pk, state=state, now=now, error=error)
                marked.append((ids, done, state))
        self.unmarked = []
        for ids, done, state in marked:
            self._count(
                ids, done, state, "notices_sent" if state == State.SENT else "notices_failed"
            )

    def give_back(self, error: str) -> None:
        """The mail server is down: what this batch claimed and did not send becomes failed,
        for the next run to retry."""
        self.flush_marks()
        unsent = sorted(self.unsent)
        given_back = (
            ExpiryNotice.objects.claimed_by(self.run)
            .filter(pk__in=unsent)
            .update(state=State.FAILED, last_attempt_at=self.clock(), last_error=error[:500])
        )
        self._count(unsent, given_back, State.FAILED, "notices_failed")

    def _count(self, ids: list[int], done: int, state: str, figure: str) -> None:
        """Add to each org's `figure` the notices of `ids` this run set to `state` (`done` of
        them); the others had been taken over by another run: a mark by a run that lost its
        claim changes nothing, and is counted lost."""
        if done == len(ids):
            changed = set(ids)
        else:
            changed = set(
                ExpiryNotice.objects.filter(pk__in=ids, run=self.run, state=state).values_list(
                    "pk", flat=True
                )
            )
        for pk in ids:
            tally = self.results[self.org_of[pk]]
            if pk in changed:
                setattr(tally, figure, getattr(tally, figure) + 1)
            else:
                tally.notices_lost += 1


def _commit_without_flush() -> None:
    """PostgreSQL: the current transaction's commit does not wait for its WAL to reach the disk.

    Used for the marks only, inside their own transaction (SET LOCAL: the session and every
    other write keep the server's setting). Waiting for the flush cost 2.8 ms per committed
    UPDATE on the benchmark machine against 0.15 ms without, 3 times what delivering the email
    to a loopback SMTP server costs, and the job commits one mark per email
    (docs/benchmarks.md). Only a crash of the database server can then lose the last marks,
    and a lost mark only means its email is sent again: "may repeat, never lose".
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
