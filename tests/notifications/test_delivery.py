"""Delivery through a real SMTP server (aiosmtpd on 127.0.0.1) with Django's SMTP backend."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User

from notifications.models import ExpiryNotice, NotificationRun
from notifications.services import send_expiry_notices
from orgs.models import Organization
from tests.notifications.conftest import NOW, SmtpServer, expiring, free_port, holder, in_days

State = ExpiryNotice.State


def test_messages_arrive_with_recipients_subject_and_both_parts(
    smtp_settings: SmtpServer, acme: Organization, alice: User, bob: User
) -> None:
    holder(acme, bob)
    certificate = expiring(acme, "Payments_Signing", in_days(1))

    send_expiry_notices(now=NOW)

    received = sorted(smtp_settings.received, key=lambda r: r.recipients)
    assert [r.recipients for r in received] == [[alice.email], [bob.email]]
    line = (
        "Payments Signing, Self-Signed, expires on 2025-06-02. "
        "Warning: This certificate expires tomorrow."
    )
    for message in received:
        assert message.subject == "Expiring Certificate Notification"
        assert message.sender == "noreply@localhost"
        assert line in message.part("text/plain")
        assert f"{settings.SITE_URL}{certificate.get_absolute_url()}" in message.part("text/html")
    assert set(ExpiryNotice.objects.filter(threshold=1).values_list("state", flat=True)) == {
        State.SENT
    }


def test_mail_server_down_then_back_every_notice_goes_out_once(
    settings: Any, smtp_server: SmtpServer, acme: Organization, globex: Organization,
    alice: User, carol: User,
) -> None:  # fmt: skip
    expiring(acme, "Acme_Cert", in_days(30))
    expiring(globex, "Globex_Cert", in_days(10))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        free_port(),
        2,
    )

    down = send_expiry_notices(now=NOW)
    after_down = dict(
        ExpiryNotice.objects.filter(threshold__in=[30, 10]).values_list("label", "state")
    )
    settings.EMAIL_PORT = smtp_server.port
    back = send_expiry_notices(now=NOW + timedelta(hours=1))
    again = send_expiry_notices(now=NOW + timedelta(hours=2))

    assert down.error.startswith("Mail server unavailable")
    assert NotificationRun.objects.order_by("started_at").first().status == "failed"
    assert after_down == {"Acme Cert": State.FAILED, "Globex Cert": State.FAILED}
    assert (back.error, back.tally.emails_sent) == ("", 2)
    assert again.tally.emails_sent == 0
    assert sorted(r.recipients[0] for r in smtp_server.received) == [alice.email, carol.email]
    assert dict(
        ExpiryNotice.objects.filter(threshold__in=[30, 10]).values_list("label", "attempts")
    ) == {"Acme Cert": 2, "Globex Cert": 1}  # Globex's was claimed, never tried


def test_a_refused_recipient_fails_alone(
    smtp_settings: SmtpServer, acme: Organization, alice: User, bob: User
) -> None:
    holder(acme, bob)
    expiring(acme, "Payments_Signing", in_days(0))
    smtp_settings.handler.refuse.add(bob.email)

    outcome = send_expiry_notices(now=NOW)

    assert [r.recipients for r in smtp_settings.received] == [[alice.email]]
    states = dict(
        ExpiryNotice.objects.filter(threshold=0).values_list("recipient__username", "state")
    )
    assert states == {"alice": State.SENT, "bob": State.FAILED}
    assert outcome.run.status == NotificationRun.Status.PARTIAL
    assert "550" in ExpiryNotice.objects.get(threshold=0, recipient=bob).last_error
