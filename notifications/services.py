"""Writes of the notifications app: the expiry job (claim -> send -> mark), the admin's retry,
and who holds Receive Certificate Expiration Notifications (SPEC 4).

The job is deliberately not one transaction: its claims must be committed before it sends,
so that another run (another process, another machine) sees them and leaves them alone, and
each mark is committed right after its email is accepted, so a crash repeats at most the
email in flight and never loses one.
"""

import contextlib
import logging
import os
import smtplib
import socket
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any, TypeVar
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMessage, get_connection
from django.db import DatabaseError, connection, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from notifications import emails, planning, windows
from notifications.models import ExpiryNotice, NotificationRun, NotificationRunOrg, insert_rows
from notifications.recipients import RECEIVE, Recipient
from notifications.sources import source
from orgs import services as org_services
from orgs.models import Membership, Organization, PermissionSet
from orgs.services import Actor, record_audit

log = logging.getLogger(__name__)

SECTION = "Expiration Notifications"
# Orgs planned, claimed and sent together: bounds memory and the size of IN (...) lists.
BATCH_ORGS = 500
State = ExpiryNotice.State
T = TypeVar("T")

# The server answered, but refused this one message: the others may still go through.
MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    BadHeaderError,
    ValueError,
)


class MailServerDown(Exception):
    """The mail server cannot be reached: stop sending, the next run retries."""


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


@dataclass
class Digest:
    """One email: one recipient, one org, every certificate due for them in this run."""

    org: Organization
    recipient: Recipient
    lines: list[emails.Line]
    notice_ids: list[int] = field(default_factory=list)
    outcome: str = ""  # "sent", "failed: ...", "would be sent"


@dataclass
class Outcome:
    run: NotificationRun | None  # None for a dry run
    tally: Tally
    error: str = ""


DigestCallback = Callable[[Digest], None]


def send_expiry_notices(
    *,
    now: datetime | None = None,
    on_date: date | None = None,
    dry_run: bool = False,
    trigger: str = "schedule",
    on_digest: DigestCallback | None = None,
) -> Outcome:
    """Run the job: email every recipient about the certificates due for a notice.

    Safe to run any number of times and in several processes at once. `on_date` runs it as
    if each org's local day were that date; `dry_run` writes nothing and sends nothing
    (`on_digest` still hears of each email that would be sent). Raises only on programming
    or database errors; an unreachable mail server ends the run early with `error` set.
    """
    job = _Job(now=now, on_date=on_date, dry_run=dry_run, trigger=trigger, on_digest=on_digest)
    return job.run()


