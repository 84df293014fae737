"""What a run has to do: due certificates, notices to retry, and the plan for a batch of orgs.

Reads only; the writes are in services.py. The Setup page preview and `--dry-run` use the
same functions as the job, so what they show is what the job does.

The due selection (notifications.due) keeps only compact keys for the whole run; the
details are read here per batch of orgs, so memory follows what is due, not the size of the
table, and the number of queries grows with the number of orgs that have something due,
never with the number of certificates.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from notifications import windows
from notifications.due import DueKey, due_keys
from notifications.models import ExpiryNotice
from notifications.recipients import Recipient, recipients_by_org
from notifications.sources import source
from orgs.models import Organization


@dataclass(frozen=True)
class DueItem:
    """A certificate inside a threshold's window, with no notice yet at that threshold."""

    source: str
    object_id: int
    org_id: int
    object_uuid: UUID
    label: str
    kind: str
    expires_at: datetime
    threshold: int


@dataclass(frozen=True)
class PendingItem:
    """A notice left failed, or claimed by a run that did not finish it."""

    id: int
    org_id: int
    source: str
    object_id: int
    object_uuid: UUID
    label: str
    kind: str
    expires_at: datetime
    threshold: int
    recipient_id: int | None


def org_today(org: Organization, *, now: datetime, on_date: date | None) -> date:
    """The org's current day: `on_date` when the run is for a chosen day."""
    return on_date or windows.local_date(now, org.tzinfo)


def pending_items(
    *,
    now: datetime,
    org_ids: Collection[int] | None = None,
    ids: Collection[int] | None = None,
) -> list[PendingItem]:
    rows = ExpiryNotice.objects.pending(now=now)
    if org_ids is not None:
        rows = rows.filter(organization_id__in=list(org_ids))
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    columns = (
        "pk",
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
    rows = rows.order_by("organization_id", "pk")
    return [PendingItem(*values) for values in rows.values_list(*columns)]


@dataclass
class OrgWork:
    org_id: int
    due: list[DueKey] = field(default_factory=list)
    pending: list[PendingItem] = field(default_factory=list)


def work_by_org(
    *,
    now: datetime,
    on_date: date | None,
    thresholds: Iterable[int],
    org_ids: Collection[int] | None = None,
    retry_ids: Collection[int] | None = None,
) -> Iterator[OrgWork]:
    """Due and pending items grouped by org, in org id order.

    With `retry_ids`, only those pending notices (the admin's "retry") and nothing new.
    """
    pending = pending_items(now=now, org_ids=org_ids, ids=retry_ids)
    due = (
        []
        if retry_ids is not None
        else due_keys(now=now, on_date=on_date, thresholds=thresholds, org_ids=org_ids)
    )
    work: dict[int, OrgWork] = {}
    for item in pending:
        work.setdefault(item.org_id, OrgWork(item.org_id)).pending.append(item)
    for key in due:
        work.setdefault(key.org_id, OrgWork(key.org_id)).due.append(key)
    for org_id in sorted(work):
        yield work.pop(org_id)


# --- the plan for a batch of orgs -------------------------------------------------------


@dataclass
class OrgPlan:
    """What to do for one org in one run."""

    org: Organization
    today: date
    recipients: list[Recipient]
    # New notices, as column values (ExpiryNotice.insert_new): to send, and recorded unsent.
    claims: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[dict[str, Any]] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)  # pending notices to send again
    retry_items: list[PendingItem] = field(default_factory=list)
    supersede: dict[int, str] = field(default_factory=dict)  # pending id -> reason
    suppress: dict[int, str] = field(default_factory=dict)
    # Recipients who already had this org's email today: their notices wait for tomorrow.
    emailed_today: set[int] = field(default_factory=set)


