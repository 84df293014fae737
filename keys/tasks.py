"""django-q2 entry points. Keep them thin: resolve arguments, call one service."""

from django_q.tasks import async_task

from keys.models import ReencryptionJob
from keys.services.reencryption import ReencryptionBusy, run_reencryption
from orgs.wording import count

# Seconds one task spends re-encrypting before it queues a follow-up task for the rest:
# well below Q_CLUSTER["timeout"], so a large org never gets its worker killed mid-batch.
TIME_BUDGET = 240.0


def reencrypt_org(job_id: int) -> str:
    """Run (or resume) one "Re-encrypt all data now" job."""
    try:
        job = run_reencryption(job_id=job_id, time_budget=TIME_BUDGET)
    except ReencryptionBusy as exc:
        return exc.messages[0]  # another worker has it: nothing to do here
    if job.state == ReencryptionJob.State.QUEUED:
        async_task("keys.tasks.reencrypt_org", job_id)
        return f"{count(job.moved, 'value', 'values')} moved so far; continuing in a new task"
    return f"{job.get_state_display()}: {job.message}"  # shown in the django-q2 admin
