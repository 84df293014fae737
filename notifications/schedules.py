"""django-q2 schedules, declared in code and synced into the database after every `migrate`
(apps.py) and by `manage.py sync_schedules`. Never created by hand in the admin.

Any installed app may declare its own: a `schedules.py` module with a `SCHEDULES` list of
`ScheduleSpec`. `sync_schedules()` collects them all.
"""

import importlib
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import router
from django_q.models import Schedule


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    cron: str


EXPIRY_NOTICES = ScheduleSpec(
    name="notifications: expiry notices",
    func="notifications.tasks.send_expiry_notices",
    # Hourly: each org's notices go out within the hour after its local midnight, and a
    # missed run is caught up by the next (the job's result does not depend on how
    # often it runs). https://crontab.guru/#5_*_*_*_*
    cron="5 * * * *",
)
CHANNEL_RETRIES = ScheduleSpec(
    name="notifications: webhook retries",
    func="notifications.tasks.retry_channel_deliveries",
    # Every 5 minutes, the shortest back-off (services/channels/delivery.py, BACKOFF), so a
    # failed delivery is retried within 5 minutes of being due, not at the next hourly run.
    # At minute 1, 6, 11, ...: never in the same minute as the hourly job (minute 5), which
    # also retries; running together would be safe (one claim per delivery), only wasted.
    # https://crontab.guru/#1-59/5_*_*_*_*
    cron="1-59/5 * * * *",
)

SCHEDULES = [
    EXPIRY_NOTICES,
    CHANNEL_RETRIES,
    ScheduleSpec(
        name="certadmin: ACME renewals",
        func="certadmin.tasks.renew_acme_certificates",
        # Hourly: renewal starts at a third of the lifetime left, so an hour is nothing; a
        # failed attempt is retried after its back-off (docs/acme.md). Declared here, where
        # every schedule is, so certadmin needs no schedule machinery of its own.
        cron="35 * * * *",
    ),
    ScheduleSpec(
        name="certadmin: SAML housekeeping",
        func="certadmin.tasks.prune_saml_records",
        # Hourly: spent SAML login requests and expired assertion ids are forgotten here,
        # not on every login (certadmin/services/sso_login.py, prune_spent).
        cron="50 * * * *",
    ),
]


def declared_schedules() -> list[ScheduleSpec]:
    """SCHEDULES of every installed app that has a `schedules` module."""
    specs = []
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.schedules")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.schedules":
                raise
            continue
        specs += list(getattr(module, "SCHEDULES", []))
    return specs


def sync_schedules(*, using: str | None = None) -> list[tuple[ScheduleSpec, str]]:
    """Create or update each declared schedule; returns (spec, "created"|"updated"|"unchanged")."""
    db = using or router.db_for_write(Schedule)
    results = []
    for spec in declared_schedules():
        wanted: dict[str, Any] = {
            "func": spec.func,
            "schedule_type": Schedule.CRON,
            "cron": spec.cron,
            "repeats": -1,
        }
        current = Schedule.objects.using(db).filter(name=spec.name).order_by("pk")
        schedule = current.first()
        if schedule is None:
            Schedule.objects.using(db).create(name=spec.name, **wanted)
            results.append((spec, "created"))
            continue
        # A duplicate made by hand would run the job twice as often: keep one.
        current.exclude(pk=schedule.pk).delete()
        if all(getattr(schedule, key) == value for key, value in wanted.items()):
            results.append((spec, "unchanged"))
            continue
        for key, value in wanted.items():
            setattr(schedule, key, value)
        schedule.save(using=db)
        results.append((spec, "updated"))
    return results