def plan_batch(
    batch: list[OrgWork], *, now: datetime, on_date: date | None, thresholds: Iterable[int]
) -> list[OrgPlan]:
    """Decide, for a batch of orgs, which notices to create, retry, supersede or suppress.

    A constant number of queries per batch: the orgs, their members (2), the certificates
    behind pending notices and the thresholds already recorded for the due ones (one each
    per kind of certificate).
    """
    thresholds = windows.normalize(thresholds)
    org_ids = [work.org_id for work in batch]
    orgs = Organization.objects.only("name", "public_id", "time_zone", "served_at_url").in_bulk(
        org_ids
    )
    recipients = recipients_by_org(org_ids, thresholds)
    current = _current_objects([p for work in batch for p in work.pending])
    details = _due_details([d for work in batch for d in work.due])
    recorded = _recorded_thresholds(list(details.values()))
    emailed = _emailed_today(list(orgs.values()), now=now, on_date=on_date)
    plans = []
    for work in batch:
        org = orgs.get(work.org_id)
        if org is None:  # deleted while the run was going
            continue
        plan = OrgPlan(org, org_today(org, now=now, on_date=on_date), recipients.get(org.pk, []))
        plan.emailed_today = emailed.get(org.pk, set())
        _plan_pending(plan, work.pending, current, thresholds)
        due = [
            details[(d.source, d.object_id)] for d in work.due if (d.source, d.object_id) in details
        ]
        _plan_due(plan, due, recorded, thresholds, now=now)
        plans.append(plan)
    return plans


def _emailed_today(
    orgs: list[Organization], *, now: datetime, on_date: date | None
) -> dict[int, set[int]]:
    """{org id: the recipients already emailed today (the org's local day)}, one query.

    SPEC 4: at most one email per person per org per day. A certificate that enters a
    window after the person's digest went out (imported, renewed, or a permission granted
    later that day) waits for the next day's digest.
    """
    if not orgs:
        return {}
    starts, ends = {}, {}
    for org in orgs:
        day = org_today(org, now=now, on_date=on_date)
        starts[org.pk] = windows.start_of_day(day, org.tzinfo)
        ends[org.pk] = windows.start_of_day(day + timedelta(days=1), org.tzinfo)
    rows = (
        ExpiryNotice.objects.filter(
            organization_id__in=list(starts),
            state=ExpiryNotice.State.SENT,
            sent_at__gte=min(starts.values()),
            sent_at__lt=max(ends.values()),
        )
        .order_by()
        .values_list("organization_id", "recipient_id", "sent_at")
        .distinct()
    )
    emailed: dict[int, set[int]] = defaultdict(set)
    for org_id, recipient_id, sent_at in rows:
        if (
            recipient_id is not None
            and sent_at is not None
            and starts[org_id] <= sent_at < ends[org_id]
        ):
            emailed[org_id].add(recipient_id)
    return emailed


def _due_details(keys: list[DueKey]) -> dict[tuple[str, int], DueItem]:
    """The label, type and uuid of due certificates, one query per kind.

    A certificate renewed or deleted since it was selected is left out: the next run
    sees it as it is then.
    """
    by_source: dict[str, dict[int, DueKey]] = defaultdict(dict)
    for key in keys:
        by_source[key.source][key.object_id] = key
    found = {}
    for key_name, wanted in by_source.items():
        src = source(key_name)
        if src is None:
            continue
        rows = (
            src.covered()
            .filter(pk__in=list(wanted))
            .annotate(kind_label=src.kind)
            .order_by()
            .values_list("pk", "uuid", "label", "kind_label", "not_after")
        )
        for pk, uuid, label, kind, not_after in rows:
            due = wanted[pk]
            if not_after == due.expires_at:
                found[(key_name, pk)] = DueItem(
                    key_name, pk, due.org_id, uuid, label, kind, not_after, due.threshold
                )
    return found


def _current_objects(pending: list[PendingItem]) -> dict[tuple[str, int], datetime]:
    """{(source, object id): its expiration now} for the certificates behind `pending`."""
    by_source: dict[str, set[int]] = defaultdict(set)
    for item in pending:
        by_source[item.source].add(item.object_id)
    found = {}
    for key, ids in by_source.items():
        src = source(key)
        if src is None:
            continue
        rows = src.covered().filter(pk__in=ids).order_by().values_list("pk", "not_after")
        found.update({(key, pk): not_after for pk, not_after in rows})
    return found


def _recorded_thresholds(due: list[DueItem]) -> set[tuple[str, int, datetime, int]]:
    """(source, object id, expiration, threshold) that already have a notice, any recipient."""
    by_source: dict[str, set[int]] = defaultdict(set)
    for item in due:
        by_source[item.source].add(item.object_id)
    recorded: set[tuple[str, int, datetime, int]] = set()
    for key, ids in by_source.items():
        rows = (
            ExpiryNotice.objects.filter(source=key, object_id__in=ids)
            .order_by()
            .values_list("object_id", "expires_at", "threshold")
            .distinct()
        )
        recorded.update((key, pk, expires_at, threshold) for pk, expires_at, threshold in rows)
    return recorded


