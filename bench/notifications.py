"""The expiry-notice job at scale (issues 5 and 14): certificates across orgs with expiration
dates spread over two years, 5 users per org, the digests delivered to a real SMTP server.

    .venv/bin/python bench/notifications.py [--certs 100000] [--orgs N] [--keep]
    .venv/bin/python bench/notifications.py --certs 1000000     # the figures of the docs

On a temporary SQLite file, or on PostgreSQL when DATABASE_URL is set (a throwaway database,
BENCH_DATABASE or `certadmin_bench_notifications`, is created beside the one it names, and
dropped after). The mail goes to an SMTP sink (aiosmtpd on 127.0.0.1, in a process of its own so
that it does not share this one's interpreter lock) through Django's SMTP backend.

Per org: user 0 has the System Administrator profile, user 1 holds Receive Certificate
Expiration Notifications through the standard permission set in two orgs out of three (a
non-admin holder: since issue 17 the admin then keeps every notice, as when nobody holds it;
the holder is read and gets every notice), users 2-4 are
Standard Users. One org in ten is in another time zone than UTC. Rows are inserted with raw
SQL (the private key column gets a dummy blob; guardian rows are not needed by the job).

Measured, in this order, for "today" D at 06:00 UTC:
- the first run ever, on D-1: every certificate inside a window gets its tightest notice
  (the catch-up case; the larger thresholds are recorded as superseded);
- the run of day D (the steady state: what enters a window that day, plus retries). This is
  the figure of the RESULT line;
- the same day again (idempotence: nothing new);
- floor: the very messages the run of day D delivered (as the sink received them), sent again
  with plain `smtplib` over one connection: what delivering them costs, and nothing else;
- the database alone: the indexed query selecting the certificates due on D + a raw bulk
  insert of as many send-log rows as the job wrote on D (rolled back);
- the peer's approach: a Python loop over every certificate matching the exact day, then the
  same digests sent to the same sink over one connection, without a send log;
- Python allocation peak (tracemalloc) of the run of D+1, and the process's max RSS;
- queries per run against the number of orgs that had something due;
- for comparison, the run of D+2 with marks committed 50 emails at a time, and (PostgreSQL,
  `--async-commit`) the run of D+3 on a session with synchronous_commit off.
"""

import argparse
import multiprocessing
import os
import pickle
import random
import resource
import smtplib
import socket
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("BENCH_DATABASE", "certadmin_bench_notifications")
OTHER_ZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"]


def setup_django(keep: bool) -> Callable[[], None]:
    """Settings, a fresh database, migrations. Returns the clean-up function."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certadmin.settings_test")
    os.environ.setdefault("CERTADMIN_VAR_DIR", tempfile.mkdtemp(prefix="bench-notifications-"))
    url = os.environ.get("DATABASE_URL", "")
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if url.startswith("postgres"):
        import psycopg

        base, _, _ = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        os.environ["DATABASE_URL"] = f"{base}/{DB_NAME}"

        def cleanup() -> None:
            from django.db import connections

            connections.close_all()
            if not keep:
                with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")

    else:
        path = Path(tempfile.mkdtemp(prefix="bench-notifications-db-")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"

        def cleanup() -> None:
            if not keep:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return cleanup


# --- the SMTP sink ------------------------------------------------------------------------------


class _Sink:
    """aiosmtpd handler: accepts every message; while `recording` is set, appends it to the
    spool (mail from, recipients, the bytes received), for the floor to send again."""

    def __init__(self, spool: str, recording: object, count: object) -> None:
        self.spool = open(spool, "ab")  # noqa: SIM115 (open while the sink runs)
        self.recording = recording
        self.count = count

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.count.get_lock():  # type: ignore[attr-defined]
            self.count.value += 1  # type: ignore[attr-defined]
        if self.recording.is_set():  # type: ignore[attr-defined]
            record = (envelope.mail_from, list(envelope.rcpt_tos), envelope.content)  # type: ignore[attr-defined]
            pickle.dump(record, self.spool)
            self.spool.flush()
        return "250 Message accepted for delivery"


def _serve_sink(port: int, spool: str, recording: object, count: object, stop: object) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(_Sink(spool, recording, count), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()  # type: ignore[attr-defined]
    controller.stop()


class SmtpSink:
    """The sink in a process of its own (spawned before Django and its connections)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.spool = str(Path(tempfile.mkdtemp(prefix="bench-notifications-smtp-")) / "spool")
        self.recording = ctx.Event()
        self.count = ctx.Value("q", 0)
        self._stop = ctx.Event()
        self._process = ctx.Process(
            target=_serve_sink,
            args=(self.port, self.spool, self.recording, self.count, self._stop),
            daemon=True,
        )
        self._process.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=5) as smtp:
                    smtp.noop()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def received(self) -> int:
        return int(self.count.value)  # type: ignore[attr-defined]

    def recorded(self) -> list[tuple[str, list[str], bytes]]:
        found = []
        with open(self.spool, "rb") as spool:
            while True:
                try:
                    found.append(pickle.load(spool))
                except EOFError:
                    return found

    def close(self) -> None:
        self._stop.set()
        self._process.join(10)
        Path(self.spool).unlink(missing_ok=True)


