"""The expiry job: plan a batch of orgs, claim, send one digest per recipient, mark, record.

The job is deliberately not one transaction: its claims must be committed before it sends,
so that another run (another process, another machine) sees them and leaves them alone, and
each mark is committed right after its email is accepted, so a crash repeats at most the
email in flight and never loses one (services.claims).
"""

import contextlib
import logging
import os
import smtplib
import socket
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any, TypeVar
from uuid import UUID

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from certadmin import kinds, usage
from notifications import emails, planning, windows
from notifications.models import ExpiryNotice, NotificationRun, NotificationRunOrg
from notifications.recipients import Recipient
from notifications.services.claims import ROW_FIELDS, Claims, Tally
from notifications.sources import source
from orgs.links import absolute, current_urlconf, org_url, path_builder
from orgs.models import Organization
from orgs.services.audit import Actor, record_audit
from orgs.wording import count

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
    job = Job(now=now, on_date=on_date, dry_run=dry_run, trigger=trigger, on_digest=on_digest)
    return job.run()


def retry_notices(
    *, notice_ids: Collection[int], acting_user: Actor, now: datetime | None = None
) -> Outcome:
    """Send failed (or stale claimed) notices now: the admin's "retry" action.

    Notices whose certificate was renewed or deleted, or whose window has passed, are
    suppressed or superseded instead, as a scheduled run would.
    """
    job = Job(now=now, trigger="admin", acting_user=acting_user)
    return job.run(retry_ids=list(notice_ids))


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class Job:
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
        if error:
            status = NotificationRun.Status.FAILED
        elif self.tally.notices_failed:
            status = NotificationRun.Status.PARTIAL
        else:
            status = NotificationRun.Status.SUCCEEDED
        self._finish(status, error)
        return Outcome(self.run_row, self.tally, error)

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
        claims = Claims(self.run_row, self.clock)
        mine = claims.claim(plans)
        try:
            for plan in plans:
                self._send_org(plan, mine.get(plan.org.pk, []), claims)
        except MailServerDown as exc:
            # Give back what this batch had claimed and not sent: failed, retried next run.
            claims.give_back(f"Mail server unavailable: {exc}")
            raise
        finally:
            claims.flush_marks()
            self._record(plans, claims.results)

    def _send_org(self, plan: planning.OrgPlan, rows: list[dict[str, Any]], claims: Claims) -> None:
        tally = claims.results[plan.org.pk]
        page_url = self.links.settings_page(plan.org)
        for digest in self._digests(plan, rows):
            keep = claims.still_mine(digest.notice_ids)
            if not keep:
                continue
            if len(keep) < len(digest.notice_ids):
                digest.lines = [digest.lines[i] for i in keep]
                digest.notice_ids = [digest.notice_ids[i] for i in keep]
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
                claims.mark(digest.notice_ids, State.FAILED, error=str(exc))
            except MailServerDown as exc:
                digest.outcome = f"failed: {exc}"
                claims.mark(
                    digest.notice_ids, State.FAILED, error=f"Mail server unavailable: {exc}"
                )
                if self.on_digest:
                    self.on_digest(digest)
                raise
            else:
                digest.outcome = "sent"
                tally.emails_sent += 1
                claims.mark(digest.notice_ids, State.SENT)
            if self.on_digest:
                self.on_digest(digest)

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

    def _record(self, plans: list[planning.OrgPlan], results: dict[int, Tally]) -> None:
        """Per-org figures of this batch, and a Setup Audit Trail line per org that had mail."""
        assert self.run_row is not None
        orgs = {plan.org.pk: plan.org for plan in plans}
        with transaction.atomic():
            NotificationRunOrg.objects.bulk_create(
                [
                    NotificationRunOrg(run=self.run_row, organization_id=org_id, **asdict(t))
                    for org_id, t in results.items()
                    if t
                ]
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
                        message="Expiration notices: "
                        f"{count(t.emails_sent, 'email', 'emails')} sent with "
                        f"{count(t.notices_sent, 'notice', 'notices')}; "
                        f"{count(t.notices_failed, 'notice', 'notices')} failed",
                    )
            NotificationRun.objects.filter(pk=self.run_row.pk).update(
                **{name: getattr(self.tally, name) for name in Tally.__dataclass_fields__}
            )


def _row_of(item: dict[str, Any] | planning.PendingItem) -> dict[str, Any]:
    """The fields a digest needs, from a planned notice or a pending one (dry run)."""
    if isinstance(item, planning.PendingItem):
        return {
            "id": item.id,
            "organization_id": item.org_id,
            "source": item.source,
            "object_id": item.object_id,
            "object_uuid": item.object_uuid,
            "label": item.label,
            "kind_label": item.kind,
            "expires_at": item.expires_at,
            "threshold": item.threshold,
            "recipient_id": item.recipient_id,
        }
    return {"id": None, **{name: item[name] for name in ROW_FIELDS if name != "id"}}


class _Links:
    """Absolute URLs of the pages digests link to, through orgs.links (one reverse() per
    kind of page and process, then the ids are substituted)."""

    def __init__(self) -> None:
        self.urlconf = current_urlconf()
        self.paths: dict[str, Callable[[str, UUID | str], str] | None] = {}

    def certificate(self, org: Organization, key: str, uuid: UUID) -> str:
        if key not in self.paths:
            src = source(key)
            self.paths[key] = path_builder(src.url, self.urlconf) if src else None
        path = self.paths[key]
        return absolute(path(org.public_id, uuid), org) if path else ""

    def settings_page(self, org: Organization) -> str:
        return absolute(org_url("notifications:settings", org.public_id, self.urlconf), org)


def _lines(plan: planning.OrgPlan, rows: list[dict[str, Any]], links: _Links) -> list[emails.Line]:
    tz = plan.org.tzinfo
    # One query for the uses of every certificate of the digest (certadmin.usage).
    ids = [row["object_id"] for row in rows if row["source"] == kinds.CERTIFICATE]
    uses = usage.uses_by_certificate(ids) if ids else {}
    return [
        emails.Line(
            label=row["label"],
            kind=row["kind_label"],
            expires_on=windows.local_date(row["expires_at"], tz),
            days_left=windows.days_left(row["expires_at"], plan.today, tz),
            url=links.certificate(plan.org, row["source"], row["object_uuid"]),
            uses=tuple(
                f"{u.kind}: {u.name}"
                for u in (
                    uses.get(row["object_id"], []) if row["source"] == kinds.CERTIFICATE else []
                )
            ),
        )
        for row in rows
    ]
