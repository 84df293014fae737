"""Real processes: two jobs at once, a job killed mid-send, and a qcluster running the schedule.

They run `manage.py` against the test database (shared_db: the PostgreSQL test database when
DATABASE_URL names one, else a file copy of the SQLite one) and a real SMTP server.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_q.models import Schedule, Task

from notifications.models import ExpiryNotice, NotificationRun
from notifications.schedules import SCHEDULES
from notifications.services import send_expiry_notices
from orgs import clock, permissions
from orgs.models import Organization
from tests.conftest import make_member, make_org
from tests.notifications.conftest import ROOT, SharedDatabase, SmtpServer, expiring, holder

pytestmark = pytest.mark.xdist_group("notification-processes")
State = ExpiryNotice.State


def _certificates_due_now(org: Organization, *days: int) -> None:
    """Certificates expiring in the last second of the org's day `days` days from today: their
    days left, and so their notice, do not depend on the time of day the test runs (made at
    "now + 1 hour" after 23:00, a 30-day certificate had 31 days left: a 60-day notice)."""
    for n, day in enumerate(days):
        expiring(org, f"Cert_{n}", clock.day_end(day, org.tzinfo) - timedelta(seconds=1))


def _wait(process: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return out, err


# A job loaded and waiting: it says "ready" once Django is set up, then runs the moment the
# test writes a line to its stdin, so when it claims is decided by the test, not by how long
# Python and Django take to start (seconds, many more on a loaded machine).
WAITING_JOB = """
import django, sys
django.setup()
from django.core.management import call_command
print("ready", flush=True)
sys.stdin.readline()
call_command("send_expiry_notifications")
"""


def _waiting_job(shared_db: SharedDatabase, **env: str) -> subprocess.Popen[str]:
    """Start WAITING_JOB and return once it is ready to run."""
    process = subprocess.Popen(
        [sys.executable, "-c", WAITING_JOB],
        cwd=ROOT,
        env=shared_db.env(**env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline() != "ready\n":
        _, err = process.communicate()
        raise AssertionError(f"the waiting job did not start:\n{err}")
    return process


def _wait_with_input(process: subprocess.Popen[str], line: str, timeout: float) -> tuple[str, str]:
    out, err = process.communicate(line, timeout=timeout)
    assert process.returncode == 0, err
    return out, err


def test_two_jobs_started_together_send_each_notice_exactly_once(
    shared_db: SharedDatabase, smtp_server: SmtpServer
) -> None:
    orgs = []
    for n in range(12):
        org = make_org(f"Org {n}")
        make_member(org, f"admin{n}", permissions.SYSTEM_ADMINISTRATOR)
        holder(org, make_member(org, f"reader{n}", permissions.SYSTEM_ADMINISTRATOR))
        _certificates_due_now(org, 30, 0)
        orgs.append(org)
    smtp_server.handler.delay = 0.03  # so that the two runs overlap
    shared_db.push()

    port = str(smtp_server.port)
    jobs = [shared_db.manage("send_expiry_notifications", TEST_SMTP_PORT=port) for _ in "ab"]
    for job in jobs:
        _wait(job, timeout=60)
    shared_db.pull()

    # Each org: reader (an admin holder) gets both certificates, admin the day-of one only.
    per_person = Counter(
        (message.recipients[0], line)
        for message in smtp_server.received
        for line in message.part("text/plain").splitlines()
        if "Warning:" in line
    )
    assert len(smtp_server.received) == 2 * len(orgs)
    assert set(per_person.values()) == {1}
    assert len(per_person) == 3 * len(orgs)
    sendable = ExpiryNotice.objects.exclude(state=State.SUPERSEDED)
    assert set(sendable.values_list("state", "attempts")) == {(State.SENT, 1)}
    runs = list(NotificationRun.objects.all())
    assert [r.status for r in runs] == [NotificationRun.Status.SUCCEEDED] * 2
    assert sum(r.emails_sent for r in runs) == 2 * len(orgs)


def test_a_job_started_while_another_is_sending_sends_nothing_again(
    shared_db: SharedDatabase, smtp_server: SmtpServer
) -> None:
    """The overlap is made, not hoped for: the first job is held inside its first email (its
    claims taken, nothing marked) while the second, already loaded, runs from start to end.

    The first job waits for the server's answer no longer than its SMTP timeout: the second
    is started and set up beforehand, so that wait is the second's run (about a second),
    never a Python and Django start-up on a loaded machine."""
    orgs = []
    for n in range(6):
        org = make_org(f"Org {n}")
        holder(org, make_member(org, f"reader{n}"))
        _certificates_due_now(org, 30)
        orgs.append(org)
    smtp_server.handler.gate = threading.Event()
    shared_db.push()
    port = str(smtp_server.port)
    second = _waiting_job(shared_db, TEST_SMTP_PORT=port)

    first = shared_db.manage("send_expiry_notifications", TEST_SMTP_PORT=port)
    smtp_server.wait_until_sending(first)
    _wait_with_input(second, "go\n", timeout=60)
    smtp_server.handler.gate.set()
    _wait(first, timeout=60)
    shared_db.pull()

    recipients = Counter(message.recipients[0] for message in smtp_server.received)
    assert len(recipients) == len(orgs)
    assert set(recipients.values()) == {1}
    runs = NotificationRun.objects.order_by("started_at")
    assert [r.emails_sent for r in runs] == [len(orgs), 0]


def test_a_job_killed_between_claim_and_send_is_retried_after_the_lease(
    shared_db: SharedDatabase,
    smtp_server: SmtpServer,
    acme: Organization,
    alice: User,
    settings: Any,
) -> None:
    _certificates_due_now(acme, 30)
    smtp_server.handler.hang = True  # accepts the connection, never answers DATA
    shared_db.push()

    job = shared_db.manage("send_expiry_notifications", TEST_SMTP_PORT=str(smtp_server.port))
    smtp_server.wait_until_sending(job)
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=10)
    smtp_server.handler.hang = False
    shared_db.pull()
    left = ExpiryNotice.objects.get(threshold=30)
    killed = NotificationRun.objects.get()

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    lease = timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS)
    soon = send_expiry_notices(now=timezone.now() + timedelta(seconds=5))
    status_soon = NotificationRun.objects.get(pk=killed.pk).status
    later = send_expiry_notices(now=timezone.now() + lease + timedelta(seconds=5))

    assert left.state == State.CLAIMED
    assert soon.tally.emails_sent == 0  # within the lease it may still be on its way
    assert later.tally.emails_sent == 1
    assert [m.recipients for m in smtp_server.received] == [[alice.email]]
    assert ExpiryNotice.objects.get(threshold=30).state == State.SENT
    # The killed run: still possibly working within the lease, interrupted after it.
    assert (killed.status, status_soon) == (NotificationRun.Status.RUNNING,) * 2
    assert NotificationRun.objects.get(pk=killed.pk).status == NotificationRun.Status.INTERRUPTED


BROKERS = [
    "orm",
    pytest.param(
        "redis",
        marks=pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set"),
    ),
]


@pytest.mark.parametrize("broker", BROKERS)
def test_a_qcluster_runs_the_synced_schedule(
    shared_db: SharedDatabase,
    smtp_server: SmtpServer,
    acme: Organization,
    alice: User,
    broker: str,
) -> None:
    _certificates_due_now(acme, 10)
    spec = SCHEDULES[0]
    Schedule.objects.filter(name=spec.name).update(next_run=timezone.now() - timedelta(minutes=1))
    shared_db.push()
    started = timezone.now()

    cluster = shared_db.manage(
        "qcluster",
        TEST_SMTP_PORT=str(smtp_server.port),
        TEST_Q_BROKER=broker,
        TEST_Q_NAME=f"notify-test-{uuid.uuid4().hex[:8]}",
    )
    try:
        smtp_server.wait_for(1, timeout=30)
        # The worker records the task's result after sending: wait for it, then stop.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            shared_db.pull()
            if Task.objects.filter(func=spec.func).exists():
                break
            time.sleep(0.1)
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            cluster.kill()
            cluster.communicate()
    shared_db.pull()

    assert [m.recipients for m in smtp_server.received] == [[alice.email]]
    run = NotificationRun.objects.get()
    assert (run.trigger, run.status, run.emails_sent) == ("schedule", "succeeded", 1)
    task = Task.objects.get(func=spec.func)
    assert task.success
    assert task.result == run.summary
    # Moved on to the cron's next time after the cluster ran it (not still in the past). Not
    # "after now": run at hh:04:59, the next time is hh:05:00, already past when checked.
    assert Schedule.objects.get(name=spec.name).next_run > started


def test_a_batch_longer_than_the_lease_is_not_taken_over_and_sent_again(
    shared_db: SharedDatabase, smtp_server: SmtpServer
) -> None:
    """Lease 2 s, 0.1 s per email, 60 emails: the first job's batch lasts three leases.

    The second job is released once the first has sent for longer than the lease, while it
    still has most of its batch to send: without renewal its claims would look stale.
    """
    org = make_org("Big")
    people = [holder(org, make_member(org, f"reader{n}")) for n in range(60)]
    _certificates_due_now(org, 30, 10)
    smtp_server.handler.delay = 0.1
    shared_db.push()
    env = {"TEST_SMTP_PORT": str(smtp_server.port), "EXPIRY_NOTICE_CLAIM_LEASE_SECONDS": "2"}
    second = _waiting_job(shared_db, **env)

    first = shared_db.manage("send_expiry_notifications", **env)
    smtp_server.wait_for(25, timeout=60)  # 2.5 s of sending: older than the lease
    assert first.poll() is None, "the first job ended before the second was released"
    second_out, _ = _wait_with_input(second, "go\n", timeout=60)
    first_out, _ = _wait(first, timeout=60)
    shared_db.pull()

    per_person = Counter(
        (message.recipients[0], line)
        for message in smtp_server.received
        for line in message.part("text/plain").splitlines()
        if "Warning:" in line
    )
    duplicates = sum(n - 1 for n in per_person.values())
    assert duplicates == 0, f"{duplicates} duplicate notices\n{first_out}\n{second_out}"
    assert len(per_person) == 2 * len(people)
    assert len(smtp_server.received) == len(people)
    assert set(
        ExpiryNotice.objects.filter(state=State.SENT).values_list("attempts", flat=True)
    ) == {1}
    runs = list(NotificationRun.objects.all())
    assert sum(r.notices_sent for r in runs) == 2 * len(people)  # no run over-reports
    assert sum(r.emails_sent for r in runs) == len(people)