def smtp_floor(sink: SmtpSink) -> tuple[float, int, int]:
    """Send the messages the sink recorded again, with plain smtplib over one connection.
    Returns (seconds, messages, bytes)."""
    messages = sink.recorded()
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        for mail_from, rcpt_tos, content in messages:
            smtp.sendmail(mail_from, rcpt_tos, content)
    elapsed = time.perf_counter() - start
    return elapsed, len(messages), sum(len(m[2]) for m in messages)


def use_sink(sink: SmtpSink) -> None:
    """Django's SMTP backend, pointed at the sink."""
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


# --- filling the database with raw SQL -----------------------------------------------------


def _insert(table: str, columns: list[str], rows: Iterator[tuple], batch: int = 10_000) -> int:
    from django.db import connection, transaction

    sql = (
        f"INSERT INTO {connection.ops.quote_name(table)} "
        f"({', '.join(connection.ops.quote_name(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    count = 0
    chunk: list[tuple] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                cursor.executemany(sql, chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)
            count += len(chunk)
    return count


def fill(*, certs: int, orgs: int, now: datetime) -> None:
    from django.db import connection

    from certadmin.models import Certificate
    from notifications.services import PERMISSION_SET_API_NAME, PERMISSION_SET_LABEL
    from orgs import permissions
    from orgs.models import Membership, Organization, PermissionSet, Profile

    ops = connection.ops
    pg = connection.vendor == "postgresql"
    rng = random.Random(5)

    def dt(value: datetime) -> object:
        return ops.adapt_datetimefield_value(value)

    def uid() -> object:
        value = uuid.uuid4()
        return value if pg else value.hex

    def ids(model: type) -> list[int]:
        return list(model.objects.order_by("pk").values_list("pk", flat=True))

    created = dt(now - timedelta(days=800))
    zone_of = [OTHER_ZONES[i % len(OTHER_ZONES)] if i % 10 == 9 else "UTC" for i in range(orgs)]
    _insert(
        Organization._meta.db_table,
        ["public_id", "name", "time_zone", "created_at"],
        ((f"00B{i:015d}", f"Org {i}", zone_of[i], created) for i in range(orgs)),
    )
    org_ids = ids(Organization)
    sysadmin = sorted(permissions.STANDARD_PROFILES[permissions.SYSTEM_ADMINISTRATOR])
    import json

    _insert(
        Profile._meta.db_table,
        ["organization_id", "name", "description", "permissions", "is_standard"],
        (
            row
            for org_id in org_ids
            for row in (
                (org_id, permissions.SYSTEM_ADMINISTRATOR, "", json.dumps(sysadmin), True),
                (org_id, permissions.STANDARD_USER, "", "[]", True),
            )
        ),
    )
    profiles = {
        (org_id, name): pk
        for pk, org_id, name in Profile.objects.values_list("pk", "organization_id", "name")
    }
    _insert(
        "auth_user",
        ["password", "is_superuser", "username", "first_name", "last_name", "email",
         "is_staff", "is_active", "date_joined"],
        (
            ("!", False, f"u{o}_{n}", "", "", f"u{o}_{n}@example.test", False, True, created)
            for o in range(orgs)
            for n in range(5)
        ),
    )  # fmt: skip
    from django.contrib.auth.models import User

    user_ids = ids(User)
    holding = [i for i in range(orgs) if i % 3 != 2]
    _insert(
        PermissionSet._meta.db_table,
        ["uuid", "organization_id", "label", "api_name", "description", "permissions",
         "created_at"],
        (
            (uid(), org_ids[i], PERMISSION_SET_LABEL, PERMISSION_SET_API_NAME, "",
             json.dumps([permissions.RECEIVE_EXPIRATION_NOTIFICATIONS.codename]), created)
            for i in holding
        ),
    )  # fmt: skip
    psets = dict(PermissionSet.objects.values_list("organization_id", "pk"))

    def member_rows() -> Iterator[tuple]:
        for i, org_id in enumerate(org_ids):
            for n in range(5):
                name = permissions.SYSTEM_ADMINISTRATOR if n == 0 else permissions.STANDARD_USER
                yield (uid(), org_id, user_ids[i * 5 + n], profiles[(org_id, name)], created)

    _insert(
        Membership._meta.db_table,
        ["uuid", "organization_id", "user_id", "profile_id", "created_at"],
        member_rows(),
    )
    readers = dict(
        Membership.objects.filter(user__username__endswith="_1").values_list(
            "organization_id", "pk"
        )
    )
    through = Membership.permission_sets.through
    _insert(
        through._meta.db_table,
        ["membership_id", "permissionset_id"],
        ((readers[org_ids[i]], psets[org_ids[i]]) for i in holding),
    )

    # The certificates: every column of the model, so the rows are what the app would write.
    span = int(timedelta(days=730).total_seconds())
    start = now - timedelta(days=365)
    fields = [
        f
        for f in Certificate._meta.concrete_fields
        if not f.primary_key and not getattr(f, "generated", False)
    ]

    def cert_rows() -> Iterator[tuple]:
        for i in range(certs):
            not_after = start + timedelta(seconds=rng.randrange(span))
            values = {
                "uuid": uid(),
                "organization_id": org_ids[i % orgs],
                "label": f"Cert {i}",
                "unique_name": f"Cert_{i}",
                "kind": "self_signed" if i % 2 else "ca_signed",
                "key_type": "EC-P256",
                "exportable": True,
                "private_key": b"\x01sealed-dummy",
                "subject_fields": "{}",
                "csr_pem": "",
                "chain_pem": "-----BEGIN CERTIFICATE-----\n",
                "subject": f"CN=Cert_{i}",
                "issuer": f"CN=Cert_{i}",
                "serial": f"{i:032X}",
                "fingerprint_sha256": f"{i:064x}",
                "not_before": dt(not_after - timedelta(days=365)),
                "not_after": dt(not_after),
                "created_at": created,
                "created_by_id": None,
                "modified_at": created,
                "modified_by_id": None,
            }
            yield tuple(values.get(f.attname, _default(f)) for f in fields)

    _insert(Certificate._meta.db_table, [f.column for f in fields], cert_rows())
    if pg:
        # What autovacuum does within minutes of a bulk load (statistics, visibility map).
        # Left to autovacuum, it runs during the measured runs and competes for the CPU.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _default(field: object) -> object:
    """A column added by someone else since this script was written: its default."""
    value = field.get_default()  # type: ignore[attr-defined]
    return (
        value if not isinstance(value, dict | list) else "{}" if isinstance(value, dict) else "[]"
    )


# --- measuring ------------------------------------------------------------------------------


@contextmanager
def counting() -> Iterator[list[int]]:
    from django.db import connection

    box = [0]

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        box[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield box


def timed(fn: Callable[[], object]) -> tuple[float, object, int]:
    from django.core import mail

    mail.outbox = []
    with counting() as queries:
        start = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - start
    mail.outbox = []
    return elapsed, value, queries[0]


def run_job(now: datetime) -> object:
    from notifications.services import send_expiry_notices

    return send_expiry_notices(now=now)


def floor(now: datetime, rows_written: int) -> tuple[float, float, int]:
    """(query seconds, insert seconds, certificates due) for the ideal job of day D."""
    from django.db import connection, transaction

    from certadmin.models import Certificate
    from notifications.models import ExpiryNotice
    from notifications.windows import start_of_day

    today = now.date()
    utc = ZoneInfo("UTC")
    ranges = [
        (
            start_of_day(today + timedelta(days=t), utc),
            start_of_day(today + timedelta(days=t + 1), utc),
        )
        for t in (60, 30, 10, 1, 0)
    ]
    table = connection.ops.quote_name(Certificate._meta.db_table)
    where = " OR ".join(["(not_after >= %s AND not_after < %s)"] * len(ranges))
    params = [connection.ops.adapt_datetimefield_value(v) for pair in ranges for v in pair]
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, organization_id, label, uuid, not_after FROM {table} WHERE {where}",
            params,
        )
        due = cursor.fetchall()
    query_s = time.perf_counter() - start

    fields = [f for f in ExpiryNotice._meta.concrete_fields if not f.primary_key]
    pg = connection.vendor == "postgresql"
    stamp = connection.ops.adapt_datetimefield_value(now)
    sample = due[0] if due else (1, 1, "x", uuid.uuid4().hex, now)

    def row(n: int) -> tuple:
        values = {
            "organization_id": sample[1],
            "source": "floor",
            "object_id": n,
            "object_uuid": uuid.uuid4() if pg else uuid.uuid4().hex,
            "certificate_id": None,
            "label": "Floor",
            "kind_label": "Self-Signed",
            "expires_at": stamp,
            "threshold": 30,
            "recipient_id": None,
            "recipient_email": "floor@example.test",
            "state": "sent",
            "attempts": 1,
            "created_at": stamp,
            "claimed_at": stamp,
            "last_attempt_at": stamp,
            "sent_at": stamp,
            "last_error": "",
            "run_id": None,
        }
        return tuple(values[f.attname] for f in fields)

    rows = [row(n) for n in range(rows_written)]
    table = connection.ops.quote_name(ExpiryNotice._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    start = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if pg:
                # COPY: PostgreSQL's fastest way in (faster than the job's pipelined
                # executemany, which must also skip conflicts).
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for values in rows:
                        copy.write_row(values)
            else:
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})",
                    rows,
                )
            insert_s = time.perf_counter() - start
            raise _Rollback
    except _Rollback:
        pass
    return query_s, insert_s, len(due)


