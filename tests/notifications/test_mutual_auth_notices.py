"""Expiration notices for mutual authentication certificates (SPEC 4: "every certificate with
a chain and every mutual-authentication certificate").

alice: System Administrator of Acme, the only recipient while nobody holds Receive Certificate
Expiration Notifications.
"""

from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains
from pytest_django.fixtures import Settings as SettingsWrapper

from certadmin.models import MutualAuthCertificate
from certadmin.services.mutual_auth import (
    delete_mutual_auth_certificate,
    upload_mutual_auth_certificate,
)
from notifications.models import ExpiryNotice
from notifications.services import send_expiry_notices
from orgs.models import Organization
from tests.notifications.conftest import NOW, expected_line, expiring, in_days, warning_lines

State = ExpiryNotice.State


@pytest.fixture(autouse=True)
def _self_signed_allowed(settings: SettingsWrapper) -> None:
    """The client certificates here are self-signed, so no trust bundle is involved."""
    settings.CERTADMIN_MTLS_ALLOW_SELF_SIGNED = True


def client_certificate(
    org: Organization, label: str, at: datetime, *, now: datetime = NOW
) -> MutualAuthCertificate:
    """A mutual authentication certificate of `org`, uploaded at `now`, that expires at `at`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, label)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - timedelta(days=365))
        .not_valid_after(at)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    result = upload_mutual_auth_certificate(
        org=org,
        label=label,
        unique_name=label.replace(" ", "_"),
        data=cert.public_bytes(serialization.Encoding.PEM),
        acting_user=None,
        now=now,
    )
    return result.certificate


def test_a_client_certificate_expiring_in_30_days_is_in_the_digest(
    mailoutbox: list[EmailMultiAlternatives], acme: Organization, alice: User
) -> None:
    certificate = client_certificate(acme, "Partner API", in_days(30))

    send_expiry_notices(now=NOW)

    (message,) = mailoutbox
    url = f"{settings.SITE_URL}{certificate.get_absolute_url()}"
    assert message.to == [alice.email]
    assert warning_lines(message) == [
        expected_line("Partner API", "Mutual Authentication", "2025-07-01", 30)
    ]
    assert url in message.body
    html, _ = message.alternatives[0]
    assert f'<a href="{url}">Partner API</a>, Mutual Authentication, expires on 2025-07-01.' in (
        html
    )
    notice = ExpiryNotice.objects.get(threshold=30)
    assert (notice.source, notice.object_id, notice.state) == (
        "mutual_auth",
        certificate.pk,
        State.SENT,
    )


def test_a_client_certificate_deleted_before_the_run_gets_no_notice(
    mailoutbox: list[EmailMultiAlternatives], acme: Organization, alice: User
) -> None:
    certificate = client_certificate(acme, "Partner API", in_days(30))

    delete_mutual_auth_certificate(certificate=certificate, acting_user=alice)
    send_expiry_notices(now=NOW)

    assert mailoutbox == []
    assert not ExpiryNotice.objects.exists()


def test_deleting_a_client_certificate_suppresses_its_pending_notice(
    mailoutbox: list[EmailMultiAlternatives], acme: Organization, alice: User
) -> None:
    certificate = client_certificate(acme, "Partner API", in_days(30))
    send_expiry_notices(now=NOW)
    # As if the mail server had refused it: pending, to be retried by the next run.
    ExpiryNotice.objects.filter(threshold=30).update(state=State.FAILED)
    mailoutbox.clear()

    delete_mutual_auth_certificate(certificate=certificate, acting_user=alice)
    send_expiry_notices(now=NOW + timedelta(hours=1))

    assert mailoutbox == []
    notice = ExpiryNotice.objects.get(threshold=30)
    assert (notice.state, notice.label, notice.kind_label) == (
        State.SUPPRESSED,
        "Partner API",
        "Mutual Authentication",
    )
    assert notice.last_error == (
        "The certificate was deleted, or replaced by one that took over all its uses."
    )


def test_a_client_certificate_and_a_certificate_share_one_digest(
    mailoutbox: list[EmailMultiAlternatives], acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", in_days(30))
    client_certificate(acme, "Partner API", in_days(10))

    send_expiry_notices(now=NOW)

    (message,) = mailoutbox
    assert warning_lines(message) == [
        expected_line("Partner API", "Mutual Authentication", "2025-06-11", 10),
        expected_line("Payments Signing", "Self-Signed", "2025-07-01", 30),
    ]


def test_the_setup_page_previews_client_certificates(
    alice_client: Client, acme: Organization, alice: User
) -> None:
    """The page looks at today, so this certificate expires 10 days from the real now."""
    now = timezone.now()
    certificate = client_certificate(acme, "Partner API", now + timedelta(days=10), now=now)

    response = alice_client.get(reverse("notifications:settings", args=[acme.public_id]))

    assertContains(response, "Partner API")
    assertContains(response, "Mutual Authentication")
    assertContains(response, certificate.get_absolute_url())
