"""Webhook notification channels against a local receiver that counts deliveries: exactly once
per (channel, notice) with the receiver failing, slow, and down for a day (the clock moved by
the `now` of each run); Slack and Teams formats; through a named credential (mutual TLS and
signed, to the Python ssl peer); the page's channels, last deliveries and "Send test"."""

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from certadmin.models import NamedCredential
from certadmin.services import callout
from notifications.models import ChannelDelivery, NotificationChannel
from notifications.services import channels
from orgs.models import AuditEvent, Organization
from tests.callout_peers import Pki, WebhookReceiver, https_server
from tests.certadmin.test_named_credentials import credential, org_certificate
from tests.notifications.conftest import NOW, expiring, in_days

State = ChannelDelivery.State


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.stop()


def channel(
    org: Organization, url: str, fmt: str = "json", name: str = "Ops"
) -> NotificationChannel:
    return channels.create_channel(
        org=org,
        data=channels.ChannelSettings(name=name, format=fmt, url=url),
        acting_user=None,
    )


def per_notice(receiver: WebhookReceiver) -> Counter[tuple[str, int]]:
    """Accepted deliveries by (certificate label, threshold), from generic JSON bodies."""
    return Counter(
        (body["certificate"]["label"], body["threshold_days"]) for _, body in receiver.accepted
    )


