"""Re-encryption ("Re-encrypt all data now"): every value of an org moves to its active key,
in batches, by one worker at a time holding a lease; and the status the keys page shows."""

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from keys import keyring
from keys.columns import EncryptedColumn, encrypted_columns, values_per_key
from keys.models import ReencryptionJob
from keys.services import actor_name
from keys.services.master_keys import KEYS_SECTION
from orgs.models import Organization
from orgs.services.audit import Actor, record_audit
from orgs.wording import count

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # a running job renews it with every batch
BATCH_SIZE = 2000


class ReencryptionBusy(ValidationError):
    """Another worker holds this org's re-encryption."""


class _LostClaim(Exception):
    """The job's lease was taken over by another worker: stop without writing."""


class _OutOfTime(Exception):
    """The run used its time budget: hand the job back to the queue."""


def _claimant() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _claimant_gone(claimed_by: str) -> bool:
    """Is the claimant a process of this host that no longer exists (e.g. killed -9)?"""
    host, _, rest = claimed_by.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _claimable(job: ReencryptionJob, now: datetime) -> bool:
    return (
        job.state == ReencryptionJob.State.QUEUED
        or job.lease_expired(now)
        or _claimant_gone(job.claimed_by)
    )


def _pending(counts: dict[int, int], ring: keyring.Keyring) -> int:
    """How many of `counts` ({version: values}) are still to move: those on a key other than
    the active one that can decrypt (values under destroyed keys cannot move)."""
    return sum(n for v, n in counts.items() if v != ring.active_version and ring.usable(v))


def _unavailable(counts: dict[int, int], ring: keyring.Keyring) -> int:
    """How many of `counts` are under keys that cannot decrypt (destroyed)."""
    return sum(n for v, n in counts.items() if not ring.usable(v))


@transaction.atomic
def start_reencryption(
    *, org: Organization, acting_user: Actor, enqueue: bool = True
) -> ReencryptionJob:
    """Queue "Re-encrypt all data now" for the org: every value moves to the active key.

    Refused while another worker is running it. A queued job, or one whose worker died, is
    queued again rather than duplicated.
    """
    ring = keyring.Keyring.load(org.pk)
    if ring.active_version is None:
        raise ValidationError("This org has no master key yet.")
    now = timezone.now()
    job = (
        ReencryptionJob.objects.select_for_update()
        .filter(organization=org, state__in=[ReencryptionJob.State.QUEUED, "running"])
        .first()
    )
    if job is not None and not _claimable(job, now):
        raise ReencryptionBusy("A re-encryption of this org's data is already running.")
    if job is None:
        try:
            with transaction.atomic():
                job = ReencryptionJob.objects.create(
                    organization=org,
                    requested_by=actor_name(acting_user),
                    created_at=now,
                    # What will move, as counted now (the worker counts again when it starts):
                    # the page says "Queued: 1,200 values to move", not "0 of 0".
                    total=_pending(values_per_key(org), ring),
                )
        except IntegrityError as exc:  # someone queued one at the same moment
            raise ReencryptionBusy("A re-encryption of this org's data is already queued.") from exc
        record_audit(
            org=org,
            acting_user=acting_user,
            section=KEYS_SECTION,
            action="startedReencryption",
            message=f"Started re-encrypting all data with master encryption key "
            f"{ring.active_version}",
        )
    if enqueue:
        job_id = job.pk
        transaction.on_commit(lambda: async_task("keys.tasks.reencrypt_org", job_id))
    return job


def _claim(job_id: int, token: str) -> ReencryptionJob | None:
    """Take the job for this worker, or None if it is finished. Raises ReencryptionBusy."""
    job = ReencryptionJob.objects.select_related("organization").get(pk=job_id)
    if job.is_finished:
        return None
    now = timezone.now()
    if not _claimable(job, now):
        raise ReencryptionBusy("Another worker is running this re-encryption.")
    pending = _pending(values_per_key(job.organization), keyring.Keyring.load(job.organization_id))
    won = ReencryptionJob.objects.filter(
        pk=job.pk, state=job.state, claimed_by=job.claimed_by
    ).update(
        state=ReencryptionJob.State.RUNNING,
        claimed_by=token,
        lease_until=now + LEASE,
        started_at=Coalesce("started_at", models.Value(now)),
        total=F("moved") + pending,
        attempts=F("attempts") + 1,
    )
    if not won:
        raise ReencryptionBusy("Another worker took this re-encryption first.")
    job.refresh_from_db()
    return job


ProgressCallback = Callable[[ReencryptionJob], None]


