from argparse import ArgumentParser, ArgumentTypeError
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from notifications import services
from orgs.wording import count


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a date like 2025-06-30") from None


class Command(BaseCommand):
    help = (
        "Send the certificate expiration notices due now (the scheduled job, run by hand). "
        "Prints each email sent, or that would be sent with --dry-run."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--date",
            type=_day,
            metavar="YYYY-MM-DD",
            help="Run as if every org's local day were this date (default: today).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be sent; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]

        def show(digest: services.Digest) -> None:
            org = digest.org
            self.stdout.write(
                f"{org.name} ({org.public_id}) -> {digest.recipient.email}: {digest.outcome}"
            )
            for line in digest.lines:
                self.stdout.write(f"    {line.text}")

        outcome = services.send_expiry_notices(
            on_date=options["date"], dry_run=dry_run, trigger="command", on_digest=show
        )
        t = outcome.tally
        verb = "would be sent" if dry_run else "sent"
        self.stdout.write(
            f"{count(t.emails_sent, 'email', 'emails')} with "
            f"{count(t.notices_sent, 'notice', 'notices')} {verb}; "
            f"{t.notices_failed} failed, {t.superseded} superseded, {t.suppressed} suppressed"
            + (f", {t.notices_lost} lost to another run." if t.notices_lost else ".")
        )
        if outcome.error:
            raise CommandError(outcome.error)