def test_each_due_notice_goes_to_each_channel_once_in_its_format(
    acme: Organization, receiver: WebhookReceiver
) -> None:
    expiring(acme, "Payments_Api", in_days(30))
    expiring(acme, "Web_Gateway", in_days(10))
    for fmt in ("json", "slack", "teams"):
        channel(acme, receiver.url, fmt, name=f"Ops {fmt}")

    first = channels.deliver(now=NOW)
    again = channels.deliver(now=NOW + timedelta(hours=1))

    assert first.sent == 6
    assert again.sent == 0
    assert len(receiver.requests) == 6
    bodies = [body for _, body in receiver.accepted]
    generic = [b for b in bodies if "certificate" in b]
    assert sorted((b["certificate"]["label"], b["threshold_days"]) for b in generic) == [
        ("Payments Api", 30),
        ("Web Gateway", 10),
    ]
    assert generic[0]["org"]["id"] == acme.public_id
    slack = [b for b in bodies if "blocks" in b]
    assert len(slack) == 2
    assert "Payments Api, Self-Signed, expires on 2025-07-01." in " ".join(b["text"] for b in slack)
    teams = [b for b in bodies if b.get("type") == "message"]
    card = teams[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    # Every delivery carries its own stable Idempotency-Key (the delivery's uuid).
    keys = {r.headers["Idempotency-Key"] for r in receiver.requests}
    assert keys == {str(d.uuid) for d in ChannelDelivery.objects.all()}


def test_a_failing_receiver_gets_each_notice_once_after_back_off(
    acme: Organization, receiver: WebhookReceiver
) -> None:
    expiring(acme, "Payments_Api", in_days(30))
    ops = channel(acme, receiver.url)
    receiver.mode, receiver.failures = "fail", 2

    runs = [channels.deliver(now=NOW + timedelta(minutes=m)) for m in range(0, 120, 5)]

    assert per_notice(receiver) == {("Payments Api", 30): 1}
    assert len(receiver.requests) == 3  # 500, 500, then 200
    assert sum(r.failed for r in runs) == 2
    delivery = ChannelDelivery.objects.get(channel=ops)
    assert delivery.state == State.SENT
    assert delivery.attempts == 3
    # Back-off: the retries came 5 and then 15 minutes after each failure, not every run.
    assert delivery.sent_at == NOW + timedelta(minutes=20)


def test_a_slow_receiver_with_two_runs_at_once_gets_each_notice_once(
    acme: Organization, receiver: WebhookReceiver, transactional_db: None
) -> None:
    from django.db import connection as default_connection

    if default_connection.vendor == "sqlite":
        # The SQLite test database is in memory with a shared cache, where a second writer
        # gets "database table is locked" at once instead of waiting out the busy timeout as
        # a file database does: three threads there test the test database, not the claims.
        # CI's PostgreSQL run drives the three concurrent runs.
        pytest.skip("concurrent runs need a database with row locks or a busy timeout")
    expiring(acme, "Payments_Api", in_days(30))
    expiring(acme, "Web_Gateway", in_days(10))
    channel(acme, receiver.url)
    receiver.mode, receiver.delay = "slow", 0.5
    tallies: list[channels.DeliveryTally] = []

    def run() -> None:
        from django.db import connection

        try:
            tallies.append(channels.deliver(now=NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert per_notice(receiver) == {("Payments Api", 30): 1, ("Web Gateway", 10): 1}
    assert len(receiver.requests) == 2
    assert sum(t.sent for t in tallies) == 2


def test_slower_than_the_timeout_repeats_with_the_same_idempotency_key(
    acme: Organization, receiver: WebhookReceiver
) -> None:
    """A receiver that answers after the timeout did get the notice: the retry carries the
    same key, so a receiver that drops repeats keeps it once (docs/named-credentials.md)."""
    expiring(acme, "Payments_Api", in_days(30))
    channel(acme, receiver.url)
    receiver.mode, receiver.delay = "slow", 1.0

    channels.deliver(now=NOW, timeout=0.3)
    receiver.mode = "ok"
    channels.deliver(now=NOW + timedelta(minutes=5))

    assert len(receiver.requests) == 2
    assert len({r.headers["Idempotency-Key"] for r in receiver.requests}) == 1
    assert len(receiver.unique()) == 1
    assert ChannelDelivery.objects.get().state == State.SENT


def test_a_receiver_down_for_a_day_gets_each_notice_once_when_back(
    acme: Organization, receiver: WebhookReceiver
) -> None:
    expiring(acme, "Payments_Api", in_days(30))
    channel(acme, receiver.url)
    receiver.stop()

    hourly = [NOW + timedelta(hours=h, minutes=5) for h in range(24)]
    down = [channels.deliver(now=at) for at in hourly]

    delivery = ChannelDelivery.objects.get()
    assert delivery.state == State.FAILED
    assert "Not delivered" in delivery.last_error
    # Back-off: far fewer attempts than the 24 runs of the day.
    assert sum(t.failed for t in down) == delivery.attempts == 10  # at 0,1,2,3,4,6,10,14,18,22 h

    receiver.start()
    back = NOW + timedelta(hours=24, minutes=5)
    for hour in range(6):
        channels.deliver(now=back + timedelta(hours=hour))

    assert per_notice(receiver) == {("Payments Api", 30): 1}
    delivery.refresh_from_db()
    assert delivery.state == State.SENT
    assert delivery.sent_at is not None
    assert delivery.sent_at - back <= timedelta(hours=4)


def test_a_tighter_notice_supersedes_an_undelivered_one(
    acme: Organization, receiver: WebhookReceiver
) -> None:
    expiring(acme, "Payments_Api", in_days(11))
    channel(acme, receiver.url)
    receiver.stop()
    channels.deliver(now=NOW)  # the 30-day notice fails
    receiver.start()

    tally = channels.deliver(now=NOW + timedelta(days=1, hours=4))  # 10 days left now

    assert tally.superseded == 1
    assert per_notice(receiver) == {("Payments Api", 10): 1}


def test_through_a_named_credential_the_receiver_gets_our_certificate_and_signature(
    acme: Organization, tmp_path: Path
) -> None:
    callout.clear_cache()
    client_ca, server_ca = Pki("Hook Client CA"), Pki("Hook Server CA")
    expiring(acme, "Payments_Api", in_days(30))
    cert = org_certificate(acme, client_ca, name="Hook_Client")
    with https_server(tmp_path, server_pki=server_ca, client_ca=client_ca) as peer:
        cred = credential(acme, cert, peer.url, trust_pem=server_ca.pem.decode(), sign=True)
        channels.create_channel(
            org=acme,
            data=channels.ChannelSettings(name="Partner", format="json", named_credential=cred),
            acting_user=None,
        )
        channels.deliver(now=NOW)
        channels.deliver(now=NOW + timedelta(hours=1))

    (got,) = peer.received
    assert "www.acme.test" in got.client_subject
    assert "certadmin=" in got.headers["Signature-Input"]
    assert b"Payments Api" in got.body
    # The credential cannot be deleted while the channel sends through it.
    with pytest.raises(ValidationError, match="notification channel Partner"):
        callout.delete_named_credential(credential=cred, acting_user=None)
    assert NamedCredential.objects.filter(pk=cred.pk).exists()


def test_a_renewed_certificate_is_suppressed_not_sent(
    acme: Organization, receiver: WebhookReceiver
) -> None:
    cert = expiring(acme, "Payments_Api", in_days(30))
    channel(acme, receiver.url)
    receiver.stop()
    channels.deliver(now=NOW)
    cert.delete()
    receiver.start()

    tally = channels.deliver(now=NOW + timedelta(hours=1))

    assert tally.suppressed == 1
    assert receiver.accepted == []


# --- the page ---------------------------------------------------------------------------------


@pytest.fixture
def alice_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def test_the_page_creates_tests_and_lists_channels_and_deliveries(
    alice_client: Client, acme: Organization, receiver: WebhookReceiver
) -> None:
    page = reverse("notifications:settings", args=[acme.public_id])
    new = reverse("notifications:channel-create", args=[acme.public_id])

    response = alice_client.post(
        new,
        {
            "name": "Ops Slack",
            "format": "slack",
            "send_via": "url",
            "url": receiver.url,
            "enabled": "on",
        },
    )

    assert response.status_code == 302
    ops = NotificationChannel.objects.get(organization=acme)
    test = reverse("notifications:channel-test", args=[acme.public_id, ops.uuid])
    shown = alice_client.post(test, follow=True).content.decode()
    assert "Test message delivered to Ops Slack (HTTP 200)." in shown
    assert receiver.accepted[0][1]["text"].startswith("Test from certadmin: Example certificate")
    assert AuditEvent.objects.filter(action="testedNotificationChannel").exists()

    receiver.stop()
    shown = alice_client.post(test, follow=True).content.decode()
    assert "Test message to Ops Slack failed: Not delivered" in shown

    html = alice_client.get(page).content.decode()
    assert "Webhook channels" in html
    assert "Slack incoming webhook" in html
    assert receiver.url in html
    assert html.count("<td>Test</td>") == 2
    assert "Delivered" in html
    assert "Failed (retried)" in html
    # Each schedule where it belongs: the retries in the channels' card, the job in Runs.
    assert "on the schedule “notifications: webhook retries” (cron 1-59/5 * * * *, UTC)" in html
    assert "The job runs on the schedule “notifications: expiry notices”" in html
    assert "ACME renewals" not in html


def test_the_form_asks_for_the_chosen_target(alice_client: Client, acme: Organization) -> None:
    new = reverse("notifications:channel-create", args=[acme.public_id])

    by_url = alice_client.post(new, {"name": "Ops", "format": "json", "send_via": "url"})
    by_credential = alice_client.post(
        new,
        {"name": "Ops", "format": "json", "send_via": "credential", "url": "https://x.test/"},
    )

    assert by_url.status_code == by_credential.status_code == 400
    assert "Give the webhook URL." in by_url.content.decode()
    assert "Choose the named credential to send through." in by_credential.content.decode()
    assert not NotificationChannel.objects.exists()


def test_the_expiry_email_names_the_named_credential_using_the_certificate(
    acme: Organization, alice: User, mailoutbox: list[Any]
) -> None:
    from notifications.services import send_expiry_notices
    from tests.conftest import grant
    from tests.notifications.conftest import RECEIVE

    grant(acme, alice, RECEIVE)
    cert = expiring(acme, "Partner_Client", in_days(30))
    callout.create_named_credential(
        org=acme,
        data=callout.CredentialSettings(
            label="Partner API",
            name="Partner_API",
            url="https://partner.example.test/",
            certificate=cert,
        ),
        acting_user=None,
        now=NOW,
    )

    send_expiry_notices(now=NOW)

    (mail,) = mailoutbox
    assert "Used by: Named Credential: Partner API." in mail.body
    assert "Used by: Named Credential: Partner API." in mail.alternatives[0][0]
