"""An order's page says where the order stands, in words, for each state the worker moves it
through; it keeps following the order (data-running, the polite live region) only while a
worker has it, and offers Try again for failed and stopped orders, never for renewals.

alice: System Administrator of Acme. No CA here: the orders are set in each state.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from certadmin.models import AcmeChallenge, AcmeOrder
from certadmin.services.acme import accounts
from orgs.models import Organization

Status = AcmeOrder.Status


def _order(org: Organization, status: str, **fields: object) -> AcmeOrder:
    account = accounts.create_account(
        org=org, label="CA", directory_url="https://127.0.0.1:9/directory", acting_user=None
    )
    return AcmeOrder.objects.create(
        organization=org,
        account=account,
        purpose=fields.pop("purpose", AcmeOrder.Purpose.NEW),
        unique_name="Web",
        domains=["a.acme.test", "b.acme.test"],
        challenge=fields.pop("challenge", "http-01"),
        status=status,
        **{"deadline": timezone.now() + timedelta(minutes=5), **fields},
    )


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (Status.QUEUED, "Queued: waiting for the background worker to start it."),
        (Status.ORDERING, "Contacting the CA: placing the order for a.acme.test and b.acme.test."),
        (Status.VALIDATING, "Waiting for the CA to validate b.acme.test."),
        (Status.FINALIZING, "Finalizing: the CA validated every name and is issuing the"),
    ],
)
def test_a_working_order_is_followed_in_words(
    alice_client: Client, acme: Organization, status: str, words: str
) -> None:
    order = _order(acme, status)
    AcmeChallenge.objects.create(order=order, domain="b.acme.test", token="t", validation="v")

    page = alice_client.get(order.get_absolute_url()).content.decode()
    status_json = alice_client.get(order.get_absolute_url() + "status/").json()

    assert words in page
    assert words in status_json["words"]
    assert status_json["running"] is True
    assert 'data-running="1"' in page
    assert 'role="status" aria-live="polite"' in page
    assert "Try again" not in page


def test_a_failed_order_says_the_cas_words_what_to_do_and_offers_try_again(
    alice_client: Client, acme: Organization
) -> None:
    order = _order(
        acme,
        Status.FAILED,
        error="The CA's rate limit was reached (rateLimited); try again later: too many",
        error_code="rateLimited",
    )

    page = alice_client.get(order.get_absolute_url()).content.decode()

    assert "The order failed: The CA&#x27;s rate limit was reached (rateLimited)" in page
    assert "Wait until the CA&#x27;s rate limit resets" in page
    assert ">Try again</button>" in page
    assert 'data-running="0"' in page


def test_a_failed_renewal_order_points_at_the_schedule_not_try_again(
    alice_client: Client, acme: Organization
) -> None:
    order = _order(
        acme, Status.FAILED, purpose=AcmeOrder.Purpose.RENEWAL, error="The CA is unreachable."
    )

    page = alice_client.get(order.get_absolute_url()).content.decode()
    refused = alice_client.post(order.get_absolute_url() + "retry/", follow=True)

    assert "The renewal schedule tries again with back-off" in page
    assert ">Try again</button>" not in page
    assert "there is nothing to retry" in refused.content.decode()
    order.refresh_from_db()
    assert order.status == Status.FAILED


def test_a_running_order_cannot_be_retried(alice_client: Client, acme: Organization) -> None:
    order = _order(acme, Status.VALIDATING, claimed_by="host:1:abcd")

    response = alice_client.post(order.get_absolute_url() + "retry/", follow=True)

    assert "there is nothing to retry" in response.content.decode()
    order.refresh_from_db()
    assert (order.status, order.claimed_by) == (Status.VALIDATING, "host:1:abcd")


def test_an_order_waiting_for_txt_records_shows_them_and_does_not_poll(
    alice_client: Client, acme: Organization
) -> None:
    order = _order(acme, Status.AWAITING_DNS, challenge="dns-01-manual", deadline=None)
    AcmeChallenge.objects.create(
        order=order, domain="a.acme.test", validation="txt-value", txt_name="_acme-challenge.a"
    )

    page = alice_client.get(order.get_absolute_url()).content.decode()

    assert "Waiting for the TXT records: create them below" in page
    assert "<code>_acme-challenge.a</code>" in page
    assert "<code>txt-value</code>" in page
    assert ">Check and continue</button>" in page
    assert 'data-running="0"' in page


def test_check_and_continue_on_an_order_not_waiting_says_so(
    alice_client: Client, acme: Organization
) -> None:
    order = _order(acme, Status.FAILED, error="x")

    response = alice_client.post(order.get_absolute_url() + "continue/", follow=True)

    assert "This order is not waiting for TXT records." in response.content.decode()


__all__ = ["User"]
