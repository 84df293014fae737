"""The expiry job's emails about configurations still on the retired proxy certificate
(issue 16), received by a real SMTP server (aiosmtpd)."""

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from notifications.proxy_warnings import send_proxy_warnings
from orgs.models import AuditEvent, Organization
from tests.certadmin.sso_helpers import make_config
from tests.conftest import grant, make_member
from tests.notifications.conftest import SmtpServer


def test_admins_are_emailed_once_a_day_about_proxy_configurations(
    smtp_settings: SmtpServer,
    acme: Organization,
    globex: Organization,
    alice: User,
    settings: object,
) -> None:
    alice.email = "alice@acme.test"
    alice.save()
    grant(acme, alice, "customize_application")
    bob = make_member(acme, "bob-standard")
    bob.email = "bob@acme.test"
    bob.save()
    make_config(acme, "Legacy One", legacy=True)
    make_config(acme, "Legacy Two", legacy=True)
    now = timezone.now()
    settings.CERTADMIN_PROXY_DEADLINE = now + timedelta(days=30)  # type: ignore[attr-defined]

    assert send_proxy_warnings(now=now) == 1
    assert send_proxy_warnings(now=now + timedelta(minutes=5)) == 0  # hourly runs: once a day

    smtp_settings.wait_for(1)
    assert len(smtp_settings.received) == 1
    mail = smtp_settings.received[0]
    assert mail.recipients == ["alice@acme.test"]
    body = mail.message.get_payload(decode=True).decode()
    assert "Legacy One" in body
    assert "Legacy Two" in body
    assert "Act now to prevent a possible interruption of service" in body
    assert "30 days left" in body
    assert AuditEvent.objects.filter(organization=acme, action="emailedProxyDeadline").count() == 1
    assert not AuditEvent.objects.filter(
        organization=globex, action="emailedProxyDeadline"
    ).exists()


def test_nothing_is_sent_without_proxy_configurations(
    smtp_settings: SmtpServer, acme: Organization, alice: User
) -> None:
    assert send_proxy_warnings() == 0
    assert smtp_settings.received == []
