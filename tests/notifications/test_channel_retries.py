"""Webhook retries when they are due: the 5-minute schedule "notifications: webhook retries" runs
only the deliveries whose back-off has passed (notifications.tasks.retry_channel_deliveries),
through django-q2 (synchronous in the tests), against a local receiver that fails first; with
the hourly job at the same time, each notice still reaches the receiver once.

The clock is time_machine's: the task, like the schedule, runs at timezone.now().
"""

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import pairwise

import pytest
import time_machine
from croniter import croniter
from django.conf import settings
from django.db import connection
from django_q.models import Schedule
from django_q.tasks import async_task, result

from notifications.models import ChannelDelivery
from notifications.services import channels
from orgs.models import Organization
from tests.callout_peers import WebhookReceiver
from tests.notifications.conftest import NOW, expiring, in_days
from tests.notifications.test_channels import channel, per_notice

State = ChannelDelivery.State
RETRIES = "notifications: webhook retries"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.stop()


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _run_scheduled(name: str) -> str:
    """Run the schedule's function as the cluster would: through django-q2's async_task."""
    task_id = async_task(Schedule.objects.get(name=name).func)
    outcome = result(task_id)
    assert isinstance(outcome, str), outcome
    return outcome


def test_the_retry_schedule_runs_every_five_minutes(db: None) -> None:
    schedule = Schedule.objects.get(name=RETRIES)  # synced by migrate

    times = croniter(schedule.cron, NOW)
    runs = [times.get_next(type(NOW)) for _ in range(13)]

    assert schedule.func == "notifications.tasks.retry_channel_deliveries"
    assert schedule.schedule_type == Schedule.CRON
    assert {b - a for a, b in pairwise(runs)} == {timedelta(minutes=5)}
    assert 5 not in {run.minute for run in runs}  # never with the hourly job (minute 5)


def test_a_failed_delivery_is_retried_by_the_task_once_its_back_off_has_passed(
    acme: Organization, receiver: WebhookReceiver, clock: time_machine.Traveller
) -> None:
    expiring(acme, "Payments_Api", in_days(30))
    ops = channel(acme, receiver.url)
    receiver.mode, receiver.failures = "fail", 1
    channels.deliver()  # the hourly job's run: the receiver answers 500

    clock.move_to(NOW + timedelta(minutes=4))
    early = _run_scheduled(RETRIES)
    clock.move_to(NOW + timedelta(minutes=6))
    due = _run_scheduled(RETRIES)
    again = _run_scheduled(RETRIES)

    assert early.startswith("0 webhook deliveries sent")  # 5 minutes of back-off: not yet
    assert due.startswith("1 webhook delivery sent, 0 failed")
    assert again.startswith("0 webhook deliveries sent")
    assert per_notice(receiver) == {("Payments Api", 30): 1}
    assert len(receiver.requests) == 2  # the 500, then the retry
    delivery = ChannelDelivery.objects.get(channel=ops)
    assert (delivery.state, delivery.attempts) == (State.SENT, 2)
    assert delivery.sent_at == NOW + timedelta(minutes=6)  # not at the next hourly run


def test_the_retry_task_sends_nothing_new(
    acme: Organization, receiver: WebhookReceiver, clock: time_machine.Traveller
) -> None:
    """A certificate entering a window waits for the hourly job: the retries are only retries."""
    expiring(acme, "Payments_Api", in_days(30))
    channel(acme, receiver.url)

    outcome = _run_scheduled(RETRIES)

    assert outcome.startswith("0 webhook deliveries sent")
    assert receiver.requests == []
    assert not ChannelDelivery.objects.exists()


def test_a_retry_whose_certificate_entered_a_tighter_window_is_superseded(
    acme: Organization, receiver: WebhookReceiver, clock: time_machine.Traveller
) -> None:
    """Between the local midnight and the hourly run that inserts the 10-day notice, the retry
    of the 30-day one is not sent late."""
    expiring(acme, "Payments_Api", in_days(11))
    channel(acme, receiver.url)
    receiver.stop()
    channels.deliver()  # the 30-day notice fails
    receiver.start()

    clock.move_to(NOW + timedelta(days=1))  # 10 days left: the 10-day window
    outcome = _run_scheduled(RETRIES)

    assert "0 failed, 1 superseded" in outcome
    assert receiver.requests == []
    assert ChannelDelivery.objects.get().state == State.SUPERSEDED


@pytest.mark.parametrize("held", ["retry task", "hourly job"])
def test_the_hourly_job_and_the_retry_task_at_once_deliver_each_notice_once(
    transactional_db: None,
    acme: Organization,
    receiver: WebhookReceiver,
    clock: time_machine.Traveller,
    held: str,
) -> None:
    """The overlap is made: the receiver holds the first run's POST (its claim taken, nothing
    marked) while the other runs from start to end."""
    expiring(acme, "Payments_Api", in_days(30))
    ops = channel(acme, receiver.url)
    receiver.mode, receiver.failures = "fail", 1
    channels.deliver()  # the first attempt fails
    clock.move_to(NOW + timedelta(minutes=10))  # the retry is due
    holding, release = threading.Event(), threading.Event()

    def hold(number: int) -> None:
        if number == 2:
            holding.set()
            release.wait()

    receiver.on_request = hold
    tasks = {
        "retry task": RETRIES,
        "hourly job": "notifications: expiry notices",
    }
    other = next(name for key, name in tasks.items() if key != held)
    outcomes: list[str] = []

    def run_held() -> None:
        try:
            outcomes.append(_run_scheduled(tasks[held]))
        finally:
            connection.close()

    first = threading.Thread(target=run_held)
    first.start()
    while not holding.wait(0.05):
        assert first.is_alive(), "the first run ended before posting"
    outcomes.append(_run_scheduled(other))
    release.set()
    first.join()

    assert len(outcomes) == 2
    assert per_notice(receiver) == {("Payments Api", 30): 1}
    assert len(receiver.requests) == 2  # the 500, then one retry
    delivery = ChannelDelivery.objects.get(channel=ops)
    assert (delivery.state, delivery.attempts) == (State.SENT, 2)


def _stall_then_retry(clock: time_machine.Traveller) -> Callable[[int], None]:
    """In the first POST: the clock passes the lease, and the retry task runs meanwhile."""

    def on_request(number: int) -> None:
        if number == 1:
            clock.shift(timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS + 1))
            try:
                channels.retry_due()
            finally:
                connection.close()

    return on_request


def test_a_run_stalled_past_the_lease_does_not_send_what_the_retry_task_took_over(
    transactional_db: None,
    acme: Organization,
    receiver: WebhookReceiver,
    clock: time_machine.Traveller,
) -> None:
    """The hourly run claimed two deliveries, then stalled in the first POST for longer than
    the lease: the retry task took both over as abandoned. The in-flight one may repeat (same
    Idempotency-Key, docs/named-credentials.md); the other is the retry task's alone."""
    expiring(acme, "Payments_Api", in_days(29))  # sent first: the earlier expiration
    expiring(acme, "Web_Gateway", in_days(30))
    channel(acme, receiver.url)
    receiver.on_request = _stall_then_retry(clock)

    tally = channels.deliver()

    assert per_notice(receiver) == {("Payments Api", 30): 2, ("Web Gateway", 30): 1}
    assert len(receiver.unique()) == 2
    assert (tally.sent, tally.lost) == (0, 2)
    assert set(ChannelDelivery.objects.values_list("state", "attempts")) == {(State.SENT, 1)}
