from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from keys import envelope


class Command(BaseCommand):
    help = (
        "Make a key-encryption key (KEK). Writes a new KEK file (mode 0600; default: "
        "CERTADMIN_KEK_FILE) for every host to share, or with --rotate puts a new key first in an "
        "existing file (then run rotate_kek). --print writes the key to standard output instead, "
        "for CERTADMIN_KEKS in a secret store."
    )
    # The check this command exists to satisfy must not stop it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", help="the KEK file (default: CERTADMIN_KEK_FILE)")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="add a new key first in an existing file, keeping the old ones after it",
        )
        parser.add_argument(
            "--print", action="store_true", help="print a new key instead of writing a file"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        key = envelope.new_kek_text()
        if options["print"]:
            self.stdout.write(key)
            return
        path = Path(options["file"] or settings.CERTADMIN_KEK_FILE)
        if options["rotate"]:
            if not path.exists():
                raise CommandError(f"{path} does not exist: there is nothing to rotate.")
            keys = [key, *envelope.read_key_file(path)]
            envelope.write_key_file(path, keys)
            self.stdout.write(
                f"Added a new first key to {path} ({len(keys)} keys). Restart every process, then "
                "run `manage.py rotate_kek`; remove the old keys after it finished."
            )
            return
        if path.exists():
            raise CommandError(
                f"{path} already exists; it is not overwritten (its key may protect data). "
                "Use --rotate to add a new key."
            )
        envelope.write_key_file(path, [key])
        self.stdout.write(
            f"Wrote a new KEK to {path} (mode 0600). Give every host the same file (or set "
            "CERTADMIN_KEK_FILE to it), and keep a copy apart from the database backups."
        )
