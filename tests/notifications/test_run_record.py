"""What a run records about itself: interrupted runs, and figures that are its own.

alice: System Administrator of Acme; carol: System Administrator of Globex.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage

from notifications import services
from notifications.models import ExpiryNotice, NotificationRun
from notifications.services import Digest, send_expiry_notices
from orgs.models import Organization
from tests.notifications.conftest import NOW, expiring, in_days

State = ExpiryNotice.State
Status = NotificationRun.Status


def test_a_run_that_stopped_without_finishing_is_recorded_interrupted(db: None) -> None:
    lease = timedelta(seconds=settings.EXPIRY_NOTICE_CLAIM_LEASE_SECONDS)
    killed = NotificationRun.objects.create(
        started_at=NOW - lease * 2, heartbeat_at=NOW - lease * 2
    )
    busy = NotificationRun.objects.create(started_at=NOW - lease * 2, heartbeat_at=NOW - lease / 2)

    send_expiry_notices(now=NOW)

    killed.refresh_from_db()
    busy.refresh_from_db()
    assert (killed.status, killed.get_status_display()) == (Status.INTERRUPTED, "Interrupted")
    assert "Stopped without finishing" in killed.error
    assert busy.status == Status.RUNNING  # its heartbeat is younger than the lease


def test_a_run_counts_only_the_notices_it_superseded_itself(
    monkeypatch: pytest.MonkeyPatch,
    mailoutbox: list[EmailMessage],
    acme: Organization,
    globex: Organization,
    alice: User,
    carol: User,
) -> None:
    """Globex's failed notice, past its window, is superseded by another run between the
    moment this run read it as pending and the moment it reaches Globex."""
    monkeypatch.setattr(services.job, "BATCH_ORGS", 1)
    expiring(acme, "Acme_Cert", in_days(30))
    expiring(globex, "Globex_Cert", in_days(11))
    send_expiry_notices(now=NOW)
    # Both 30-day notices failed; a day later Acme's is still in its window (29 days left),
    # Globex's is not (10 days left).
    ExpiryNotice.objects.filter(threshold=30).update(state=State.FAILED, sent_at=None)
    later = NOW + timedelta(days=1)
    others: list[Any] = []

    def another_run(digest: Digest) -> None:
        if not others:
            others.append(send_expiry_notices(now=later))

    first = send_expiry_notices(now=later, on_digest=another_run)

    (other,) = others
    assert ExpiryNotice.objects.get(label="Globex Cert", threshold=30).state == State.SUPERSEDED
    assert other.tally.superseded == 1  # the Globex notice: that run superseded it
    assert first.tally.superseded == 0
    assert other.tally.superseded + first.tally.superseded == 1
