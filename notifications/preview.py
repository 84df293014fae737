"""The Setup page's preview: who receives what about the org's certificates now inside a
notice window, and what the send log says of each (the same windows and recipients as the job).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast
from uuid import UUID

from notifications import windows
from notifications.models import ExpiryNotice
from notifications.recipients import Recipient, recipients_by_org
from notifications.sources import Source, sources
from orgs import clock
from orgs.links import path_builder
from orgs.models import Organization


@dataclass(frozen=True)
class PreviewRow:
    label: str
    kind: str
    url: str
    expires_on: date
    days_left: int
    days_left_words: str  # orgs.clock's: "expires tomorrow", the pages' and email's wording
    threshold: int
    recipients: list[str]
    status: str


def preview(
    org: Organization,
    *,
    now: datetime,
    thresholds: Iterable[int],
    recipients: list[Recipient] | None = None,
    limit: int = 50,  # as many as a page of the certificate list
) -> tuple[list[PreviewRow], int]:
    """Who receives what about the org's certificates now inside a notice window.

    Returns (up to `limit` rows, soonest expiry first; the number of such certificates).
    """
    thresholds = windows.normalize(thresholds)
    tz = org.tzinfo
    today = windows.local_date(now, tz)
    b = windows.bounds(today, tz, thresholds)
    if recipients is None:
        recipients = recipients_by_org([org.pk], thresholds).get(org.pk, [])
    found: list[tuple[Source, dict[str, object]]] = []
    total = 0
    for src in sources():
        rows = src.covered().filter(organization=org, not_after__gte=b.start, not_after__lt=b.end)
        total += rows.count()
        values = rows.annotate(kind_label=src.kind).order_by("not_after", "pk")
        found += [
            (src, row)
            for row in values.values("pk", "uuid", "label", "kind_label", "not_after")[:limit]
        ]
    found.sort(key=lambda pair: (pair[1]["not_after"], str(pair[1]["label"])))
    found = found[:limit]
    states = _notice_states(found)
    result = []
    for src, row in found:
        expires_at = cast(datetime, row["not_after"])  # a dated certificate: due rows have one
        left = windows.days_left(expires_at, today, tz)
        window = windows.window_for(left, thresholds)
        assert window is not None
        names = [r.username for r in recipients if window.threshold in r.thresholds]
        status = _status(states.get((src.key, row["pk"], expires_at), {}), window.threshold)
        result.append(
            PreviewRow(
                label=str(row["label"]),
                kind=str(row["kind_label"]),
                url=path_builder(src.url)(org.public_id, cast(UUID, row["uuid"])),
                expires_on=windows.local_date(expires_at, tz),
                days_left=left,
                days_left_words=clock.expiry_phrase(expires_at, tz, now),
                threshold=window.threshold,
                recipients=names,
                status=status if names else "Nobody receives this notice",
            )
        )
    return result, total


def _notice_states(
    found: list[tuple[Source, dict[str, object]]],
) -> dict[tuple[str, object, object], dict[int, list[str]]]:
    """{(source, object id, expiration): {threshold: [states]}} in one query per kind."""
    by_source: dict[str, list[int]] = defaultdict(list)
    for src, row in found:
        by_source[src.key].append(cast(int, row["pk"]))  # a primary key, from .values()
    states: dict[tuple[str, object, object], dict[int, list[str]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for key, ids in by_source.items():
        rows = ExpiryNotice.objects.filter(source=key, object_id__in=ids).values_list(
            "object_id", "expires_at", "threshold", "state"
        )
        for pk, expires_at, threshold, state in rows:
            states[(key, pk, expires_at)][threshold].append(state)
    return states


def _status(recorded: dict[int, list[str]], threshold: int) -> str:
    mine = recorded.get(threshold, [])
    if not mine and any(t < threshold for t in recorded):
        return "A later notice was already sent"
    if not mine:
        return "Due: sent by the next run"
    counts = {state: mine.count(state) for state in dict.fromkeys(mine)}
    labels = dict(ExpiryNotice.State.choices)
    return ", ".join(f"{labels[state]} ({n})" for state, n in counts.items())