def run_reencryption(
    *,
    job_id: int,
    batch_size: int = BATCH_SIZE,
    pause: float = 0.0,
    on_batch: ProgressCallback | None = None,
    time_budget: float | None = None,
) -> ReencryptionJob:
    """Move every value of the job's org to the active key, in batches.

    With `time_budget` (seconds), the run stops after the batch that exceeds it and puts the
    job back in the queue (state Queued) for another run to continue; the django-q2 task
    uses this to stay far below the cluster's task timeout on large orgs.

    Each batch is one transaction: the new tokens and the job's progress and lease commit
    together, so a crash loses at most the batch in flight, and a restart continues with
    the values still on old keys. A row is rewritten only if it still holds the token that
    was read, so a user's concurrent edit always wins. Values under destroyed keys stay as
    they are (reported), and a value that fails to decrypt is never touched.
    """
    token = _claimant()
    job = _claim(job_id, token)
    if job is None:
        return ReencryptionJob.objects.get(pk=job_id)
    org = job.organization
    deadline = None if time_budget is None else time.monotonic() + time_budget
    try:
        moved, failed = _reencrypt(
            job, token, batch_size=batch_size, pause=pause, cb=on_batch, deadline=deadline
        )
    except _LostClaim:
        return ReencryptionJob.objects.get(pk=job_id)
    except _OutOfTime:
        ReencryptionJob.objects.filter(pk=job.pk, claimed_by=token).update(
            state=ReencryptionJob.State.QUEUED, claimed_by="", lease_until=None
        )
        return ReencryptionJob.objects.get(pk=job_id)
    except Exception as exc:
        error = type(exc).__name__
        _finish(
            job,
            token,
            ReencryptionJob.State.FAILED,
            message=f"Stopped by an error ({error}); run it again to resume.",
            action="failedReencryption",
            audit=f"Re-encryption stopped by an error ({error})",
        )
        raise
    ring = keyring.Keyring.load(org.pk)
    stranded = _unavailable(values_per_key(org), ring)
    summary = f"{count(moved, 'value', 'values')} re-encrypted with key {ring.active_version}"
    if failed:
        summary += (
            f"; {count(failed, 'value', 'values')} could not be decrypted and were left as they are"
        )
    if stranded:
        summary += f"; {count(stranded, 'value remains', 'values remain')} under destroyed keys"
    _finish(
        job,
        token,
        ReencryptionJob.State.DONE,
        message=summary,
        action="finishedReencryption",
        audit=f"Re-encryption finished: {summary}",
    )
    return ReencryptionJob.objects.get(pk=job_id)


def _finish(
    job: ReencryptionJob,
    token: str,
    state: ReencryptionJob.State,
    *,
    message: str,
    action: str,
    audit: str,
) -> None:
    """End the job if this worker (`token`) still holds it, and say so in the audit trail."""
    ReencryptionJob.objects.filter(pk=job.pk, claimed_by=token).update(
        state=state, finished_at=timezone.now(), lease_until=None, message=message[:255]
    )
    record_audit(
        org=job.organization,
        acting_user=None,
        section=KEYS_SECTION,
        action=action,
        message=audit,
    )


_MAX_PASSES = 5  # a pass moves everything; more only if admins rotate during the run


def _reencrypt(
    job: ReencryptionJob,
    token: str,
    *,
    batch_size: int,
    pause: float,
    cb: ProgressCallback | None,
    deadline: float | None,
) -> tuple[int, int]:
    org_id = job.organization_id
    moved = 0
    failed: set[tuple[str, int]] = set()  # (table, id) of values that do not decrypt
    for _ in range(_MAX_PASSES):
        moved_this_pass = 0
        ring = keyring.Keyring.load(org_id)
        for column in encrypted_columns():
            versions = (
                column.for_org(org_id)
                .exclude(**{column.version_name: ring.active_version})
                .order_by()
                .values_list(column.version_name, flat=True)
                .distinct()
            )
            for version in sorted(v for v in versions if ring.usable(v)):
                moved_this_pass += _move_version(
                    job,
                    token,
                    column,
                    version,
                    failed,
                    batch_size=batch_size,
                    pause=pause,
                    cb=cb,
                    deadline=deadline,
                )
        moved += moved_this_pass
        if not moved_this_pass:
            break
    return moved, len(failed)


