"""What goes wrong, against real pebbles: the CA unreachable, a challenge that fails
validation, badNonce, a deactivated account; and rateLimited, which pebble never sends, from
a proxy in front of pebble that answers newOrder with the problem document. Each is said in
words, retried with back-off (renewals), and leaves nothing half-written."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from certadmin import acme_client
from certadmin.models import AcmeAccount, AcmeCertificate, AcmeChallenge, AcmeOrder, Certificate
from certadmin.services.acme import accounts, orders, renewal
from orgs.models import Organization
from tests.acme.conftest import SettingsWrapper, register, start_pebble
from tests.acme.test_renewal import due_time, obtain
from tests.acme_peers import Pebble, RateLimitingProxy


def _new_order(account: AcmeAccount, org: Organization, domain: str) -> AcmeOrder:
    return orders.start_new_certificate(
        org=org,
        account=account,
        label="W",
        unique_name="W",
        domains=[domain],
        acting_user=None,
        enqueue=False,
    )


def test_a_challenge_that_fails_validation_writes_no_certificate(
    account: AcmeAccount, acme: Organization, pebble: Pebble
) -> None:
    pebble.add_a("elsewhere.acme.test", "127.0.0.2")  # nothing answers there
    order = _new_order(account, acme, "elsewhere.acme.test")

    with pytest.raises(acme_client.AcmeProblem) as caught:
        orders.run_order(order)

    assert "could not validate the challenge" in caught.value.words
    assert "elsewhere.acme.test" in caught.value.words
    order.refresh_from_db()
    assert order.status == AcmeOrder.Status.FAILED
    assert order.error == caught.value.words
    assert not Certificate.objects.exists()
    assert not AcmeChallenge.objects.exists()


def test_failed_renewal_is_retried_with_back_off_shown_and_emailed(
    client: Client, account: AcmeAccount, acme: Organization, alice: User
) -> None:
    certificate = obtain(account, acme, "Mail", key_type="EC-P256")
    account.directory_url = "https://127.0.0.1:9/dir"  # unreachable
    account.save()
    now = due_time(certificate)

    first = renewal.renew_due(now=now)
    second = renewal.renew_due(now=now + timedelta(minutes=30))  # waits out the back-off
    third = renewal.renew_due(now=now + timedelta(hours=1, minutes=1))

    assert len(first.failed) == 1
    assert second.failed == []
    assert len(third.failed) == 1
    tracked = AcmeCertificate.objects.get()
    assert tracked.failures == 2
    assert tracked.certificate == certificate
    assert tracked.next_attempt_at == now + timedelta(hours=1, minutes=1) + timedelta(hours=2)
    assert Certificate.objects.count() == 1  # nothing half-written
    (email,) = mail.outbox  # once a day, not once per attempt
    assert email.to == [alice.email]
    assert "Mail" in email.subject
    assert "The CA is unreachable" in email.body
    client.force_login(alice)
    page = client.get(certificate.get_absolute_url()).content.decode()
    assert "Renewal is failing since" in page
    assert "The CA is unreachable" in page
    overview = client.get(f"/o/{acme.public_id}/setup/acme/").content.decode()
    assert "Failing Renewals" in overview
    home = client.get(f"/o/{acme.public_id}/setup/").content.decode()
    assert "Automatic renewal is failing for Mail" in home


def test_deactivated_account_is_refused_in_words(account: AcmeAccount, acme: Organization) -> None:
    certificate = obtain(account, acme, "Gone", key_type="EC-P256")
    acme_client.deactivate(accounts.client_for(account))  # e.g. by another client

    with pytest.raises(acme_client.AcmeProblem, match="Account has been deactivated"):
        renewal.renew(acme_cert=certificate.acme, now=due_time(certificate))

    assert AcmeCertificate.objects.get().failures == 1


def test_deactivating_here_marks_the_account(account: AcmeAccount) -> None:
    accounts.deactivate_account(account=account, acting_user=None)

    assert AcmeAccount.objects.get().status == AcmeAccount.Status.DEACTIVATED
    with pytest.raises(ValidationError, match="register it first"):
        orders.start_new_certificate(
            org=account.organization,
            account=account,
            label="X",
            unique_name="X",
            domains=["x.acme.test"],
            acting_user=None,
            enqueue=False,
        )


@pytest.fixture
def nonce_rejecting_pebble(
    tmp_path: Path, live_server: LiveServer, acme_settings: SettingsWrapper
) -> Iterator[Pebble]:
    server = start_pebble(tmp_path, live_server, env={"PEBBLE_WFE_NONCEREJECT": "100"})
    acme_settings.CERTADMIN_ACME_CA_BUNDLE = server.ca_bundle
    yield server
    server.stop()


def test_bad_nonce_is_said_in_words_and_the_account_stays_unregistered(
    transactional_db: None, acme: Organization, nonce_rejecting_pebble: Pebble
) -> None:
    with pytest.raises(ValidationError, match="badNonce"):
        register(acme, nonce_rejecting_pebble.directory_url)

    account = AcmeAccount.objects.get()
    assert account.status == AcmeAccount.Status.UNREGISTERED
    assert "badNonce" in account.last_error


def test_rate_limited_order_is_said_in_words(
    account: AcmeAccount, acme: Organization, pebble: Pebble
) -> None:
    with RateLimitingProxy(pebble) as proxy:
        limited = register(acme, proxy.directory_url, label="Limited")
        order = _new_order(limited, acme, "limited.acme.test")

        with pytest.raises(acme_client.AcmeProblem) as caught:
            orders.run_order(order)

    assert caught.value.code == "rateLimited"
    assert "rate limit" in caught.value.words
    assert not Certificate.objects.exists()


def test_unreachable_ca_at_registration_keeps_the_account_to_retry(
    transactional_db: None, acme: Organization, acme_settings: object
) -> None:
    with pytest.raises(ValidationError, match="unreachable"):
        register(acme, "https://127.0.0.1:9/dir")

    assert AcmeAccount.objects.get().status == AcmeAccount.Status.UNREGISTERED
