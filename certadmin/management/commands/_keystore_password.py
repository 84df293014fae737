"""The keystore password of the operator commands: an environment variable or a prompt,
never a command-line argument (it would show in `ps` and shell history)."""

import getpass
import os

from django.core.management.base import CommandError

ENV_VAR = "CERTADMIN_KEYSTORE_PASSWORD"


def keystore_password(*, confirm: bool) -> str:
    password = os.environ.get(ENV_VAR)
    if password is not None:
        return password
    try:
        password = getpass.getpass("Keystore password: ")
        if confirm and getpass.getpass("Confirm password: ") != password:
            raise CommandError("The passwords do not match.")
    except EOFError as exc:
        raise CommandError(f"No password: set {ENV_VAR} or run the command in a terminal.") from exc
    return password
