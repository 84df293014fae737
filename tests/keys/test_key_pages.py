"""The Master Encryption Keys page and its operations, as alice (Manage Encryption Keys)."""

import re
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from keys.models import Contact, ContactField, MasterKey, ReencryptionJob
from keys.services.master_keys import destroy_master_key, export_master_key, rotate_master_key
from keys.services.reencryption import start_reencryption
from orgs.models import Organization
from tests.keys.conftest import SSN, add_contacts, value_row

PASSWORD = "export password 1"


def _url(name: str, org: Organization, *args: object) -> str:
    return reverse(f"keys:{name}", args=[org.public_id, *args])


def _state(org: Organization, version: int) -> str:
    return MasterKey.objects.get(organization=org, version=version).state


def test_page_lists_keys_with_their_value_counts(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    add_contacts(acme, ssn_field, ["111-11-1111", "222-22-2222"])
    rotate_master_key(org=acme, acting_user=None)
    add_contacts(acme, ssn_field, ["333-33-3333"])

    response = alice_client.get(_url("key-list", acme))

    assert response.context["keys"] == [
        (MasterKey.objects.get(organization=acme, version=2), 1),
        (MasterKey.objects.get(organization=acme, version=1), 2),
    ]
    assertContains(response, "2 values still on key 1.")
    assertContains(response, "Master Encryption Keys")


def test_setup_navigation_links_the_keys_page(alice_client: Client, acme: Organization) -> None:
    response = alice_client.get(reverse("orgs:setup-home", args=[acme.public_id]))

    assertContains(response, _url("key-list", acme))
    assertContains(response, _url("contact-list", acme))


def test_archive_and_create_new_key_after_a_confirmation_page(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    confirm = alice_client.get(_url("key-rotate", acme))

    response = alice_client.post(_url("key-rotate", acme), follow=True)

    assertContains(confirm, "Key 1 will be <strong>archived</strong>", html=False)
    assertContains(response, "Key 2 is now the active key.")
    assert (_state(acme, 1), _state(acme, 2)) == ("archived", "active")


def test_rotation_without_a_key_is_a_message_not_an_error(
    alice_client: Client, acme: Organization
) -> None:
    response = alice_client.post(_url("key-rotate", acme), follow=True)

    assertContains(response, "no master key yet")


def test_export_downloads_a_password_wrapped_file(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)

    response = alice_client.post(
        _url("key-export", acme, 1), {"password": PASSWORD, "password_again": PASSWORD}
    )

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="MasterKey_{acme.public_id}_v1.txt"'
    )
    assert response.content.startswith(b"certadmin-master-key-export v1\n")


def test_export_needs_the_password_twice(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)

    response = alice_client.post(
        _url("key-export", acme, 1), {"password": PASSWORD, "password_again": "something else"}
    )

    assertContains(response, "The two passwords are not the same.", status_code=400)


def test_export_of_the_active_key_is_refused(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    response = alice_client.post(
        _url("key-export", acme, 1), {"password": PASSWORD, "password_again": PASSWORD}
    )

    assertContains(response, "Only archived keys can be exported", status_code=400)


def test_destroy_page_says_how_many_values_become_unavailable(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    add_contacts(acme, ssn_field, ["111-11-1111", "222-22-2222", "333-33-3333"])
    rotate_master_key(org=acme, acting_user=None)

    response = alice_client.get(_url("key-destroy", acme, 1))

    assertContains(response, "3 values are still encrypted with key 1.")
    assertContains(response, "DESTROY KEY 1")


def test_destroy_with_a_wrong_confirmation_changes_nothing(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)

    response = alice_client.post(_url("key-destroy", acme, 1), {"confirmation": "DESTROY"})

    assertContains(response, "Type DESTROY KEY 1 to confirm, in capital letters", status_code=400)
    assert _state(acme, 1) == "archived"


@pytest.mark.parametrize(
    "typed", ["destroy key 1", "Destroy Key 1", "DESTROY  KEY 1", "DESTROY KEY 10"]
)
def test_destroy_needs_the_phrase_exactly(
    alice_client: Client, acme: Organization, ssn_field: ContactField, typed: str
) -> None:
    rotate_master_key(org=acme, acting_user=None)

    response = alice_client.post(_url("key-destroy", acme, 1), {"confirmation": typed})

    assertContains(response, "in capital letters exactly as shown", status_code=400)
    assert _state(acme, 1) == "archived"


def test_destroy_then_import_from_the_exported_file(
    alice_client: Client, acme: Organization, jane: Contact, ssn_field: ContactField
) -> None:
    rotate_master_key(org=acme, acting_user=None)
    exported = alice_client.post(
        _url("key-export", acme, 1), {"password": PASSWORD, "password_again": PASSWORD}
    ).content

    destroyed = alice_client.post(
        _url("key-destroy", acme, 1), {"confirmation": "DESTROY KEY 1"}, follow=True
    )
    imported = alice_client.post(
        _url("key-import", acme, 1),
        {"key_file": SimpleUploadedFile("key.txt", exported), "password": PASSWORD},
        follow=True,
    )

    assertContains(destroyed, "Destroyed key 1; 1 value is now unavailable.")
    assertContains(imported, "Imported key 1; its values are readable.")
    assert _state(acme, 1) == "archived"
    key = MasterKey.objects.get(organization=acme, version=1)
    row = _key_row(imported.content.decode(), 1)
    assert "Archived" in row
    assert "Destroyed" not in row.replace("after being destroyed", "")
    assert f"Imported {key.imported_at:%Y-%m-%d}" in row  # type: ignore[str-format]
    cells = re.findall(r"<td>(.*?)</td>", row, re.DOTALL)
    assert cells[5] == "—"  # the Destroyed column: a state, not the history
    assert value_row(jane, ssn_field).value.reveal() == SSN


def _key_row(html: str, version: int) -> str:
    """The row of key `version` in the page's key table."""
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)
    return next(r for r in rows if f"<td>Key {version} " in r)


def _destroyed(org: Organization) -> bytes:
    rotate_master_key(org=org, acting_user=None)
    text = export_master_key(org=org, version=1, password=PASSWORD, acting_user=None)
    destroy_master_key(org=org, version=1, confirmation="DESTROY KEY 1", acting_user=None)
    return text.encode()


def test_import_with_a_wrong_password_is_refused_with_a_message(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    exported = _destroyed(acme)

    response = alice_client.post(
        _url("key-import", acme, 1),
        {"key_file": SimpleUploadedFile("key.txt", exported), "password": "wrong password"},
    )

    assertContains(response, "The password is incorrect.", status_code=400)
    assert _state(acme, 1) == "destroyed"


def test_import_of_garbage_is_a_message_not_an_error(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    _destroyed(acme)
    uploads: list[Callable[[], SimpleUploadedFile]] = [
        lambda: SimpleUploadedFile("key.txt", b"\xff\xfe\x00garbage"),
        lambda: SimpleUploadedFile("key.txt", b"x" * 100_000),
        lambda: SimpleUploadedFile("key.txt", b"certadmin-master-key-export v1\norg: 1\n"),
    ]

    statuses = [
        alice_client.post(
            _url("key-import", acme, 1), {"key_file": make(), "password": PASSWORD}
        ).status_code
        for make in uploads
    ]

    assert statuses == [400, 400, 400]


def test_import_of_a_key_that_is_not_destroyed_redirects_with_a_message(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    response = alice_client.get(_url("key-import", acme, 1), follow=True)

    assertContains(response, "Only destroyed keys can be imported; key 1 is not.")


def test_unknown_key_number_is_404(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    response = alice_client.get(_url("key-export", acme, 99))

    assert response.status_code == 404


def test_reencrypt_now_moves_every_value_and_reports(
    alice_client: Client,
    acme: Organization,
    ssn_field: ContactField,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    add_contacts(acme, ssn_field, ["111-11-1111", "222-22-2222"])
    rotate_master_key(org=acme, acting_user=None)

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = alice_client.post(_url("reencrypt-start", acme))
    status = alice_client.get(_url("reencrypt-status", acme)).json()

    assertRedirects(response, _url("key-list", acme) + "#reencrypt")
    assert status["state"] == "done"
    assert status["percent"] == 100
    assert status["per_key"] == [{"version": 2, "values": 2, "usable": True}]
    assert status["pending"] == 0


def test_reencrypt_now_is_refused_while_a_job_runs(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    start_reencryption(org=acme, acting_user=None, enqueue=False)
    ReencryptionJob.objects.update(
        state="running", claimed_by="elsewhere:1:x", lease_until="2999-01-01T00:00:00Z"
    )

    response = alice_client.post(_url("reencrypt-start", acme), follow=True)

    assertContains(response, "already running")
    assert ReencryptionJob.objects.count() == 1


def test_status_json_shows_progress_of_a_running_job(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    add_contacts(acme, ssn_field, ["111-11-1111"])
    rotate_master_key(org=acme, acting_user=None)
    job = start_reencryption(org=acme, acting_user=None, enqueue=False)
    ReencryptionJob.objects.filter(pk=job.pk).update(state="running", total=4, moved=3)

    page = alice_client.get(_url("key-list", acme))
    status = alice_client.get(_url("reencrypt-status", acme)).json()

    assert status["running"] is True
    assert status["percent"] == 75
    assert status["per_key"] == [{"version": 1, "values": 1, "usable": True}]
    assertContains(page, 'value="75"')
    assertContains(page, "1 value still on key 1.")
    assertContains(page, "Refresh")


def test_a_queued_job_says_what_it_will_move_not_0_of_0(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    add_contacts(acme, ssn_field, ["111-11-1111", "222-22-2222", "333-33-3333"])
    rotate_master_key(org=acme, acting_user=None)
    start_reencryption(org=acme, acting_user=None, enqueue=False)  # no worker has taken it yet

    page = alice_client.get(_url("key-list", acme))
    status = alice_client.get(_url("reencrypt-status", acme)).json()

    text = "Queued: 3 values to move, waiting for the background worker."
    assertContains(page, text)
    assert "0 of 0" not in page.content.decode()
    assert status["summary"] + "." == text
    assert (status["state"], status["total"], status["percent"]) == ("queued", 3, 0)


def test_a_running_job_says_how_far_it_is(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    add_contacts(acme, ssn_field, ["111-11-1111"])
    rotate_master_key(org=acme, acting_user=None)
    job = start_reencryption(org=acme, acting_user=None, enqueue=False)
    ReencryptionJob.objects.filter(pk=job.pk).update(state="running", total=1200, moved=300)

    page = alice_client.get(_url("key-list", acme))

    assertContains(page, "Running: 300 of 1,200 values moved.")


def test_key_list_query_count_does_not_grow_with_keys(
    alice_client: Client, acme: Organization, ssn_field: ContactField
) -> None:
    url = _url("key-list", acme)
    alice_client.get(url)  # warm per-process caches (ContentType, session)
    with CaptureQueriesContext(connection) as one_key:
        alice_client.get(url)

    for _ in range(4):
        rotate_master_key(org=acme, acting_user=None)
        add_contacts(acme, ssn_field, ["111-11-1111"])
    with CaptureQueriesContext(connection) as five_keys:
        alice_client.get(url)

    assert len(five_keys) == len(one_key)
