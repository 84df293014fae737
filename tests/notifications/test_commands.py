"""`manage.py send_expiry_notifications` and `manage.py sync_schedules`, and the schedule
that `migrate` leaves behind."""

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.core.management.base import CommandError
from django_q.models import Schedule

from notifications.models import ExpiryNotice, NotificationRun
from notifications.schedules import SCHEDULES
from orgs.models import Organization
from tests.notifications.conftest import NOON, expiring, free_port, in_days


def _run(*args: str) -> str:
    out = StringIO()
    call_command("send_expiry_notifications", *args, stdout=out)
    return out.getvalue()


def test_dry_run_prints_what_would_be_sent_and_changes_nothing(
    acme: Organization, alice: User, mailoutbox: list[EmailMessage]
) -> None:
    expiring(acme, "Payments_Signing", NOON.replace(month=7))  # 2025-07-01

    output = _run("--date", "2025-06-01", "--dry-run")

    assert f"Acme ({acme.public_id}) -> alice@example.test: would be sent" in output
    assert (
        "Payments Signing, Self-Signed, expires on 2025-07-01. "
        "Warning: This certificate expires in 30 days."
    ) in output
    assert output.rstrip().endswith(
        "1 email with 1 notice would be sent; 0 failed, 1 superseded, 0 suppressed."
    )
    assert mailoutbox == []
    assert not ExpiryNotice.objects.exists()


def test_date_runs_the_job_for_that_day(
    acme: Organization, alice: User, mailoutbox: list[EmailMessage]
) -> None:
    expiring(acme, "Payments_Signing", in_days(10))

    output = _run("--date", "2025-06-11")

    assert "-> alice@example.test: sent" in output
    assert "This certificate expires today." in mailoutbox[0].body
    run = NotificationRun.objects.get()
    assert (run.trigger, str(run.on_date)) == ("command", "2025-06-11")


@pytest.mark.parametrize("bad", ["2025-13-01", "tomorrow", ""])
def test_a_bad_date_is_refused_with_a_message(db: None, bad: str) -> None:
    with pytest.raises(CommandError, match="is not a date like 2025-06-30"):
        _run("--date", bad)


def test_an_unreachable_mail_server_is_a_command_error(
    settings: Any, acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", in_days(10))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()

    with pytest.raises(CommandError, match="Mail server unavailable"):
        _run("--date", "2025-06-01")

    assert ExpiryNotice.objects.get(threshold=10).state == ExpiryNotice.State.FAILED


def test_the_schedule_exists_after_migrate(db: None) -> None:
    spec = SCHEDULES[0]

    schedule = Schedule.objects.get(name=spec.name)

    assert (schedule.func, schedule.schedule_type, schedule.cron) == (
        "notifications.tasks.send_expiry_notices",
        Schedule.CRON,
        spec.cron,
    )


def test_sync_schedules_restores_the_declared_schedule(db: None) -> None:
    spec = SCHEDULES[0]
    Schedule.objects.filter(name=spec.name).update(cron="0 0 1 1 *")
    Schedule.objects.create(name=spec.name, func=spec.func, schedule_type=Schedule.HOURLY)
    out = StringIO()

    call_command("sync_schedules", stdout=out)
    call_command("sync_schedules", stdout=out)

    assert [line for line in out.getvalue().splitlines() if spec.name in line] == [
        f"updated: {spec.name} ({spec.func}, cron {spec.cron})",
        f"unchanged: {spec.name} ({spec.func}, cron {spec.cron})",
    ]
    assert list(Schedule.objects.filter(name=spec.name).values_list("cron", flat=True)) == [
        spec.cron
    ]


def test_the_task_is_thin_and_reports_the_run(
    acme: Organization, alice: User, mailoutbox: list[EmailMessage]
) -> None:
    from django_q.tasks import async_task, result

    expiring(acme, "Payments_Signing", in_days(400))  # nothing due

    task_id = async_task("notifications.tasks.send_expiry_notices")  # sync in the tests

    assert result(task_id) == NotificationRun.objects.get().summary
