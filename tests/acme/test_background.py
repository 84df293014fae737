"""Orders run in the background (docs/acme.md, "How an order runs"): the form only stores and
queues the order, the django-q2 worker runs it against pebble, and the order's page says
where it stands. A worker that dies leaves the order "Stopped" with Try again; one order is
never run by two workers at once, and a worker given up as stopped writes nothing. Renew Now
queues its renewal the same way.

alice: System Administrator of Acme. `task_queue` sends tasks to django-q2's broker instead of
running them inline, and runs what is queued when called (tests/acme/conftest.py).
"""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from certadmin import acme_client
from certadmin.models import AcmeAccount, AcmeCertificate, AcmeChallenge, AcmeOrder, Certificate
from certadmin.services.acme import orders, runs
from orgs.models import AuditEvent, Organization
from tests.acme.test_renewal import obtain
from tests.acme_peers import Pebble

Status = AcmeOrder.Status
RunQueued = Callable[[], list[str]]


def _form(name: str, domains: str, challenge: str = "http-01") -> dict[str, str]:
    return {
        "label": name,
        "unique_name": name,
        "domains": domains,
        "key_type": "EC-P256",
        "exportable": "on",
        "challenge": challenge,
    }


def _status(client: Client, order: AcmeOrder) -> dict[str, Any]:
    response = client.get(order.get_absolute_url() + "status/")
    assert response["Content-Type"] == "application/json"
    data: dict[str, Any] = response.json()
    return data


def test_the_form_leaves_for_the_order_page_before_the_ca_is_contacted(
    client: Client, alice: User, account: AcmeAccount, acme: Organization, task_queue: RunQueued
) -> None:
    client.force_login(alice)

    response = client.post(
        f"/o/{acme.public_id}/setup/acme/new/",
        {"account": str(account.uuid), **_form("Portal", "portal.acme.test")},
    )

    order = AcmeOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert order.status == Status.QUEUED
    assert not Certificate.objects.exists()
    assert not AcmeChallenge.objects.exists()  # nothing asked of the CA yet
    page = client.get(response["Location"]).content.decode()
    assert "Queued: waiting for the background worker to start it." in page
    assert 'data-running="1"' in page
    assert _status(client, order)["running"] is True

    summaries = task_queue()  # the worker takes the order

    assert summaries == [f"Order {order.uuid} issued Portal."]
    page = client.get(response["Location"]).content.decode()
    certificate = Certificate.objects.get(unique_name="Portal")
    assert "Issued: the CA issued Portal." in page
    assert f'href="{certificate.get_absolute_url()}"' in page
    assert _status(client, order) == {
        "status": "issued",
        "words": "Issued: the CA issued Portal.",
        "advice": "",
        "running": False,
        "stalled": False,
        "can_retry": False,
    }


def test_manual_dns_01_waits_for_the_record_then_continue_queues_the_rest(
    client: Client,
    alice: User,
    account: AcmeAccount,
    acme: Organization,
    pebble: Pebble,
    task_queue: RunQueued,
) -> None:
    client.force_login(alice)
    client.post(
        f"/o/{acme.public_id}/setup/acme/new/",
        {"account": str(account.uuid), **_form("Wild", "*.wild.acme.test", "dns-01-manual")},
    )
    order = AcmeOrder.objects.get()
    task_queue()
    (challenge,) = AcmeChallenge.objects.all()
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Waiting for the TXT records: create them below" in page
    assert challenge.txt_name in page
    assert challenge.validation in page
    assert 'data-running="0"' in page  # a person's turn: the page does not poll
    continue_url = order.get_absolute_url() + "continue/"

    not_yet = client.post(continue_url, follow=True).content.decode()

    assert "is not published yet" in not_yet
    assert task_queue() == []  # nothing was queued
    order.refresh_from_db()
    assert order.status == Status.AWAITING_DNS

    pebble.set_txt(challenge.txt_name, challenge.validation)
    client.post(continue_url)
    order.refresh_from_db()
    assert order.status == Status.QUEUED  # the request only checked DNS and queued the rest
    assert task_queue() == [f"Order {order.uuid} issued Wild."]
    pebble.clear_txt(challenge.txt_name)
    assert "Issued: the CA issued Wild." in client.get(order.get_absolute_url()).content.decode()


