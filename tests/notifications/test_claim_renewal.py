"""A run that stalls for longer than the claim lease: another run takes over its claims, and
the first one neither sends them again nor counts them as its own.

The stall is made with time_machine (the job reads timezone.now() when no `now` is given),
and the second run is started from the first one's `on_digest`, between two of its emails.
alice: System Administrator of Acme (1-day and 0-day notices); bob holds Receive.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage

from notifications.models import ExpiryNotice, NotificationRun, NotificationRunOrg
from notifications.services import Digest, send_expiry_notices
from orgs.models import Organization
from tests.conftest import make_member
from tests.notifications.conftest import NOW, expiring, holder, in_days

State = ExpiryNotice.State


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _stall_then_run_another(clock: time_machine.Traveller) -> Callable[[Digest], None]:
    """After the first email: the clock passes the lease, and a second run goes."""
    calls = []

    def on_digest(digest: Digest) -> None:
        calls.append(digest)
        if len(calls) == 1:
            clock.shift(timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS + 1))
            send_expiry_notices()

    return on_digest


def _per_person(mailoutbox: list[EmailMessage]) -> Counter[str]:
    return Counter(message.to[0] for message in mailoutbox)


def test_claims_taken_over_during_a_stall_are_not_sent_again(
    mailoutbox: list[EmailMessage],
    acme: Organization,
    alice: User,
    bob: User,
    clock: time_machine.Traveller,
) -> None:
    holder(acme, bob)
    expiring(acme, "Payments_Signing", in_days(1))

    first = send_expiry_notices(on_digest=_stall_then_run_another(clock))

    assert _per_person(mailoutbox) == {alice.email: 1, bob.email: 1}
    assert set(ExpiryNotice.objects.filter(threshold=1).values_list("state", "attempts")) == {
        (State.SENT, 1)
    }
    assert (first.tally.emails_sent, first.tally.notices_sent, first.tally.notices_lost) == (
        1,
        1,
        1,
    )
    run = NotificationRun.objects.get(pk=first.run.pk)
    assert (run.notices_sent, run.notices_lost) == (1, 1)
    assert NotificationRunOrg.objects.get(run=run).notices_lost == 1
    assert "1 lost to another run" in run.summary


def test_a_mark_after_the_claim_was_taken_over_is_counted_lost_not_sent(
    settings: Any,
    mailoutbox: list[EmailMessage],
    acme: Organization,
    alice: User,
    bob: User,
    clock: time_machine.Traveller,
) -> None:
    """Marks written together (MARK_EVERY): the second run took the first email's notice
    over before its mark, and sent it again (the stall outlasted the lease)."""
    settings.EXPIRY_NOTICE_MARK_EVERY = 10
    holder(acme, bob)
    expiring(acme, "Payments_Signing", in_days(1))

    first = send_expiry_notices(on_digest=_stall_then_run_another(clock))

    second = NotificationRun.objects.exclude(pk=first.run.pk).get()
    assert (first.tally.emails_sent, first.tally.notices_sent, first.tally.notices_lost) == (
        1,
        0,
        2,
    )
    assert (second.emails_sent, second.notices_sent) == (2, 2)
    assert set(ExpiryNotice.objects.filter(threshold=1).values_list("state", "run")) == {
        (State.SENT, second.pk)
    }
    assert len(mailoutbox) == 3  # one repeat: the stall came between an email and its mark


def test_a_batch_longer_than_the_lease_keeps_its_claims(
    mailoutbox: list[EmailMessage],
    acme: Organization,
    alice: User,
    bob: User,
    clock: time_machine.Traveller,
) -> None:
    """Each email takes half the lease; after two of them another run starts, when the
    claims made at the start are older than the lease, but were renewed meanwhile."""
    holder(acme, bob)
    holder(acme, make_member(acme, "dave"))
    expiring(acme, "Payments_Signing", in_days(1))
    half = timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS / 2 + 1)
    sent = []

    def slow(digest: Digest) -> None:
        sent.append(digest)
        clock.shift(half)
        if len(sent) == 2:
            send_expiry_notices()

    first = send_expiry_notices(on_digest=slow)

    assert len(mailoutbox) == 3
    assert len(set(_per_person(mailoutbox))) == 3
    assert (first.tally.emails_sent, first.tally.notices_sent, first.tally.notices_lost) == (
        3,
        3,
        0,
    )
