"""The day-of notice after a mail outage is sent late, saying so; and a person gets at most
one email per org per day, so a certificate that enters a window after their digest went
out waits for the next day's (SPEC 4).

alice: System Administrator of Acme; bob holds Receive Certificate Expiration Notifications.
"""

from collections import Counter
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.mail import EmailMessage

from notifications.models import ExpiryNotice
from notifications.services import send_expiry_notices
from orgs.models import Organization
from tests.notifications.conftest import (
    NOW,
    SmtpServer,
    admin_holder,
    expected_line,
    expiring,
    free_port,
    holder,
    in_days,
    warning_lines,
)

State = ExpiryNotice.State
LATE = (
    "Payments Signing, Self-Signed, expired on 2025-06-01. Warning: This certificate has "
    "expired. This notice is late: it was due on 2025-06-01, the day the certificate expired."
)


def _mail_server_down(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2


def test_a_day_of_notice_missed_by_a_mail_outage_is_sent_late_the_next_day(
    settings: Any, smtp_server: SmtpServer, acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", in_days(0))
    _mail_server_down(settings)
    for hour in range(0, 18, 6):  # down all day
        send_expiry_notices(now=NOW + timedelta(hours=hour))

    settings.EMAIL_PORT = smtp_server.port
    late = send_expiry_notices(now=NOW + timedelta(days=1))
    again = send_expiry_notices(now=NOW + timedelta(days=1, hours=1))

    (message,) = smtp_server.received
    assert message.recipients == [alice.email]
    text, html = message.part("text/plain"), message.part("text/html")
    assert LATE in text
    assert (
        f"Certificates of the organization Acme (Organization ID {acme.public_id}) have expired."
        in text
    )
    assert ", Self-Signed, expired on 2025-06-01. <strong>Warning: This certificate has " in html
    assert "This notice is late: it was due on 2025-06-01" in html
    assert (late.tally.notices_sent, late.tally.superseded, again.tally.emails_sent) == (1, 0, 0)
    assert ExpiryNotice.objects.get(threshold=0).state == State.SENT


def test_a_failed_day_of_notice_is_given_up_a_week_after_the_expiration(
    settings: Any, mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", in_days(0))
    send_expiry_notices(now=NOW)
    mailoutbox.clear()
    ExpiryNotice.objects.filter(threshold=0).update(state=State.FAILED, sent_at=None)

    send_expiry_notices(now=NOW + timedelta(days=8))

    assert mailoutbox == []
    assert ExpiryNotice.objects.get(threshold=0).state == State.SUPERSEDED


def test_a_larger_notice_whose_window_passed_is_still_superseded(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    """Only the day-of notice is sent late: a failed 1-day one gives way to the 0-day."""
    expiring(acme, "Payments_Signing", in_days(1))
    send_expiry_notices(now=NOW)
    mailoutbox.clear()
    ExpiryNotice.objects.filter(threshold=1).update(state=State.FAILED, sent_at=None)

    send_expiry_notices(now=NOW + timedelta(days=1))

    assert [warning_lines(m) for m in mailoutbox] == [
        [expected_line("Payments Signing", "Self-Signed", "2025-06-02", 0)]
    ]
    assert ExpiryNotice.objects.get(threshold=1).state == State.SUPERSEDED


def test_a_certificate_entering_a_window_later_the_same_day_waits_for_the_next_digest(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User, bob: User
) -> None:
    admin_holder(acme, bob)
    expiring(acme, "Morning", in_days(30))
    send_expiry_notices(now=NOW)
    expiring(acme, "Afternoon", in_days(10))

    send_expiry_notices(now=NOW + timedelta(hours=8))
    same_day = len(mailoutbox)
    send_expiry_notices(now=NOW + timedelta(days=1))

    assert same_day == 1
    assert [(m.to, warning_lines(m)) for m in mailoutbox] == [
        ([bob.email], [expected_line("Morning", "Self-Signed", "2025-07-01", 30)]),
        ([bob.email], [expected_line("Afternoon", "Self-Signed", "2025-06-11", 9)]),
    ]


def test_a_day_of_notice_held_for_the_next_digest_is_sent_late(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User, bob: User
) -> None:
    """alice was emailed this morning; a certificate expiring today appears in the
    afternoon: bob, who had no email today, gets it at once, alice the next day, late."""
    expiring(acme, "Morning", in_days(1))
    send_expiry_notices(now=NOW)
    holder(acme, bob)
    expiring(acme, "Payments_Signing", in_days(0))

    send_expiry_notices(now=NOW + timedelta(hours=8))
    held = ExpiryNotice.objects.get(threshold=0, recipient=alice)
    send_expiry_notices(now=NOW + timedelta(days=1))

    assert held.state == State.HELD
    assert [(m.to[0], warning_lines(m)) for m in mailoutbox if "Payments" in m.body] == [
        (bob.email, [expected_line("Payments Signing", "Self-Signed", "2025-06-01", 0)]),
        (alice.email, [LATE, expected_line("Morning", "Self-Signed", "2025-06-02", 0)]),
    ]
    assert Counter(m.to[0] for m in mailoutbox) == {alice.email: 2, bob.email: 2}