def _order(acme: Organization, account: AcmeAccount, name: str = "Web") -> AcmeOrder:
    return orders.start_new_certificate(
        org=acme,
        account=account,
        label=name,
        unique_name=name,
        domains=[f"{name.lower()}.acme.test"],
        acting_user=None,
    )


def _worker_died(order: AcmeOrder) -> str:
    """A worker claims the order and dies; its deadline passes (what STEP_DEADLINE later
    looks like)."""
    token = runs.claim(order)
    AcmeOrder.objects.filter(pk=order.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    return token


def test_an_order_whose_worker_died_shows_stopped_and_try_again_runs_it(
    client: Client, alice: User, account: AcmeAccount, acme: Organization, task_queue: RunQueued
) -> None:
    order = _order(acme, account)  # its task waits in the queue
    dead_worker = _worker_died(order)  # as if a worker had taken it, then died
    client.force_login(alice)

    page = client.get(order.get_absolute_url()).content.decode()

    assert "Stopped: the background worker stopped answering while contacting the CA" in page
    assert "Choose Try again to run the order again." in page
    assert 'data-running="0"' in page
    assert ">Try again</button>" in page
    overview = client.get(f"/o/{acme.public_id}/setup/acme/").content.decode()
    assert "Stopped (see the order)" in overview

    client.post(order.get_absolute_url() + "retry/")
    order.refresh_from_db()
    assert order.status == Status.QUEUED
    summaries = task_queue()  # the original task (its worker died) and Try again's

    assert f"Order {order.uuid} issued Web." in summaries
    order.refresh_from_db()
    assert order.status == Status.ISSUED
    assert Certificate.objects.count() == 1
    with pytest.raises(runs.LostClaim):  # the dead worker, back, may no longer move it
        runs.advance(order, dead_worker, Status.FINALIZING)


def test_an_order_no_worker_took_says_the_worker_must_run(
    client: Client, alice: User, account: AcmeAccount, acme: Organization, task_queue: RunQueued
) -> None:
    order = _order(acme, account)  # queued; no qcluster takes it
    AcmeOrder.objects.filter(pk=order.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    client.force_login(alice)

    page = client.get(order.get_absolute_url()).content.decode()

    assert "Not started: no background worker took this order" in page
    assert "The worker (manage.py qcluster) must be running" in page
    assert ">Try again</button>" in page


def test_a_second_run_of_a_running_order_does_not_proceed(
    account: AcmeAccount, acme: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """django-q2 may deliver a task twice, and Try again may race a slow worker: the second
    run, started while the first tells the CA its challenges are ready, finds it claimed."""
    order = orders.start_new_certificate(
        org=acme,
        account=account,
        label="Once",
        unique_name="Once",
        domains=["once.acme.test"],
        acting_user=None,
        enqueue=False,
    )
    answer = acme_client.answer
    second: list[str] = []

    def answer_and_run_again(acme_: Any, todo: Any) -> None:
        second.append(orders.run_queued_order(order.pk))
        answer(acme_, todo)

    monkeypatch.setattr(acme_client, "answer", answer_and_run_again)

    orders.run_order(order)

    assert second == [f"Order {order.uuid} is being run by another worker."]
    assert order.status == Status.ISSUED
    assert Certificate.objects.count() == 1
    assert AuditEvent.objects.filter(action="obtainedAcmeCert").count() == 1
    assert orders.run_queued_order(order.pk) == f"Order {order.uuid} is issued."


def test_a_worker_given_up_as_stopped_writes_nothing_when_it_comes_back(
    account: AcmeAccount, acme: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first worker stalls past its deadline while the CA validates; Try again's worker
    takes the order over and issues it; the first one then finds its claim gone."""
    order = orders.start_new_certificate(
        org=acme,
        account=account,
        label="Slow",
        unique_name="Slow",
        domains=["slow.acme.test"],
        acting_user=None,
        enqueue=False,
    )
    answer = acme_client.answer
    taken_over: list[str] = []

    def stall_then_answer(acme_: Any, todo: Any) -> None:
        monkeypatch.setattr(acme_client, "answer", answer)
        AcmeOrder.objects.filter(pk=order.pk).update(deadline=timezone.now())
        # Try again: its worker runs inline in the tests (Q_CLUSTER sync).
        orders.retry_order(order=AcmeOrder.objects.get(pk=order.pk), acting_user=None)
        taken_over.append(AcmeOrder.objects.get(pk=order.pk).status)
        answer(acme_, todo)  # the first worker wakes up

    monkeypatch.setattr(acme_client, "answer", stall_then_answer)

    with pytest.raises(runs.NotClaimed, match="taken over by another worker"):
        orders.run_order(order)

    assert taken_over == [Status.ISSUED]
    order.refresh_from_db()
    assert order.status == Status.ISSUED
    assert order.error == ""
    assert order.attempts == 2
    assert Certificate.objects.count() == 1


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the tests' in-memory SQLite (shared cache) refuses a second writer at once "
    "('table is locked') where a database file waits its turn; CI runs this on PostgreSQL",
)
@pytest.mark.parametrize("round_", range(3))
def test_two_workers_claiming_at_once_only_one_wins(
    round_: int, account: AcmeAccount, acme: Organization
) -> None:
    queued = orders.start_new_certificate(
        org=acme,
        account=account,
        label="Race",
        unique_name="Race",
        domains=["race.acme.test"],
        acting_user=None,
        enqueue=False,
    )
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        start.wait()
        try:
            runs.claim(AcmeOrder.objects.get(pk=queued.pk))
            outcomes.append("claimed")
        except runs.NotClaimed:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["claimed", "refused"]
    assert AcmeOrder.objects.get(pk=queued.pk).attempts == 1


def test_renew_now_queues_the_renewal_and_leaves_for_its_order(
    client: Client, alice: User, account: AcmeAccount, acme: Organization, task_queue: RunQueued
) -> None:
    old = obtain(account, acme, "Api", key_type="EC-P256")
    client.force_login(alice)
    url = f"/o/{acme.public_id}/setup/certificates/{old.uuid}/acme/renewal/"

    response = client.post(url, {"renew_now": "1"})
    twice = client.post(url, {"renew_now": "1"}, follow=True).content.decode()

    order = AcmeOrder.objects.get(purpose=AcmeOrder.Purpose.RENEWAL)
    assert response["Location"] == order.get_absolute_url()
    assert order.status == Status.QUEUED
    assert "A renewal of Api is already under way." in twice
    assert Certificate.objects.count() == 1

    (summary,) = task_queue()

    new = Certificate.objects.exclude(pk=old.pk).get()
    assert summary == f"Renewed Api as {new.unique_name}."
    page = client.get(order.get_absolute_url()).content.decode()
    assert f"Issued: the CA issued {new.unique_name}." in page
    old.refresh_from_db()
    assert old.replaced_by == new


def test_renew_now_that_fails_is_recorded_as_a_failing_renewal(
    client: Client, alice: User, account: AcmeAccount, acme: Organization, task_queue: RunQueued
) -> None:
    old = obtain(account, acme, "Mail", key_type="EC-P256")
    account.directory_url = "https://127.0.0.1:9/dir"  # unreachable
    account.save()
    client.force_login(alice)
    client.post(
        f"/o/{acme.public_id}/setup/certificates/{old.uuid}/acme/renewal/", {"renew_now": "1"}
    )

    (summary,) = task_queue()

    assert summary.startswith("Renewal of Mail failed: The CA is unreachable")
    tracked = AcmeCertificate.objects.get()
    assert tracked.failures == 1
    assert "The CA is unreachable" in tracked.last_error
    order = AcmeOrder.objects.get(purpose=AcmeOrder.Purpose.RENEWAL)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "The renewal schedule tries again with back-off" in page
    assert ">Try again</button>" not in page