def _move_version(
    job: ReencryptionJob,
    token: str,
    column: EncryptedColumn,
    version: int,
    failed: set[tuple[str, int]],
    *,
    batch_size: int,
    pause: float,
    cb: ProgressCallback | None,
    deadline: float | None,
) -> int:
    """Move one key's values of one column, walking them by id (an index range scan).
    Values that do not decrypt are added to `failed` and left as they are."""
    org_id = job.organization_id
    aad = column.field.aad(org_id)
    qn = connection.ops.quote_name
    select = (
        f"SELECT {qn(column.pk_column)}, {qn(column.token_column)} "
        f"FROM {qn(column.table)} WHERE {qn(column.field.org_attname)} = %s "
        f"AND {qn(column.version_name)} = %s AND {qn(column.pk_column)} > %s "
        f"ORDER BY {qn(column.pk_column)} LIMIT %s"
    )
    moved = 0
    last_id = 0
    while True:
        # The keys' states are read again for every batch: a key destroyed or a new key
        # made active during the run is honoured at once.
        ring = keyring.Keyring.load(org_id)
        target = ring.active_version
        if target is None or target == version or not ring.usable(version):
            break
        with connection.cursor() as cursor:
            cursor.execute(select, [org_id, version, last_id, batch_size])
            rows = cursor.fetchall()
        if not rows:
            break
        last_id = rows[-1][0]
        rotator = keyring.TokenRotator(
            old_key=ring.material(version),
            old_version=version,
            new_key=ring.material(target),
            new_version=target,
            aad=aad,
        )
        updates, bad = rotator.rotate_batch(rows)
        for pk in bad:
            failed.add((column.table, pk))
            log.error("value %s of %s does not decrypt; left as it is", pk, column.table)
        with transaction.atomic():
            written = _write_tokens(column, updates)
            renewed = ReencryptionJob.objects.filter(pk=job.pk, claimed_by=token).update(
                moved=F("moved") + written, lease_until=timezone.now() + LEASE
            )
            if not renewed:
                raise _LostClaim
        moved += written
        if cb is not None:
            job.moved += written
            cb(job)
        if pause:
            time.sleep(pause)
        if deadline is not None and time.monotonic() > deadline:
            raise _OutOfTime
    return moved


def _write_tokens(column: EncryptedColumn, updates: list[tuple[int, str, str]]) -> int:
    """Write (id, old token, new token) rows where the row still holds the old token.

    Raw SQL: Django's bulk_update is ~30x slower here (PERFORMANCE.md). PostgreSQL gets one
    UPDATE ... FROM unnest() per batch; other databases an executemany.
    """
    if not updates:
        return 0
    qn = connection.ops.quote_name
    table, pk, col = qn(column.table), qn(column.pk_column), qn(column.token_column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids, olds, news = zip(*updates, strict=True)
            cursor.execute(
                f"UPDATE {table} AS t SET {col} = d.new "
                f"FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS d(id, old, new) "
                f"WHERE t.{pk} = d.id AND t.{col} = d.old",
                [list(ids), list(olds), list(news)],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET {col} = %s WHERE {pk} = %s AND {col} = %s",
                [(new, pk_value, old) for pk_value, old, new in updates],
            )
        written: int = cursor.rowcount
        return max(written, 0)


@dataclass
class ReencryptionStatus:
    job: ReencryptionJob | None
    active_version: int | None
    per_key: dict[int, int]
    unusable: set[int]  # versions of keys that cannot decrypt (destroyed)
    pending: int
    unavailable: int

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.is_finished

    @property
    def percent(self) -> int:
        job = self.job
        if job is None or not job.total:
            return 100 if job is not None and job.is_finished else 0
        return min(100, int(100 * job.moved / job.total))

    @property
    def summary(self) -> str:
        """The job's state in words, for the page and its JSON (one wording for both)."""
        job = self.job
        if job is None:
            return ""
        if job.state == ReencryptionJob.State.QUEUED:
            if job.moved:  # handed back to the queue after its time budget
                return (
                    f"Queued to continue: {job.moved:,} of {_values(job.total)} moved, waiting "
                    "for the background worker"
                )
            return f"Queued: {_values(job.total)} to move, waiting for the background worker"
        if job.state == ReencryptionJob.State.RUNNING:
            return f"Running: {job.moved:,} of {_values(job.total)} moved"
        label = job.get_state_display()
        return f"{label}: {job.message}" if job.message else label

    def as_json(self) -> dict[str, Any]:
        job = self.job
        return {
            "summary": self.summary,
            "state": job.state if job else None,
            "running": self.running,
            "moved": job.moved if job else 0,
            "total": job.total if job else 0,
            "percent": self.percent,
            "message": job.message if job else "",
            "active_version": self.active_version,
            "pending": self.pending,
            "unavailable": self.unavailable,
            "per_key": [
                {"version": v, "values": n, "usable": v not in self.unusable}
                for v, n in sorted(self.per_key.items())
            ],
        }


def _values(count: int) -> str:
    return f"{count:,} value" if count == 1 else f"{count:,} values"


def reencryption_status(org: Organization) -> ReencryptionStatus:
    """The latest job and how many values sit on which key (for the page and its JSON)."""
    ring = keyring.Keyring.load(org.pk)
    counts = values_per_key(org)
    job = ReencryptionJob.objects.filter(organization=org).first()
    return ReencryptionStatus(
        job=job,
        active_version=ring.active_version,
        per_key=counts,
        unusable={v for v in counts if not ring.usable(v)},
        pending=_pending(counts, ring),
        unavailable=_unavailable(counts, ring),
    )
