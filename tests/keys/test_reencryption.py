"""The re-encryption job: batches, idempotence, concurrent edits, one worker per org."""

import os
import socket
import subprocess
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from keys import keyring, tasks
from keys.columns import values_per_key
from keys.models import ContactField, ContactFieldValue, ReencryptionJob
from keys.services.contacts import save_contact
from keys.services.master_keys import KEYS_SECTION, destroy_master_key, rotate_master_key
from keys.services.reencryption import ReencryptionBusy, run_reencryption, start_reencryption
from orgs.models import AuditEvent, Organization
from tests.keys.conftest import add_contacts, value_row

VALUES = [f"{i:03d}-12-{i:04d}" for i in range(25)]


@pytest.fixture
def on_key_1(acme: Organization, ssn_field: ContactField) -> dict[int, str]:
    """25 values written under key 1; key 2 is active. Returns {value id: plaintext}."""
    contacts = add_contacts(acme, ssn_field, VALUES)
    rotate_master_key(org=acme, acting_user=None)
    return {value_row(c, ssn_field).pk: v for c, v in zip(contacts, VALUES, strict=True)}


def _run(org: Organization, **kwargs: Any) -> ReencryptionJob:
    job = start_reencryption(org=org, acting_user=None, enqueue=False)
    return run_reencryption(job_id=job.pk, **kwargs)


def _readable(expected: dict[int, str]) -> dict[int, str]:
    return {
        row.pk: row.value.reveal()
        for row in ContactFieldValue.objects.select_related("field").filter(pk__in=expected)
    }


def test_moves_every_value_to_the_active_key_in_batches(
    acme: Organization, on_key_1: dict[int, str]
) -> None:
    batches: list[int] = []

    job = _run(acme, batch_size=10, on_batch=lambda j: batches.append(j.moved))

    assert batches == [10, 20, 25]
    assert (job.state, job.moved, job.total) == ("done", 25, 25)
    assert values_per_key(acme) == {2: 25}
    assert _readable(on_key_1) == on_key_1


def test_running_it_again_changes_nothing(acme: Organization, on_key_1: dict[int, str]) -> None:
    _run(acme)
    tokens = {row.pk: row.value.token for row in ContactFieldValue.objects.all()}

    job = _run(acme)

    assert job.moved == 0
    assert {row.pk: row.value.token for row in ContactFieldValue.objects.all()} == tokens


def test_values_under_a_destroyed_key_stay_and_are_reported(
    acme: Organization, on_key_1: dict[int, str], ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)  # key 3 active, 1 and 2 archived
    destroy_master_key(org=acme, version=1, confirmation="DESTROY KEY 1", acting_user=None)

    job = _run(acme)

    assert job.moved == 0
    assert "25 values remain under destroyed keys" in job.message
    assert values_per_key(acme) == {1: 25}


def test_a_users_edit_during_the_run_wins(
    acme: Organization, on_key_1: dict[int, str], ssn_field: ContactField, monkeypatch: Any
) -> None:
    """The job read a row's token; the user saves a new value before the job writes."""
    first_id = min(on_key_1)
    row = ContactFieldValue.objects.select_related("contact").get(pk=first_id)
    real_rotate = keyring.TokenRotator.rotate_batch
    edited: list[bool] = []

    def rotate_while_a_user_edits(self: keyring.TokenRotator, rows: Any) -> Any:
        if not edited:
            edited.append(True)
            save_contact(
                org=acme,
                contact=row.contact,
                first_name="",
                last_name="Edited",
                email="",
                values={ssn_field: "999-99-9999"},
                acting_user=None,
            )
        return real_rotate(self, rows)

    monkeypatch.setattr(keyring.TokenRotator, "rotate_batch", rotate_while_a_user_edits)

    job = _run(acme)

    assert value_row(row.contact, ssn_field).value.reveal() == "999-99-9999"
    assert job.moved == 24  # the edited row was already on key 2, written by the user
    assert values_per_key(acme) == {2: 25}


def test_a_value_that_does_not_decrypt_is_left_alone(
    acme: Organization, on_key_1: dict[int, str]
) -> None:
    first_id = min(on_key_1)
    token = ContactFieldValue.objects.get(pk=first_id).value.token
    broken = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    ContactFieldValue.objects.filter(pk=first_id).update(value=broken)

    job = _run(acme)

    assert job.moved == 24
    assert "1 value could not be decrypted" in job.message
    assert ContactFieldValue.objects.get(pk=first_id).value.token == broken


