from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from certadmin.management.commands._keystore_password import ENV_VAR, keystore_password
from certadmin.services import keystores
from orgs.models import Organization


class Command(BaseCommand):
    help = (
        f"Import every private key entry of a JKS, JCEKS or PKCS#12 file into an org, all or "
        f"nothing. The password comes from ${ENV_VAR} or a prompt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org", help="Organization ID (18 characters)")
        parser.add_argument("file", help="Keystore file")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(public_id=options["org"]).first()
        if org is None:
            raise CommandError(f"No organization with the ID {options['org']}.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        if path.stat().st_size > settings.CERTADMIN_UPLOAD_MAX_BYTES:
            raise CommandError(f"{path} is larger than the upload limit.")
        password = keystore_password(confirm=False)
        try:
            result = keystores.import_keystore(
                org=org, data=path.read_bytes(), password=password, acting_user=None
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        for certificate in result.imported:
            self.stdout.write(f"imported: {certificate.unique_name} ({certificate.key_label})")
        for entry in result.skipped:
            self.stdout.write(f"skipped: {entry.alias} ({entry.kind}): {entry.reason}")
