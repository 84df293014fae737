from typing import Any

from django.core.management.base import BaseCommand

from certadmin.demo import load_demo


class Command(BaseCommand):
    help = "Create or refresh the demo org and print its logins (new passwords every run)."

    def handle(self, *args: Any, **options: Any) -> None:
        org, logins = load_demo()
        self.stdout.write(f"Demo org: {org.name} ({org.public_id})")
        for login in logins:
            self.stdout.write(
                f"  login {login.username:<6} password {login.password}  {login.role}"
            )
