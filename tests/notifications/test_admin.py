"""The superuser admin of notices and runs."""

from datetime import timedelta

from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.models import ExpiryNotice, NotificationRun
from notifications.services import send_expiry_notices
from orgs.models import AuditEvent, Organization
from tests.notifications.conftest import NOW, expiring, in_days

State = ExpiryNotice.State


def _superuser_client(client: Client) -> tuple[Client, User]:
    root = User.objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(root)
    return client, root


def test_notices_and_runs_are_listed_and_filterable(
    client: Client, acme: Organization, alice: User, mailoutbox: list[EmailMessage]
) -> None:
    expiring(acme, "Payments_Signing", in_days(10))
    send_expiry_notices(now=NOW)
    client, _ = _superuser_client(client)
    notices = reverse("admin:notifications_expirynotice_changelist")
    runs = reverse("admin:notifications_notificationrun_changelist")
    run = NotificationRun.objects.get()

    for url in (
        notices,
        f"{notices}?state=sent&threshold=10&organization__id__exact={acme.pk}",
        f"{notices}?state=failed",
        runs,
        f"{runs}?status=succeeded&org_results__organization__id__exact={acme.pk}",
        reverse("admin:notifications_notificationrun_change", args=[run.pk]),
    ):
        assert client.get(url).status_code == 200, url
    assert "Payments Signing" in client.get(f"{notices}?state=sent").content.decode()
    assert "Last success" in client.get(runs).content.decode()


def test_retry_action_sends_failed_notices(
    client: Client, acme: Organization, alice: User, mailoutbox: list[EmailMessage]
) -> None:
    expiring(acme, "Payments_Signing", timezone.now().replace(microsecond=0) + timedelta(days=10))
    send_expiry_notices()
    ExpiryNotice.objects.filter(threshold=10).update(state=State.FAILED, attempts=1)
    mailoutbox.clear()
    client, _ = _superuser_client(client)

    response = client.post(
        reverse("admin:notifications_expirynotice_changelist"),
        {
            "action": "retry_selected",
            "_selected_action": list(ExpiryNotice.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )

    assert "Retried 1 failed notice: 1 sent in 1 email" in response.content.decode()
    assert len(mailoutbox) == 1
    notice = ExpiryNotice.objects.get(threshold=10)
    assert (notice.state, notice.attempts) == (State.SENT, 2)
    assert NotificationRun.objects.filter(trigger="admin").exists()
    event = AuditEvent.objects.for_org(acme).first()
    assert (event.actor_name, event.section, event.message) == (
        "root",
        "Expiration Notifications",
        "Expiration notices: 1 email sent with 1 notice; 0 notices failed",
    )


def test_the_log_cannot_be_edited_by_hand(client: Client, acme: Organization, alice: User) -> None:
    client, _ = _superuser_client(client)

    assert client.get(reverse("admin:notifications_expirynotice_add")).status_code == 403
