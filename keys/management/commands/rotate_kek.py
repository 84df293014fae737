from typing import Any

from django.core.management.base import BaseCommand

from keys.services.kek import rewrap_all_secrets


class Command(BaseCommand):
    help = (
        "Rewrap every secret under the first configured key-encryption key. Configure the new "
        "KEK first in CERTADMIN_KEKS (or the KEK file), keep the old ones after it, run this, "
        "then remove the old ones."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        reports = rewrap_all_secrets()
        for report in reports:
            self.stdout.write(
                f"{report.field}: {report.rewrapped} rewrapped, "
                f"{report.already_current} already under the primary KEK"
            )
        if not reports:
            self.stdout.write("No sealed fields are installed.")
