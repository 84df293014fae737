from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from certadmin.management.commands._keystore_password import ENV_VAR, keystore_password
from certadmin.services import keystores
from orgs.models import Organization


class Command(BaseCommand):
    help = (
        f"Export an org's exportable keys and chains to a JKS (or PKCS#12) file. The password "
        f"comes from ${ENV_VAR} or a prompt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org", help="Organization ID (18 characters)")
        parser.add_argument("--out", required=True, help="File to write")
        parser.add_argument("--format", choices=["jks", "p12"], default="jks")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(public_id=options["org"]).first()
        if org is None:
            raise CommandError(f"No organization with the ID {options['org']}.")
        plan = keystores.plan_export(org)
        for item in plan.left_out:
            self.stdout.write(f"left out: {item.certificate.unique_name}: {item.reason}")
        password = keystore_password(confirm=True)
        try:
            export = keystores.export_keystore(
                org=org, password=password, confirm=password, fmt=options["format"],
                acting_user=None,
            )  # fmt: skip
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        Path(options["out"]).write_bytes(export.content)
        entries = "key entry" if export.count == 1 else "key entries"
        self.stdout.write(f"wrote {export.count} {entries} to {options['out']}")
