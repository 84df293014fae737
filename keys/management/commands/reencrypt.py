from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from keys.models import ReencryptionJob
from keys.services.reencryption import BATCH_SIZE, run_reencryption, start_reencryption
from orgs.models import Organization


class Command(BaseCommand):
    help = (
        "Re-encrypt all encrypted values of an org with its active master key, in batches. "
        "Resumes an interrupted run; refuses while another worker runs it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org", help="the Organization ID (18 characters, e.g. 00D...)")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument(
            "--pause",
            type=float,
            default=0.0,
            help="seconds to sleep between batches, to leave the database to others",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            org = Organization.objects.get(public_id=options["org"])
        except Organization.DoesNotExist:
            raise CommandError(f"No organization with ID {options['org']!r}.") from None
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            job = start_reencryption(org=org, acting_user=None, enqueue=False)
            self.stdout.write(f"re-encrypting the data of {org}", ending="\n")
            self.stdout.flush()
            job = run_reencryption(
                job_id=job.pk,
                batch_size=options["batch_size"],
                pause=options["pause"],
                on_batch=self._progress,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if job.state != ReencryptionJob.State.DONE:
            raise CommandError(f"The job is {job.get_state_display()}: {job.message}")
        self.stdout.write(f"done: {job.message}")

    def _progress(self, job: ReencryptionJob) -> None:
        self.stdout.write(f"progress: {job.moved}/{job.total} values")
        self.stdout.flush()
