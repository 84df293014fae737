from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from certadmin.services.acme import renewal
from orgs.models import Organization
from orgs.wording import count


class Command(BaseCommand):
    help = (
        "Renew the certificates obtained from ACME whose renewal is due (the hourly job, run "
        "by hand). With --dry-run, list them and change nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", metavar="ORG", help="Only this org (its public id or name).")
        parser.add_argument(
            "--dry-run", action="store_true", help="List what is due; renew nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        org = None
        if options["org"]:
            org = (
                Organization.objects.filter(public_id=options["org"]).first()
                or Organization.objects.filter(name=options["org"]).first()
            )
            if org is None:
                raise CommandError(f"No org {options['org']!r} (give its public id or name).")
        run = renewal.renew_due(org=org, dry_run=options["dry_run"])
        for line in run.planned:
            self.stdout.write(f"due: {line}")
        for line in run.renewed:
            self.stdout.write(f"renewed: {line}")
        for line in run.failed:
            self.stdout.write(f"FAILED: {line}")
        if options["dry_run"]:
            self.stdout.write(
                count(len(run.planned), "certificate", "certificates")
                + " due; nothing renewed (dry run)."
            )
        else:
            self.stdout.write(run.summary())
        if run.failed:
            raise CommandError(
                f"{count(len(run.failed), 'renewal', 'renewals')} failed; each is retried later."
            )
