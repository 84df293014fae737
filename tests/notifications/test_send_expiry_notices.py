"""The expiry job, run in-process with `now=` (the locmem mail backend collects the emails).

alice: System Administrator of Acme; bob: Standard User of Acme; carol: System Administrator
of Globex.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certadmin.services import certificates as cert_services
from notifications.models import ExpiryNotice, NotificationRun, NotificationRunOrg
from notifications.services import send_expiry_notices
from orgs.models import AuditEvent, Organization
from tests.notifications.conftest import (
    NOON,
    NOW,
    admin_holder,
    ca_signed_expiring,
    expected_line,
    expiring,
    holder,
    in_days,
    renew,
    warning_lines,
)

State = ExpiryNotice.State


def _states(**filters: object) -> dict[int, str]:
    return dict(ExpiryNotice.objects.filter(**filters).values_list("threshold", "state"))


def test_emails_on_each_threshold_day_and_no_other(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    """Daily runs from 62 days before expiration to the day after."""
    expiring(acme, "Payments_Signing", in_days(61))
    emailed = {}

    for day in range(63):
        mailoutbox.clear()
        send_expiry_notices(now=NOW + timedelta(days=day))
        if mailoutbox:
            emailed[61 - day] = warning_lines(mailoutbox[0])

    assert emailed == {
        60: [expected_line("Payments Signing", "Self-Signed", "2025-08-01", 60)],
        30: [expected_line("Payments Signing", "Self-Signed", "2025-08-01", 30)],
        10: [expected_line("Payments Signing", "Self-Signed", "2025-08-01", 10)],
        1: [expected_line("Payments Signing", "Self-Signed", "2025-08-01", 1)],
        0: [expected_line("Payments Signing", "Self-Signed", "2025-08-01", 0)],
    }
    assert _states() == dict.fromkeys([60, 30, 10, 1, 0], State.SENT)


def test_the_email_follows_spec_4(
    mailoutbox: list[EmailMultiAlternatives], acme: Organization, alice: User
) -> None:
    certificate = ca_signed_expiring(acme, "Web_Server", in_days(10))

    send_expiry_notices(now=NOW)

    (message,) = mailoutbox
    url = f"{settings.SITE_URL}{certificate.get_absolute_url()}"
    assert message.subject == "Expiring Certificate Notification"
    assert message.to == [alice.email]
    assert f"Acme (Organization ID {acme.public_id})" in message.body
    assert warning_lines(message) == [expected_line("Web Server", "CA-Signed", "2025-06-11", 10)]
    assert url in message.body
    for step in ("Download the certificate", "Create a replacement", "Move every use", "Delete"):
        assert step in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'<a href="{url}">Web Server</a>, CA-Signed, expires on 2025-06-11.' in html
    assert "This certificate expires in 10 days." in html


def test_a_certificate_awaiting_its_signature_gets_no_notice(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    from tests.certadmin.conftest import ca_signed

    ca_signed(acme, "Awaiting")

    send_expiry_notices(now=NOW)

    assert mailoutbox == []


def test_first_seen_inside_a_window_it_gets_that_notice_with_the_real_days_left(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", in_days(45))

    send_expiry_notices(now=NOW)

    assert warning_lines(mailoutbox[0])[0].endswith("expires in 45 days.")
    assert _states() == {60: State.SENT}


def test_first_seen_late_the_larger_notices_are_superseded_never_sent(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", in_days(5))

    send_expiry_notices(now=NOW)
    send_expiry_notices(now=NOW + timedelta(days=1))

    assert len(mailoutbox) == 1
    assert warning_lines(mailoutbox[0])[0].endswith("expires in 5 days.")
    assert _states() == {60: State.SUPERSEDED, 30: State.SUPERSEDED, 10: State.SENT}


def test_a_run_skipped_for_three_days_sends_only_the_tightest_notice(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", in_days(14))
    for day in range(11):  # daily runs up to 3 days left: the 30 and 10-day notices
        send_expiry_notices(now=NOW + timedelta(days=day))
    mailoutbox.clear()

    # No run at 2 and 1 days left, nor early on the day: the next one is on the day itself.
    send_expiry_notices(now=NOW + timedelta(days=14))

    assert [warning_lines(m) for m in mailoutbox] == [
        [expected_line("Payments Signing", "Self-Signed", "2025-06-15", 0)]
    ]
    assert _states() == {
        60: State.SUPERSEDED,
        30: State.SENT,
        10: State.SENT,
        1: State.SUPERSEDED,
        0: State.SENT,
    }


def test_running_twice_the_same_day_sends_nothing_new(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", in_days(30))
    send_expiry_notices(now=NOW)
    notices = ExpiryNotice.objects.count()

    second = send_expiry_notices(now=NOW + timedelta(hours=5))

    assert len(mailoutbox) == 1
    assert second.tally.emails_sent == 0
    assert ExpiryNotice.objects.count() == notices


def test_one_digest_per_recipient_per_org(
    mailoutbox: list[EmailMessage],
    acme: Organization,
    alice: User,
    bob: User,
    carol: User,
    globex: Organization,
) -> None:
    """bob, an admin, holds the permission: he gets every line; alice only the day-of line."""
    admin_holder(acme, bob)
    expiring(acme, "Today", in_days(0))
    expiring(acme, "Soon", in_days(8))
    expiring(acme, "Later", in_days(45))
    expiring(globex, "Globex_Cert", in_days(30))

    send_expiry_notices(now=NOW)

    by_recipient = {m.to[0]: warning_lines(m) for m in mailoutbox}
    assert len(mailoutbox) == 3
    assert [line.split(",")[0] for line in by_recipient[bob.email]] == ["Today", "Soon", "Later"]
    assert [line.split(",")[0] for line in by_recipient[alice.email]] == ["Today"]
    assert [line.split(",")[0] for line in by_recipient[carol.email]] == ["Globex Cert"]


def test_a_holder_who_is_also_admin_gets_one_email_with_every_threshold(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    holder(acme, alice)
    expiring(acme, "Month", in_days(30))
    expiring(acme, "Tomorrow", in_days(1))

    send_expiry_notices(now=NOW)

    (message,) = mailoutbox
    assert message.to == [alice.email]
    assert [line.split(",")[0] for line in warning_lines(message)] == ["Tomorrow", "Month"]


def test_inactive_users_are_never_emailed(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User, bob: User
) -> None:
    holder(acme, bob)
    bob.is_active = False
    bob.save()
    expiring(acme, "Month", in_days(30))

    send_expiry_notices(now=NOW)

    assert [m.to for m in mailoutbox] == [[alice.email]]  # nobody active holds it: rule 3


def test_a_user_in_several_orgs_gets_one_email_per_org(
    mailoutbox: list[EmailMessage], acme: Organization, globex: Organization, alice: User
) -> None:
    from orgs import permissions
    from orgs.services import members, profiles

    members.add_member(
        org=globex,
        user=alice,
        profile=profiles.standard_profile(globex, permissions.SYSTEM_ADMINISTRATOR),
        acting_user=None,
    )
    expiring(acme, "Acme_Cert", in_days(30))
    expiring(globex, "Globex_Cert", in_days(30))

    send_expiry_notices(now=NOW)

    assert sorted((m.to[0], warning_lines(m)[0].split(",")[0]) for m in mailoutbox) == [
        (alice.email, "Acme Cert"),
        (alice.email, "Globex Cert"),
    ]
    bodies = {warning_lines(m)[0].split(",")[0]: m.body for m in mailoutbox}
    assert f"Organization ID {acme.public_id}" in bodies["Acme Cert"]
    assert f"Organization ID {globex.public_id}" in bodies["Globex Cert"]


def test_days_are_counted_in_the_org_time_zone(
    mailoutbox: list[EmailMessage],
    acme: Organization,
    globex: Organization,
    alice: User,
    carol: User,
) -> None:
    """Expiring 2025-06-02 03:00 UTC, which is 2025-06-01 20:00 in Los Angeles."""
    globex.time_zone = "America/Los_Angeles"
    globex.save()
    moment = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)
    expiring(acme, "Acme_Cert", moment)
    expiring(globex, "Globex_Cert", moment)

    send_expiry_notices(now=datetime(2025, 6, 1, 6, 59, tzinfo=UTC))  # 23:59 May 31 in LA
    before_midnight = {m.to[0]: warning_lines(m) for m in mailoutbox}
    mailoutbox.clear()
    send_expiry_notices(now=datetime(2025, 6, 1, 7, 0, tzinfo=UTC))  # midnight in LA

    assert before_midnight == {
        alice.email: [expected_line("Acme Cert", "Self-Signed", "2025-06-02", 1)],
        carol.email: [expected_line("Globex Cert", "Self-Signed", "2025-06-01", 1)],
    }
    assert [(m.to[0], warning_lines(m)) for m in mailoutbox] == [
        (
            carol.email,
            [expected_line("Globex Cert", "Self-Signed", "2025-06-01", 0)],
        )
    ]


def test_a_renewed_certificate_starts_a_new_cycle(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    certificate = ca_signed_expiring(acme, "Web_Server", in_days(30))
    send_expiry_notices(now=NOW)
    renew(certificate, in_days(400))
    mailoutbox.clear()

    for day in (20, 29, 30):  # the old expiration's 10, 1 and 0-day notices: none
        send_expiry_notices(now=NOW + timedelta(days=day))
    send_expiry_notices(now=NOW + timedelta(days=340))  # 60 days before the new one

    assert [warning_lines(m) for m in mailoutbox] == [
        [expected_line("Web Server", "CA-Signed", "2026-07-06", 60)]
    ]


def test_a_failed_notice_of_a_renewed_certificate_is_suppressed(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    certificate = ca_signed_expiring(acme, "Web_Server", in_days(30))
    send_expiry_notices(now=NOW)
    # As if the mail server had refused it.
    ExpiryNotice.objects.filter(threshold=30).update(state=State.FAILED)
    renew(certificate, in_days(400))
    mailoutbox.clear()

    send_expiry_notices(now=NOW + timedelta(days=1))

    assert mailoutbox == []
    notice = ExpiryNotice.objects.get(threshold=30)
    assert (notice.state, notice.last_error) == (
        State.SUPPRESSED,
        "The certificate was renewed: a new expiration date.",
    )


def test_deleting_a_certificate_keeps_its_notices_readable_and_suppresses_pending_ones(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    certificate = expiring(acme, "Payments_Signing", in_days(30))
    send_expiry_notices(now=NOW)
    ExpiryNotice.objects.filter(threshold=30).update(state=State.FAILED)

    cert_services.delete_certificate(certificate=certificate, acting_user=alice)
    send_expiry_notices(now=NOW + timedelta(hours=1))

    notice = ExpiryNotice.objects.get(threshold=30)
    assert notice.certificate is None
    assert (notice.label, notice.kind_label, notice.threshold) == (
        "Payments Signing",
        "Self-Signed",
        30,
    )
    assert notice.state == State.SUPPRESSED
    assert len(mailoutbox) == 1


def test_a_claim_older_than_the_lease_is_retried_once(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    """A run that crashed after claiming: its claim is taken over once the lease is over."""
    expiring(acme, "Payments_Signing", in_days(30))
    send_expiry_notices(now=NOW)
    mailoutbox.clear()
    ExpiryNotice.objects.filter(threshold=30).update(
        state=State.CLAIMED, claimed_at=NOW, sent_at=None
    )
    lease = timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS)

    send_expiry_notices(now=NOW + lease - timedelta(seconds=1))  # maybe still being sent
    within_lease = len(mailoutbox)
    send_expiry_notices(now=NOW + lease + timedelta(seconds=1))
    send_expiry_notices(now=NOW + lease + timedelta(minutes=5))

    assert within_lease == 0
    assert len(mailoutbox) == 1
    assert ExpiryNotice.objects.get(threshold=30).state == State.SENT


def test_a_dry_run_changes_nothing(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", in_days(5))

    outcome = send_expiry_notices(now=NOW, dry_run=True)

    assert (outcome.tally.emails_sent, outcome.tally.notices_sent, outcome.tally.superseded) == (
        1,
        1,
        2,
    )
    assert outcome.run is None
    assert mailoutbox == []
    assert not ExpiryNotice.objects.exists()
    assert not NotificationRun.objects.exists()


def test_a_run_is_recorded_for_the_admin_and_the_org_page(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", in_days(30))

    outcome = send_expiry_notices(now=NOW)

    run = NotificationRun.objects.get()
    assert outcome.run == run
    assert (run.status, run.emails_sent, run.notices_sent, run.notices_failed) == (
        NotificationRun.Status.SUCCEEDED,
        1,
        1,
        0,
    )
    assert (run.started_at, run.finished_at) == (NOW, NOW)
    assert NotificationRunOrg.objects.get(organization=acme).emails_sent == 1
    # Scheduled sends change no setting: the Setup Audit Trail is not flooded with them.
    assert not AuditEvent.objects.for_org(acme).filter(section="Expiration Notifications")


def test_the_number_of_queries_does_not_grow_with_the_certificates(
    mailoutbox: list[EmailMessage], acme: Organization, alice: User
) -> None:
    expiring(acme, "One", in_days(30))
    with CaptureQueriesContext(connection) as one:
        send_expiry_notices(now=NOW)
    for n in range(12):
        expiring(acme, f"Cert_{n}", in_days(30 - n))

    with CaptureQueriesContext(connection) as twelve:
        send_expiry_notices(now=NOW + timedelta(days=1))

    assert len(mailoutbox) == 2
    assert len(twelve) == len(one)


@pytest.mark.parametrize("thresholds", [(14, 7, 0), (90,)])
def test_thresholds_come_from_settings(
    settings: object,
    mailoutbox: list[EmailMessage],
    acme: Organization,
    alice: User,
    thresholds: tuple[int, ...],
) -> None:
    settings.EXPIRY_NOTICE_DAYS = thresholds  # type: ignore[attr-defined]
    expiring(acme, "Payments_Signing", NOON + timedelta(days=thresholds[0]))

    send_expiry_notices(now=NOW)

    assert _states() == {thresholds[0]: State.SENT}


def test_marks_committed_together_still_mark_every_notice_once(
    settings: object, mailoutbox: list[EmailMessage], acme: Organization, alice: User, bob: User
) -> None:
    settings.EXPIRY_NOTICE_MARK_EVERY = 10  # type: ignore[attr-defined]
    holder(acme, bob)
    for n in range(3):
        expiring(acme, f"Cert_{n}", in_days(n))

    first = send_expiry_notices(now=NOW)
    second = send_expiry_notices(now=NOW + timedelta(hours=1))

    assert (first.tally.emails_sent, second.tally.emails_sent, len(mailoutbox)) == (2, 0, 2)
    sendable = ExpiryNotice.objects.exclude(state=State.SUPERSEDED)
    assert set(sendable.values_list("state", "attempts")) == {(State.SENT, 1)}


def test_the_html_part_escapes_what_users_typed(
    mailoutbox: list[EmailMultiAlternatives], acme: Organization, alice: User
) -> None:
    """Labels and org names are the org's own text: markup in them is shown, not obeyed."""
    acme.name = 'Acme <script>alert("x")</script> & Co'
    acme.save()
    certificate = expiring(acme, "Web_Server", in_days(10))
    certificate.label = "<b>Pay</b> & 'sign'"
    certificate.save()

    send_expiry_notices(now=NOW)

    (message,) = mailoutbox
    html, _ = message.alternatives[0]
    assert "<script>" not in html
    assert "<b>Pay" not in html
    assert "Acme &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    assert "&lt;b&gt;Pay&lt;/b&gt; &amp; &#x27;sign&#x27;</a>" in html
    # The plain-text part shows the text as typed.
    assert "<b>Pay</b> & 'sign', Self-Signed, expires on 2025-06-11." in message.body
    assert 'Acme <script>alert("x")</script> & Co (Organization ID' in message.body