def test_only_one_job_per_org_is_queued_or_running(
    acme: Organization, on_key_1: dict[int, str]
) -> None:
    job = start_reencryption(org=acme, acting_user=None, enqueue=False)
    ReencryptionJob.objects.filter(pk=job.pk).update(
        state="running",
        claimed_by="other-host:1:abcd",
        lease_until=timezone.now() + timedelta(minutes=1),
    )

    with pytest.raises(ReencryptionBusy):
        start_reencryption(org=acme, acting_user=None, enqueue=False)
    with pytest.raises(ReencryptionBusy):
        run_reencryption(job_id=job.pk)
    assert tasks.reencrypt_org(job.pk) == "Another worker is running this re-encryption."


def test_a_job_whose_lease_expired_is_taken_over(
    acme: Organization, on_key_1: dict[int, str]
) -> None:
    job = start_reencryption(org=acme, acting_user=None, enqueue=False)
    ReencryptionJob.objects.filter(pk=job.pk).update(
        state="running",
        claimed_by="other-host:1:abcd",
        lease_until=timezone.now() - timedelta(seconds=1),
    )

    job = _run(acme)

    assert (job.state, job.attempts) == ("done", 1)
    assert values_per_key(acme) == {2: 25}


def test_a_job_of_a_dead_process_on_this_host_is_taken_over_at_once(
    acme: Organization, on_key_1: dict[int, str]
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    job = start_reencryption(org=acme, acting_user=None, enqueue=False)
    ReencryptionJob.objects.filter(pk=job.pk).update(
        state="running",
        claimed_by=f"{socket.gethostname()}:{dead.pid}:abcd",
        lease_until=timezone.now() + timedelta(minutes=1),
    )

    job = _run(acme)

    assert job.state == "done"


def test_a_worker_that_lost_its_claim_stops_without_writing(
    acme: Organization, on_key_1: dict[int, str]
) -> None:
    def someone_takes_over(job: ReencryptionJob) -> None:
        ReencryptionJob.objects.filter(pk=job.pk).update(claimed_by=f"thief:{os.getpid()}:x")

    job = _run(acme, batch_size=10, on_batch=someone_takes_over)

    assert job.state == "running"
    assert job.claimed_by.startswith("thief:")
    assert values_per_key(acme) == {1: 15, 2: 10}


def test_the_task_returns_a_summary(acme: Organization, on_key_1: dict[int, str]) -> None:
    job = start_reencryption(org=acme, acting_user=None, enqueue=False)

    summary = tasks.reencrypt_org(job.pk)

    assert summary == "Done: 25 values re-encrypted with key 2"


def test_start_and_finish_are_audited(acme: Organization, on_key_1: dict[int, str]) -> None:
    _run(acme)

    actions = list(
        AuditEvent.objects.filter(organization=acme, section=KEYS_SECTION)
        .order_by("id")
        .values_list("action", "actor_name")
    )

    assert actions[-2:] == [("startedReencryption", "system"), ("finishedReencryption", "system")]


def test_command_reencrypts_an_org(
    acme: Organization, on_key_1: dict[int, str], capsys: Any
) -> None:
    call_command("reencrypt", acme.public_id, "--batch-size", "10")

    out = capsys.readouterr().out
    assert "progress: 10/25 values" in out
    assert "done: 25 values re-encrypted with key 2" in out
    assert values_per_key(acme) == {2: 25}


def test_command_refuses_an_unknown_org(db: None) -> None:
    with pytest.raises(CommandError, match="No organization with ID"):
        call_command("reencrypt", "00Dnope")


def test_a_run_out_of_time_hands_the_job_back_and_the_task_continues_it(
    acme: Organization, on_key_1: dict[int, str], monkeypatch: Any
) -> None:
    job = start_reencryption(org=acme, acting_user=None, enqueue=False)

    paused = run_reencryption(job_id=job.pk, batch_size=10, time_budget=0)
    monkeypatch.setattr(tasks, "TIME_BUDGET", 0)
    summary = tasks.reencrypt_org(job.pk)  # runs follow-up tasks inline (sync test settings)

    assert (paused.state, paused.moved, paused.claimed_by) == ("queued", 10, "")
    assert summary == "25 values moved so far; continuing in a new task"
    assert ReencryptionJob.objects.get(pk=job.pk).state == "done"
    assert values_per_key(acme) == {2: 25}
