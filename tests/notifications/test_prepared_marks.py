"""PostgreSQL: the mark written after each email is a prepared statement (prepared on its
first use on a connection, then executed again), and it records sent and failed outcomes
alike."""

import smtplib

import pytest
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import connection

from notifications.models import ExpiryNotice
from notifications.services import send_expiry_notices
from orgs.models import Organization
from tests.notifications.conftest import NOW, expiring, in_days

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)


def _prepared_marks() -> list[str]:
    return list(_executions())


def _executions() -> dict[str, int]:
    """{prepared statement on the send log: how many times it was executed}."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return {s: n for s, n in cursor.fetchall() if "notifications_expirynotice" in s}


def test_the_mark_is_prepared_once_and_reused(
    mailoutbox: list[EmailMessage],
    acme: Organization,
    globex: Organization,
    alice: User,
    carol: User,
) -> None:
    expiring(acme, "Payments_Signing", in_days(30))
    send_expiry_notices(now=NOW)
    expiring(globex, "Billing_Signing", in_days(30))

    send_expiry_notices(now=NOW)

    assert len(mailoutbox) == 2
    (statement,) = _prepared_marks()  # one for both runs: same text, same parameter types
    assert _executions()[statement] == 2  # executed by both runs, not prepared anew
    assert statement.startswith('UPDATE "notifications_expirynotice" SET "state" = $1')
    sent = ExpiryNotice.objects.filter(threshold=30).values_list("state", flat=True)
    assert list(sent) == [ExpiryNotice.State.SENT] * 2


def test_a_refused_email_is_marked_failed_through_the_prepared_mark(
    acme: Organization, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    expiring(acme, "Payments_Signing", in_days(30))

    def refuse(self: object, messages: list[EmailMessage]) -> int:
        raise smtplib.SMTPRecipientsRefused({alice.email: (550, b"No such user")})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)

    outcome = send_expiry_notices(now=NOW)

    notice = ExpiryNotice.objects.get(threshold=30)
    assert outcome.tally.notices_failed == 1
    assert notice.state == ExpiryNotice.State.FAILED
    assert notice.sent_at is None
    assert "No such user" in notice.last_error
    assert len(_prepared_marks()) == 1


def test_with_prepared_statements_off_the_mark_is_not_prepared(
    mailoutbox: list[EmailMessage],
    acme: Organization,
    alice: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DATABASE_PREPARED_STATEMENTS=False gives the connection prepare_threshold=None."""
    expiring(acme, "Payments_Signing", in_days(30))
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)

    send_expiry_notices(now=NOW)

    assert len(mailoutbox) == 1
    assert _prepared_marks() == []
    assert ExpiryNotice.objects.get(threshold=30).state == ExpiryNotice.State.SENT
