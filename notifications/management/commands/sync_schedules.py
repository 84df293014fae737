from typing import Any

from django.core.management.base import BaseCommand

from notifications.schedules import sync_schedules


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules declared in code (each app's schedules.py)."

    def handle(self, *args: Any, **options: Any) -> None:
        for spec, result in sync_schedules(using=options.get("database")):
            self.stdout.write(f"{result}: {spec.name} ({spec.func}, cron {spec.cron})")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--database", default=None, help="Database alias (default: the router's)."
        )
