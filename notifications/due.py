"""Which certificates are due for a notice today (SPEC 4), for the whole run.

One query per (time zone in use, kind of certificate): an indexed range on `not_after`
between datetime bounds computed here for that zone's local day, a CASE giving the window
each row falls in, and NOT EXISTS of a notice at that threshold or a tighter one for the same
expiration. Only compact keys (`DueKey`) are kept; notifications.planning reads the details
one batch of orgs at a time.
"""

from collections.abc import Collection, Iterable
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.db import models
from django.db.models import Case, Count, Exists, OuterRef, Value, When

from notifications import windows
from notifications.models import ExpiryNotice
from notifications.sources import Source, sources
from orgs.models import Organization


def _time_zones(org_ids: Collection[int] | None) -> list[str]:
    """The time zones of the orgs, the one with the most orgs first."""
    orgs = Organization.objects.all()
    if org_ids is not None:
        orgs = orgs.filter(pk__in=list(org_ids))
    counted = orgs.order_by().values("time_zone").annotate(n=Count("pk"))
    return [row["time_zone"] for row in sorted(counted, key=lambda r: (-r["n"], r["time_zone"]))]


def due_query(
    src: Source,
    *,
    today: date,
    tz: ZoneInfo,
    thresholds: Iterable[int],
    orgs: Any = None,
) -> models.QuerySet[models.Model]:
    """Rows of `src` due for a notice on `today` in `tz` (of `orgs`: ids or a subquery).

    An indexed range on `not_after` between the local midnights of the windows (computed
    here, never a function on the column), a CASE naming each row's window, and NOT EXISTS
    of a notice at that threshold or a tighter one for the same expiration.
    """
    b = windows.bounds(today, tz, thresholds)
    # Windows tightest first: the first upper bound above not_after names the window.
    window_of = Case(
        *[
            When(not_after__lt=b.upper[w.threshold], then=Value(w.threshold))
            for w in windows.windows(thresholds)
        ],
        output_field=models.PositiveSmallIntegerField(),
    )
    notified = ExpiryNotice.objects.filter(
        source=src.key,
        object_id=OuterRef("pk"),
        expires_at=OuterRef("not_after"),
        threshold__lte=OuterRef("due_threshold"),
    )
    rows = src.covered().filter(not_after__gte=b.start, not_after__lt=b.end)
    if orgs is not None:
        rows = rows.filter(organization_id__in=orgs)
    due: models.QuerySet[models.Model] = (
        rows.annotate(due_threshold=window_of, kind_label=src.kind)
        .filter(~Exists(notified))
        .order_by()
    )
    return due


class DueKey(NamedTuple):
    """A certificate due for a notice, as compactly as the run can hold it.

    The selection keeps only these (about 120 bytes each) and the details are read one
    batch of orgs at a time, so memory grows with what is due, never with the table.
    """

    org_id: int
    source: str
    object_id: int
    expires_at: datetime
    threshold: int


def due_keys(
    *,
    now: datetime,
    on_date: date | None,
    thresholds: Iterable[int],
    org_ids: Collection[int] | None = None,
) -> list[DueKey]:
    """Every certificate due for a notice, ordered by org id.

    Each query is read to the end before the run writes anything: on SQLite, a connection
    that still has a statement open keeps its snapshot, and could not then take the write
    lock after another process has written.
    """
    thresholds = tuple(thresholds)
    zones = _time_zones(org_ids)
    if not zones:
        return []
    # Most orgs share one time zone: its query is a plain range scan, no join to the org,
    # and the few rows of orgs elsewhere are dropped here. Each other zone's query starts
    # from its orgs (the org + expiry index).
    majority, others = zones[0], zones[1:]
    in_scope = (
        Organization.objects.all()
        if org_ids is None
        else Organization.objects.filter(pk__in=list(org_ids))
    )
    elsewhere = (
        set(in_scope.exclude(time_zone=majority).values_list("pk", flat=True)) if others else set()
    )
    keys: list[DueKey] = []
    for zone in zones:
        tz = ZoneInfo(zone)
        today = on_date or windows.local_date(now, tz)
        orgs: Any = list(org_ids) if org_ids is not None else None
        if zone != majority:
            orgs = in_scope.filter(time_zone=zone).values("pk")
        for src in sources():
            rows = due_query(src, today=today, tz=tz, thresholds=thresholds, orgs=orgs)
            keys += [
                DueKey(org_id, src.key, pk, expires_at, threshold)
                for org_id, pk, expires_at, threshold in rows.values_list(
                    "organization_id", "pk", "not_after", "due_threshold"
                )
                if zone != majority or org_id not in elsewhere
            ]
    keys.sort(key=lambda key: (key.org_id, key.expires_at, key.object_id))
    return keys