def retry_notices(
    *, notice_ids: Collection[int], acting_user: Actor, now: datetime | None = None
) -> Outcome:
    """Send failed (or stale claimed) notices now: the admin's "retry" action.

    Notices whose certificate was renewed or deleted, or whose window has passed, are
    suppressed or superseded instead, as a scheduled run would.
    """
    job = _Job(now=now, trigger="admin", acting_user=acting_user)
    return job.run(retry_ids=list(notice_ids))


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class _Job:
    def __init__(
        self,
        *,
        now: datetime | None,
        on_date: date | None = None,
        dry_run: bool = False,
        trigger: str = "schedule",
        on_digest: DigestCallback | None = None,
        acting_user: Actor = None,
    ) -> None:
        # Timestamps follow the real clock unless the caller fixed `now` (tests, --date):
        # a claim must carry the time it was made, or a long run's claims would look stale.
        self.clock: Callable[[], datetime] = (lambda: now) if now else timezone.now
        self.on_date = on_date
        self.dry_run = dry_run
        self.trigger = trigger
        self.on_digest = on_digest
        self.acting_user = acting_user
        self.thresholds = windows.normalize(settings.EXPIRY_NOTICE_DAYS)
        self.tally = Tally()
        self.run_row: NotificationRun | None = None
        self.connection: Any = None
        self.links = _Links()
        self.unmarked: list[tuple[list[int], str, str]] = []
        # The batch being sent: each claimed notice's org, the ones not yet sent, the org
        # figures, and when the claims were last renewed (self.clock() time).
        self.org_of: dict[int, int] = {}
        self.unsent: set[int] = set()
        self.results: dict[int, Tally] = {}
        self.renewed_at: datetime | None = None
        # Claims are renewed three times per lease, so one is never older than a third of
        # the lease when its email starts: only an email taking two thirds of the lease
        # (10 minutes by default) could see its notices taken over while it is sent.
        self.renew_every = timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS / 3)

    def run(self, retry_ids: list[int] | None = None) -> Outcome:
        started = self.clock()
        if not self.dry_run:
            self.run_row = NotificationRun.objects.create(
                started_at=started,
                trigger=self.trigger,
                on_date=self.on_date,
                host=f"{socket.gethostname()}:{os.getpid()}",
            )
            NotificationRun.objects.exclude(pk=self.run_row.pk).interrupt_stale(now=started)
        error = ""
        relaxed = self._relax_commits()
        try:
            work = planning.work_by_org(
                now=started,
                on_date=self.on_date,
                thresholds=self.thresholds,
                retry_ids=retry_ids,
            )
            for batch in _batches(work, BATCH_ORGS):
                plans = planning.plan_batch(
                    batch, now=self.clock(), on_date=self.on_date, thresholds=self.thresholds
                )
                if self.dry_run:
                    self._dry_run(plans)
                else:
                    self._execute(plans)
        except MailServerDown as exc:
            error = f"Mail server unavailable: {exc}. Unsent notices are retried by the next run."
            log.warning("expiry notices: %s", error)
        except Exception as exc:
            self._finish(NotificationRun.Status.FAILED, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._close_connection()
            if relaxed:
                self._restore_commits()
        if error:
            status = NotificationRun.Status.FAILED
        elif self.tally.notices_failed:
            status = NotificationRun.Status.PARTIAL
        else:
            status = NotificationRun.Status.SUCCEEDED
        self._finish(status, error)
        return Outcome(self.run_row, self.tally, error)

    def _relax_commits(self) -> bool:
        """PostgreSQL: do not wait for the WAL flush of each commit during the run.

        Only a crash of the database server (not of this process) can then lose the last
        commits, and a lost claim or mark only means a notice is sent again: the rule is
        "may repeat, never lose". Waiting would cost one disk sync per email.
        """
        if self.dry_run or connection.vendor != "postgresql":
            return False
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
        return True

    def _restore_commits(self) -> None:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")

    def _finish(self, status: str, error: str) -> None:
        if self.run_row is None:
            return
        run = self.run_row
        run.status, run.error, run.finished_at = status, error, self.clock()
        for name in Tally.__dataclass_fields__:
            setattr(run, name, getattr(self.tally, name))
        run.save()

    # --- a batch of orgs -----------------------------------------------------------------

    def _dry_run(self, plans: list[planning.OrgPlan]) -> None:
        for plan in plans:
            rows = [_row_of(n) for n in plan.claims] + [_row_of(p) for p in plan.retry_items]
            for digest in self._digests(plan, rows):
                digest.outcome = "would be sent"
                self.tally.emails_sent += 1
                self.tally.notices_sent += len(digest.lines)
                if self.on_digest:
                    self.on_digest(digest)
            self.tally.superseded += len(plan.superseded) + len(plan.supersede)
            self.tally.suppressed += len(plan.suppress)

    def _execute(self, plans: list[planning.OrgPlan]) -> None:
        assert self.run_row is not None
        self._claim(plans)
        org_ids = [plan.org.pk for plan in plans]
        mine: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in (
            ExpiryNotice.objects.claimed_by(self.run_row)
            .filter(organization_id__in=org_ids)
            .order_by()
            .values(*_ROW_FIELDS)
        ):
            mine[row["organization_id"]].append(row)
        self.org_of = {row["id"]: org_id for org_id, rows in mine.items() for row in rows}
        self.unsent = set(self.org_of)
        self.results = self._recorded_by_claim(org_ids)
        try:
            for plan in plans:
                self._send_org(plan, mine.get(plan.org.pk, []), self.results[plan.org.pk])
        except MailServerDown as exc:
            self._flush_marks()
            # Give back what this batch had claimed and not sent: failed, retried next run.
            unsent = sorted(self.unsent)
            given_back = (
                ExpiryNotice.objects.claimed_by(self.run_row)
                .filter(pk__in=unsent)
                .update(
                    state=State.FAILED,
                    last_attempt_at=self.clock(),
                    last_error=f"Mail server unavailable: {exc}"[:500],
                )
            )
            self._count(unsent, given_back, State.FAILED, "notices_failed")
            raise
        finally:
            self._flush_marks()
            self._record(plans, self.results)

    def _recorded_by_claim(self, org_ids: list[int]) -> dict[int, Tally]:
        """Per org, the notices this run's claim recorded superseded or suppressed.

        Counted in the table, not in the plan: a notice another run inserted or settled
        first is that run's, and is not counted twice.
        """
        assert self.run_row is not None
        results = {org_id: Tally() for org_id in org_ids}
        rows = (
            ExpiryNotice.objects.filter(
                run=self.run_row,
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

    def _claim(self, plans: list[planning.OrgPlan]) -> None:
        """Insert this batch's new notices and take over the ones to retry, in one commit."""
        assert self.run_row is not None
        now = self.clock()
        run = self.run_row
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
                # PostgreSQL: skip rows another run is claiming right now. SQLite has no
                # row locks (and needs none: it serializes writers); there the conditional
                # UPDATE below is what makes the claim exclusive, on both databases.
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
                        state=State.CLAIMED,
                        claimed_at=now,
                        run=run,
                        recipient_email=email,
                    )

    def _send_org(self, plan: planning.OrgPlan, rows: list[dict[str, Any]], tally: Tally) -> None:
        assert self.run_row is not None
        page_url = self.links.settings_page(plan.org.public_id)
        for digest in self._digests(plan, rows):
            if not self._still_mine(digest):
                continue
            try:
                self._send(
                    emails.build_digest(
                        org=plan.org,
                        to=digest.recipient.email,
                        name=digest.recipient.member.full_name or digest.recipient.username,
                        lines=digest.lines,
                        reason=digest.recipient.rule,
                        page_url=page_url,
                    )
                )
            except MESSAGE_ERRORS as exc:
                digest.outcome = f"failed: {exc}"
                self._mark(digest, State.FAILED, error=str(exc))
            except MailServerDown as exc:
                digest.outcome = f"failed: {exc}"
                self._mark(digest, State.FAILED, error=f"Mail server unavailable: {exc}")
                if self.on_digest:
                    self.on_digest(digest)
                raise
            else:
                digest.outcome = "sent"
                tally.emails_sent += 1
                self._mark(digest, State.SENT)
            if self.on_digest:
                self.on_digest(digest)

    def _still_mine(self, digest: Digest) -> bool:
        """Keep in `digest` only the notices this run still holds, renewing the claims when
        a third of the lease has passed; False if none is left to send."""
        assert self.renewed_at is not None
        if self.clock() - self.renewed_at >= self.renew_every:
            self._renew()
        keep = [i for i, pk in enumerate(digest.notice_ids) if pk in self.unsent]
        if len(keep) < len(digest.notice_ids):
            digest.lines = [digest.lines[i] for i in keep]
            digest.notice_ids = [digest.notice_ids[i] for i in keep]
        return bool(keep)

    def _renew(self) -> None:
        """Renew this run's claims and heartbeat; forget the claims another run took over.

        Another run takes over a claim only once it is older than the lease, so a claim
        renewed here stays this run's for a lease. One that was taken over meanwhile (this
        run stalled for longer than the lease) is that run's to send: it is counted lost.
        """
        assert self.run_row is not None
        self._flush_marks()  # so that the claims left are exactly the unsent notices
        now = self.clock()
        with transaction.atomic():
            held = ExpiryNotice.objects.claimed_by(self.run_row).update(claimed_at=now)
            NotificationRun.objects.filter(pk=self.run_row.pk).update(heartbeat_at=now)
        self.renewed_at = now
        if held < len(self.unsent):
            mine = set(
                ExpiryNotice.objects.claimed_by(self.run_row)
                .filter(pk__in=sorted(self.unsent))
                .values_list("pk", flat=True)
            )
            for pk in self.unsent - mine:
                self.results[self.org_of[pk]].notices_lost += 1
            self.unsent &= mine

    def _digests(self, plan: planning.OrgPlan, rows: list[dict[str, Any]]) -> Iterator[Digest]:
        by_user = {r.user_id: r for r in plan.recipients if r.email}
        grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            grouped[row["recipient_id"]].append(row)
        for user_id, notices in sorted(grouped.items(), key=lambda kv: kv[0] or 0):
            recipient = by_user.get(user_id)
            if recipient is None:  # cannot happen: the plan chose them from these recipients
                continue
            notices.sort(key=lambda row: (row["expires_at"], row["label"]))
            lines = _lines(plan, notices, self.links)
            yield Digest(plan.org, recipient, lines, [row["id"] for row in notices])

    def _send(self, message: EmailMessage) -> None:
        try:
            if self.connection is None:
                self.connection = get_connection()
                self.connection.open()
            self.connection.send_messages([message])
        except MESSAGE_ERRORS:
            raise
        except OSError as exc:  # refused, timed out, disconnected (smtplib errors are OSErrors)
            self._close_connection()
            raise MailServerDown(str(exc) or type(exc).__name__) from exc

    def _close_connection(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection = None

    def _mark(self, digest: Digest, state: str, *, error: str = "") -> None:
        """Record the outcome of one email: at once (the default), or with the next few.

        Marks are written after the server accepted the email, never before, so a crash in
        between repeats the email and never loses it. EXPIRY_NOTICE_MARK_EVERY > 1 writes
        them together, one commit for several emails: fewer statements, and a crash may then
        repeat up to that many emails.
        """
        self.unsent.difference_update(digest.notice_ids)
        self.unmarked.append((digest.notice_ids, state, error[:500]))
        if len(self.unmarked) >= max(1, settings.EXPIRY_NOTICE_MARK_EVERY):
            self._flush_marks()

    def _flush_marks(self) -> None:
        if not self.unmarked or self.run_row is None:
            return
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for ids, state, error in self.unmarked:
            groups[(state, error)] += ids
        now = self.clock()
        marked: list[tuple[list[int], int, str]] = []
        # One commit for them all (a single UPDATE needs no transaction of its own).
        with transaction.atomic() if len(groups) > 1 else contextlib.nullcontext():
            for (state, error), ids in groups.items():
                done = ExpiryNotice.mark(
                    ids,
                    run_id=self.run_row.pk,
                    state=state,
                    now=now,
                    error=error,
                )
                marked.append((ids, done, state))
        self.unmarked = []
        for ids, done, state in marked:
            self._count(
                ids, done, state, "notices_sent" if state == State.SENT else "notices_failed"
            )

    def _count(self, ids: list[int], done: int, state: str, figure: str) -> None:
        """Add to each org's `figure` the notices of `ids` this run set to `state` (`done` of
        them); the others had been taken over by another run: a mark by a run that lost its
        claim changes nothing, and is counted lost."""
        assert self.run_row is not None
        if done == len(ids):
            changed = set(ids)
        else:
            changed = set(
                ExpiryNotice.objects.filter(pk__in=ids, run=self.run_row, state=state).values_list(
                    "pk", flat=True
                )
            )
        for pk in ids:
            tally = self.results[self.org_of[pk]]
            if pk in changed:
                setattr(tally, figure, getattr(tally, figure) + 1)
            else:
                tally.notices_lost += 1

    def _record(self, plans: list[planning.OrgPlan], results: dict[int, Tally]) -> None:
        """Per-org figures of this batch, and a Setup Audit Trail line per org that had mail."""
        assert self.run_row is not None
        orgs = {plan.org.pk: plan.org for plan in plans}
        with transaction.atomic():
            insert_rows(
                NotificationRunOrg,
                [
                    {"run_id": self.run_row.pk, "organization_id": org_id, **asdict(t)}
                    for org_id, t in results.items()
                    if t
                ],
            )
            for org_id, t in results.items():
                self.tally.add(t)
                # A person's action (the admin's retry) goes to the Setup Audit Trail; the
                # schedule's runs are recorded by the notices and runs the org's page shows.
                if self.acting_user is not None and (t.emails_sent or t.notices_failed):
                    record_audit(
                        org=orgs[org_id],
                        acting_user=self.acting_user,
                        section=SECTION,
                        action="sentExpiryNotices",
                        message=f"Expiration notices: {t.emails_sent} email(s) sent with "
                        f"{t.notices_sent} notice(s); {t.notices_failed} notice(s) failed",
                    )
            NotificationRun.objects.filter(pk=self.run_row.pk).update(
                **{name: getattr(self.tally, name) for name in Tally.__dataclass_fields__}
            )


_ROW_FIELDS = (
    "id",
    "organization_id",
    "source",
    "object_uuid",
    "label",
    "kind_label",
    "expires_at",
    "threshold",
    "recipient_id",
)


_UNIQUE = ("source", "object_id", "expires_at", "threshold", "recipient_id")


def _row_of(item: dict[str, Any] | planning.PendingItem) -> dict[str, Any]:
    """The fields a digest needs, from a planned notice or a pending one (dry run)."""
    if isinstance(item, planning.PendingItem):
        return {
            "id": item.id,
            "organization_id": item.org_id,
            "source": item.source,
            "object_uuid": item.object_uuid,
            "label": item.label,
            "kind_label": item.kind,
            "expires_at": item.expires_at,
            "threshold": item.threshold,
            "recipient_id": item.recipient_id,
        }
    return {"id": None, **{name: item[name] for name in _ROW_FIELDS if name != "id"}}


class _Links:
    """Absolute URLs of the pages digests link to.

    reverse() costs more than everything else in a digest line, so each kind of page is
    reversed once per run with placeholders, which are then replaced (org ids and uuids are
    URL-safe as they are).
    """

    ORG = "ORG-PLACEHOLDER"
    UUID = UUID(int=0)

    def __init__(self) -> None:
        self._templates: dict[str, str] = {}

    def _template(self, key: str) -> str:
        if key not in self._templates:
            if key == "":
                path = reverse("notifications:settings", args=[self.ORG])
            else:
                src = source(key)
                path = src.url(self.ORG, self.UUID) if src else ""
            self._templates[key] = emails.absolute(path) if path else ""
        return self._templates[key]

    def certificate(self, org_id: str, key: str, uuid: UUID) -> str:
        return self._template(key).replace(self.ORG, org_id).replace(str(self.UUID), str(uuid))

    def settings_page(self, org_id: str) -> str:
        return self._template("").replace(self.ORG, org_id)


def _lines(plan: planning.OrgPlan, rows: list[dict[str, Any]], links: _Links) -> list[emails.Line]:
    tz = plan.org.tzinfo
    return [
        emails.Line(
            label=row["label"],
            kind=row["kind_label"],
            expires_on=windows.local_date(row["expires_at"], tz),
            days_left=windows.days_left(row["expires_at"], plan.today, tz),
            url=links.certificate(plan.org.public_id, row["source"], row["object_uuid"]),
        )
        for row in rows
    ]


# --- who holds Receive Certificate Expiration Notifications ------------------------------

PERMISSION_SET_LABEL = "Certificate Expiration Notifications"
PERMISSION_SET_API_NAME = "Certificate_Expiration_Notifications"


def notification_permission_set(org: Organization) -> PermissionSet | None:
    """The org's standard permission set for expiration notices, if it was created."""
    return PermissionSet.objects.filter(
        organization=org, api_name__iexact=PERMISSION_SET_API_NAME
    ).first()


@transaction.atomic
def ensure_notification_permission_set(*, org: Organization, acting_user: Actor) -> PermissionSet:
    """The standard permission set granting Receive Certificate Expiration Notifications,
    created on first use (through orgs.services, which records it in the audit trail)."""
    pset = notification_permission_set(org)
    if pset is not None:
        return pset
    return org_services.create_permission_set(
        org=org,
        label=PERMISSION_SET_LABEL,
        api_name=PERMISSION_SET_API_NAME,
        permission_codes=[RECEIVE],
        description="Receive the email notices of certificates about to expire.",
        acting_user=acting_user,
    )


@transaction.atomic
def grant_expiration_notifications(*, membership: Membership, acting_user: Actor) -> bool:
    """Give a member every expiration notice by assigning the standard permission set.

    False if they already had that set. Raise ValidationError if the set was edited so it
    grants anything else than exactly that permission: this page needs only Manage
    Certificates, so it must never hand out more (e.g. Modify All Data).
    """
    pset = ensure_notification_permission_set(org=membership.organization, acting_user=acting_user)
    if set(pset.permissions) != {RECEIVE}:
        raise ValidationError(
            f"The permission set {pset.label} must grant exactly Receive Certificate Expiration "
            "Notifications; it was changed under Profiles and Permission Sets, so assign it there."
        )
    return org_services.assign_permission_set(
        membership=membership, pset=pset, acting_user=acting_user
    )


@transaction.atomic
def revoke_expiration_notifications(*, membership: Membership, acting_user: Actor) -> bool:
    """Remove the standard permission set from a member; False if they did not have it.

    A member may still hold the permission through their profile or another permission set:
    those are changed under Profiles and Permission Sets, not here.
    """
    pset = notification_permission_set(membership.organization)
    if pset is None:
        return False
    return org_services.remove_permission_set(
        membership=membership, pset=pset, acting_user=acting_user
    )