# How long after its day a day-of notice that could not be sent is still sent (late).
LATE_DAY_OF_DAYS = 7


def _plan_pending(
    plan: OrgPlan,
    pending: list[PendingItem],
    current: dict[tuple[str, int], datetime],
    thresholds: tuple[int, ...],
) -> None:
    receiving = {r.user_id: r for r in plan.recipients if r.email}
    for item in pending:
        expires_now = current.get((item.source, item.object_id))
        if expires_now is None:
            plan.suppress[item.id] = (
                "The certificate was deleted, or replaced by one that took over all its uses."
            )
        elif expires_now != item.expires_at:
            plan.suppress[item.id] = "The certificate was renewed: a new expiration date."
        else:
            left = windows.days_left(item.expires_at, plan.today, plan.org.tzinfo)
            window = windows.window_for(left, thresholds)
            recipient = receiving.get(item.recipient_id or 0)
            if (window is None or window.threshold != item.threshold) and not _late_day_of(
                item, left, thresholds
            ):
                plan.supersede[item.id] = "Its window passed before it could be sent."
            elif recipient is None or item.threshold not in recipient.thresholds:
                plan.suppress[item.id] = "The recipient no longer receives these notices."
            elif recipient.user_id in plan.emailed_today:
                continue  # left pending: it goes with the person's next day's digest
            else:
                plan.retry.append(item.id)
                plan.retry_items.append(item)


def _late_day_of(item: PendingItem, days_left: int, thresholds: tuple[int, ...]) -> bool:
    """A pending notice of the tightest threshold (the day-of notice), its day passed.

    There is no tighter notice to send instead, so superseding it would mean the person is
    never told: it is sent late (the email says so), for up to LATE_DAY_OF_DAYS days after
    the expiration date. Only notices that exist are sent late: a run that hit a mail
    outage or crashed left them failed or claimed; a day on which no run started at all
    leaves no notice to send.
    """
    return item.threshold == min(thresholds) and -LATE_DAY_OF_DAYS <= days_left < 0


def _plan_due(
    plan: OrgPlan,
    due: list[DueItem],
    recorded: set[tuple[str, int, datetime, int]],
    thresholds: tuple[int, ...],
    *,
    now: datetime,
) -> None:
    receiving = [r for r in plan.recipients if r.email]
    for item in due:
        src = source(item.source)
        fk = {src.fk_field + "_id": item.object_id} if src and src.fk_field else {}
        for recipient in receiving:
            if item.threshold not in recipient.thresholds:
                continue
            if recipient.user_id in plan.emailed_today:
                # Recorded, so that the due selection (per certificate) does not pick it
                # again, and sent with the person's next digest (late if it is the day-of).
                plan.held.append(
                    _notice(
                        item,
                        recipient,
                        item.threshold,
                        now=now,
                        state=ExpiryNotice.State.HELD,
                        last_error="This person already had an email about this organization "
                        "today: it goes with the next day's.",
                        **fk,
                    )
                )
            else:
                plan.claims.append(_notice(item, recipient, item.threshold, now=now, **fk))
        # Caught up late: the larger notices it skipped are recorded, never sent late.
        for larger in (t for t in thresholds if t > item.threshold):
            if (item.source, item.object_id, item.expires_at, larger) in recorded:
                continue
            for recipient in receiving:
                if larger in recipient.thresholds:
                    plan.superseded.append(
                        _notice(
                            item,
                            recipient,
                            larger,
                            now=now,
                            state=ExpiryNotice.State.SUPERSEDED,
                            last_error=f"Caught up late: the {item.threshold}-day notice "
                            "was due instead.",
                            **fk,
                        )
                    )


def _notice(
    item: DueItem, recipient: Recipient, threshold: int, *, now: datetime, **fields: object
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "organization_id": item.org_id,
        "source": item.source,
        "object_id": item.object_id,
        "object_uuid": item.object_uuid,
        "label": item.label,
        "kind_label": item.kind,
        "expires_at": item.expires_at,
        "threshold": threshold,
        "recipient_id": recipient.user_id,
        "recipient_email": recipient.email,
        "state": ExpiryNotice.State.CLAIMED,
        "created_at": now,
    }
    values.update(fields)
    return values