class _Rollback(Exception):
    pass


def peer(now: datetime) -> tuple[float, int, int, float]:
    """The peer's approach: loop over every certificate in Python, match the exact day, then
    send the same digests (one email per recipient per org) over one SMTP connection. Returns
    (seconds, matched, emails, seconds spent building and sending the emails)."""
    from django.core.mail import get_connection

    from certadmin.models import Certificate
    from notifications import emails, recipients
    from orgs.models import Organization

    thresholds = (60, 30, 10, 1, 0)
    start = time.perf_counter()
    zones = {pk: ZoneInfo(tz) for pk, tz in Organization.objects.values_list("pk", "time_zone")}
    today = {pk: now.astimezone(tz).date() for pk, tz in zones.items()}
    matched: dict[int, list[tuple[object, ...]]] = defaultdict(list)
    rows = Certificate.objects.filter(not_after__isnull=False).values_list(
        "pk", "organization_id", "label", "kind", "uuid", "not_after"
    )
    for _pk, org_id, label, kind, uid, not_after in rows.iterator(chunk_size=10_000):
        days = (not_after.astimezone(zones[org_id]).date() - today[org_id]).days
        if days in thresholds:
            matched[org_id].append((label, kind, uid, not_after, days))
    sent = 0
    mail_s = 0.0
    connection = get_connection()
    connection.open()  # one connection for every digest (the SMTP backend keeps it open)
    orgs = Organization.objects.in_bulk(list(matched))
    org_list = sorted(matched)
    for n in range(0, len(org_list), 200):
        chunk = org_list[n : n + 200]
        who = recipients.recipients_by_org(chunk, thresholds)
        for org_id in chunk:
            org = orgs[org_id]
            for recipient in who.get(org_id, []):
                lines = [
                    emails.Line(
                        label=label,
                        kind="Self-Signed" if kind == "self_signed" else "CA-Signed",
                        expires_on=not_after.astimezone(zones[org_id]).date(),
                        days_left=days,
                        url=emails.absolute(f"/o/{org.public_id}/setup/certificates/{uid}/"),
                    )
                    for label, kind, uid, not_after, days in matched[org_id]
                    if days in recipient.thresholds
                ]
                if lines:
                    mailing = time.perf_counter()
                    connection.send_messages(
                        [
                            emails.build_digest(
                                org=org, to=recipient.email, name=recipient.username,
                                lines=lines, reason=recipient.rule,
                                page_url=emails.absolute(f"/o/{org.public_id}/setup/notifications/"),
                            )
                        ]
                    )  # fmt: skip
                    mail_s += time.perf_counter() - mailing
                    sent += 1
    connection.close()
    elapsed = time.perf_counter() - start
    return elapsed, sum(len(v) for v in matched.values()), sent, mail_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--certs", type=int, default=100_000, help="default 100,000; the docs' figures: 1000000"
    )
    parser.add_argument("--orgs", type=int, default=None, help="default: certs / 100")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of the run of day D"
    )
    parser.add_argument(
        "--phases", action="store_true", help="print where the run of day D spends its time"
    )
    args = parser.parse_args()
    orgs = args.orgs or max(10, args.certs // 100)
    sink = SmtpSink()  # before Django: the spawned process inherits no connection
    try:
        cleanup = setup_django(args.keep)
        try:
            use_sink(sink)
            measure(sink, certs=args.certs, orgs=orgs, profile=args.profile, phases=args.phases)
        finally:
            cleanup()
    finally:
        sink.close()


@contextmanager
def phase_timer() -> Iterator[dict[str, list[float]]]:
    """Wall time and calls of the job's phases, by wrapping them (bench only). Each name is
    looked for where the job keeps it; names the code does not have are left out."""
    import importlib

    from django.core.mail.backends.smtp import EmailBackend
    from django.template import Template

    spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    wanted = [
        ("notifications.planning", None, "due_keys"),
        ("notifications.planning", None, "pending_items"),
        ("notifications.planning", None, "plan_batch"),
        ("notifications.planning", None, "recipients_by_org"),
        ("notifications.services.job", "Job", "_execute"),
        ("notifications.services.claims", "Claims", "claim"),
        ("notifications.services.claims", "Claims", "flush_marks"),
        ("notifications.services.job", "Job", "_record"),
        ("notifications.services", "_Job", "_claim"),
        ("notifications.services", "_Job", "_execute"),
        ("notifications.services", "_Job", "_flush_marks"),
        ("notifications.services", "_Job", "_record"),
        ("notifications.emails", None, "build_digest"),
        ("notifications.models", "ExpiryNotice", "insert_new"),
    ]
    targets: list[tuple[object, str]] = [(EmailBackend, "send_messages"), (Template, "render")]
    for module_name, class_name, name in wanted:
        try:
            owner: object = importlib.import_module(module_name)
        except ImportError:
            continue
        if class_name is not None:
            owner = getattr(owner, class_name, None)
        if owner is not None and name in getattr(owner, "__dict__", {}):
            targets.append((owner, name))
    originals = [(owner, name, owner.__dict__[name]) for owner, name in targets]  # type: ignore[attr-defined]

    def wrap(name: str, fn: Callable[..., object]) -> Callable[..., object]:
        def timed_call(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name][0] += time.perf_counter() - start
                spent[name][1] += 1

        return timed_call

    for owner, name, original in originals:
        fn = original.__func__ if isinstance(original, classmethod) else original
        wrapped = wrap(name, fn)
        setattr(owner, name, classmethod(wrapped) if isinstance(original, classmethod) else wrapped)
    try:
        yield spent
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def measure(
    sink: SmtpSink, *, certs: int, orgs: int, profile: bool = False, phases: bool = False
) -> None:
    from django.db import connection

    from notifications.models import ExpiryNotice, NotificationRun, NotificationRunOrg

    today = datetime.now(UTC).date()
    now = datetime.combine(today, dtime(6, 0), tzinfo=UTC)
    start = time.perf_counter()
    fill(certs=certs, orgs=orgs, now=now)
    print(
        f"{connection.vendor}: {certs:,} certificates, {orgs:,} orgs, {orgs * 5:,} users "
        f"(setup {time.perf_counter() - start:.1f} s); mail to an SMTP sink on "
        f"127.0.0.1:{sink.port} (aiosmtpd, its own process)"
    )

    def report(name: str, elapsed: float, outcome: object, queries: int) -> None:
        run = outcome.run  # type: ignore[attr-defined]
        written = ExpiryNotice.objects.filter(run=run).count()
        org_count = NotificationRunOrg.objects.filter(run=run).count()
        t = outcome.tally  # type: ignore[attr-defined]
        print(
            f"{name}: {elapsed:.2f} s, {queries:,} queries, {org_count:,} orgs with notices "
            f"({queries / max(org_count, 1):.2f} queries per org), {t.emails_sent:,} emails, "
            f"{t.notices_sent:,} sent, {t.superseded:,} superseded, {written:,} rows written"
        )

    first_s, first, first_q = timed(lambda: run_job(now - timedelta(days=1)))
    report("first run ever (day D-1, catch-up)", first_s, first, first_q)
    if connection.vendor == "postgresql":
        # What autovacuum does within a minute of the catch-up's inserts and marks, long
        # before the next day's run: without the statistics the planner still believes the
        # send log empty, and a vacuum started by autovacuum during the next runs would
        # compete with them for the CPU.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    received_before = sink.received
    sink.recording.set()
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        job_s, job, job_q = timed(lambda: profiler.runcall(run_job, now))
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    elif phases:
        with phase_timer() as spent:
            job_s, job, job_q = timed(lambda: run_job(now))
        for name, (seconds, calls) in sorted(spent.items(), key=lambda kv: -kv[1][0]):
            print(f"  phase {name}: {seconds:.3f} s in {calls:,} calls")
    else:
        job_s, job, job_q = timed(lambda: run_job(now))
    sink.recording.clear()
    report("run of day D (steady state)", job_s, job, job_q)
    delivered = sink.received - received_before
    job_emails = job.tally.emails_sent  # type: ignore[attr-defined]
    assert delivered == job_emails, (delivered, job_emails)
    rows_written = ExpiryNotice.objects.filter(run=job.run).count()  # type: ignore[attr-defined]
    again_s, again, again_q = timed(lambda: run_job(now + timedelta(hours=1)))
    report("day D again (idempotent)", again_s, again, again_q)

    floor_s, floor_n, floor_bytes = smtp_floor(sink)
    print(
        f"floor: the {floor_n:,} messages of day D ({floor_bytes / 2**20:.1f} MB) sent again with "
        f"plain smtplib over one connection: {floor_s:.2f} s; job / floor = "
        f"{job_s / floor_s:.2f} (goal <= 1.5)"
    )
    query_s, insert_s, due = floor(now, rows_written)
    print(
        f"the database alone: due query {query_s * 1000:.1f} ms ({due:,} certificates due on "
        f"D) + raw insert of {rows_written:,} rows {insert_s * 1000:.1f} ms"
    )
    peer_s, matched, peer_emails, mail_s = peer(now)
    print(
        f"peer (Python loop over every certificate + the same digests to the sink): "
        f"{peer_s:.2f} s, {matched:,} matched, {peer_emails:,} emails ({mail_s:.2f} s building "
        f"and sending them); job / peer = {job_s / peer_s:.2f} (goal <= 0.5)"
    )

    tracemalloc.start()
    mem_s, mem, mem_q = timed(lambda: run_job(now + timedelta(days=1)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    report("run of day D+1 (under tracemalloc)", mem_s, mem, mem_q)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"memory: {peak / 2**20:.1f} MB Python allocation peak in a daily run, "
        f"{rss:.0f} MB process max RSS over the whole benchmark (goal < 300 MB)"
    )
    from django.conf import settings

    settings.EXPIRY_NOTICE_MARK_EVERY = 50
    batched_s, batched, batched_q = timed(lambda: run_job(now + timedelta(days=2)))
    report("run of day D+2 with EXPIRY_NOTICE_MARK_EVERY=50", batched_s, batched, batched_q)
    settings.EXPIRY_NOTICE_MARK_EVERY = 1
    if connection.vendor == "postgresql":
        # Does waiting for the WAL flush of each mark matter, with real delivery? The same
        # run on a session with synchronous_commit off (what the job itself set until issue 14).
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
        async_s, relaxed, async_q = timed(lambda: run_job(now + timedelta(days=3)))
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
        report("run of day D+3 with synchronous_commit off", async_s, relaxed, async_q)
    runs = NotificationRun.objects.count()
    print(f"runs recorded: {runs}")
    print(f"RESULT name=notifications floor={floor_s:.3f} ratio={job_s / floor_s:.2f}")


if __name__ == "__main__":
    main()
