"""The Setup page "Expiration Notifications", as alice (System Administrator of Acme), bob
(Standard User of Acme) and carol (System Administrator of Globex)."""

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from notifications import services
from notifications.models import ExpiryNotice, NotificationRun, NotificationRunOrg
from notifications.recipients import RECEIVE
from notifications.services import send_expiry_notices
from orgs.models import AuditEvent, Membership, Organization
from orgs.permissions import MODIFY_ALL_DATA as MAD
from tests.conftest import grant, make_member
from tests.notifications.conftest import expiring


def _url(org: Organization, name: str = "settings") -> str:
    return reverse(f"notifications:{name}", args=[org.public_id])


def _uuid(org: Organization, user: User) -> str:
    return str(Membership.objects.get(organization=org, user=user).uuid)


def _soon(days: int) -> object:
    return timezone.now().replace(microsecond=0) + timedelta(days=days, hours=1)


def test_shows_who_receives_what(alice_client: Client, acme: Organization, bob: User) -> None:
    grant(acme, bob, RECEIVE, MAD.codename)

    response = alice_client.get(_url(acme))

    assertContains(response, "Expiration Notifications")
    recipients = response.context["recipients"]
    assert [(r.username, r.gets_all) for r in recipients] == [("alice", False), ("bob", True)]
    assertContains(response, "Only the 1-day and day-of-expiration notices")
    assertContains(response, "Permission set Extra for bob")


def test_alice_assigns_the_permission_through_the_standard_permission_set(
    alice_client: Client, acme: Organization, alice: User, bob: User
) -> None:
    response = alice_client.post(_url(acme, "assign"), {"member": _uuid(acme, bob)}, follow=True)

    assertContains(response, "bob now receives every expiration notice.")
    pset = services.notification_permission_set(acme)
    assert pset is not None
    assert pset.permissions == [RECEIVE]
    assert [h["member"].username for h in response.context["holders"]] == ["bob"]
    messages = list(AuditEvent.objects.for_org(acme).values_list("actor_name", "message")[:2])
    assert messages == [
        ("alice", "Assigned permission set Certificate Expiration Notifications to bob"),
        (
            "alice",
            (
                "Created permission set Certificate Expiration Notifications "
                "(Receive Certificate Expiration Notifications)"
            ),
        ),
    ]


def test_alice_removes_it_again(
    alice_client: Client, acme: Organization, alice: User, bob: User
) -> None:
    services.grant_expiration_notifications(
        membership=Membership.objects.get(user=bob), acting_user=alice
    )

    response = alice_client.post(_url(acme, "remove"), {"member": _uuid(acme, bob)}, follow=True)

    assertContains(response, "bob no longer holds Receive Certificate Expiration Notifications.")
    assert response.context["holders"] == []
    assert AuditEvent.objects.for_org(acme).first().message == (
        "Removed permission set Certificate Expiration Notifications from bob"
    )


def test_a_grant_from_another_permission_set_is_explained_not_removed(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    grant(acme, bob, RECEIVE)

    response = alice_client.post(_url(acme, "remove"), {"member": _uuid(acme, bob)}, follow=True)

    assertContains(response, "bob still holds Receive Certificate Expiration Notifications through")
    assert [h["removable"] for h in response.context["holders"]] == [False]


def test_bad_input_is_an_error_message_not_a_crash(
    alice_client: Client, acme: Organization, alice: User, carol: User
) -> None:
    for member in ("not-a-uuid", "", _uuid(carol.memberships.get().organization, carol)):
        response = alice_client.post(_url(acme, "assign"), {"member": member}, follow=True)

        assertContains(response, "Choose a user of this org.")
    assert services.notification_permission_set(acme) is None


def test_previews_notices_due_and_then_shows_them_sent(
    alice_client: Client, acme: Organization, alice: User
) -> None:
    expiring(acme, "Payments_Signing", _soon(10))
    before = alice_client.get(_url(acme))

    send_expiry_notices()
    after = alice_client.get(_url(acme))

    (row,) = before.context["preview"]
    assert (row.label, row.threshold, row.recipients, row.status) == (
        "Payments Signing",
        10,
        ["alice"],
        "Due: sent by the next run",
    )
    assert after.context["preview"][0].status == "Sent (1)"
    assertContains(after, "alice@example.test")
    assert after.context["org_runs"][0].emails_sent == 1


def test_shows_nothing_of_other_orgs(
    alice_client: Client, acme: Organization, globex: Organization, alice: User, carol: User
) -> None:
    expiring(globex, "Globex_Secret", _soon(10))
    send_expiry_notices()

    response = alice_client.get(_url(acme))

    assertNotContains(response, "Globex")
    assertNotContains(response, carol.email)
    assert ExpiryNotice.objects.filter(organization=globex).exists()


def test_bob_needs_manage_certificates(client: Client, acme: Organization, bob: User) -> None:
    client.force_login(bob)

    assertContains(client.get(_url(acme)), "Manage Certificates", status_code=403)


def test_carol_cannot_learn_that_acme_exists(
    client: Client, acme: Organization, carol: User
) -> None:
    client.force_login(carol)

    assert client.get(_url(acme)).status_code == 404


def test_query_count_does_not_grow_with_rows(
    alice_client: Client, acme: Organization, alice: User
) -> None:
    expiring(acme, "Cert_0", _soon(10))
    send_expiry_notices()
    alice_client.get(_url(acme))  # warm per-process caches (ContentType, session)
    with CaptureQueriesContext(connection) as one:
        alice_client.get(_url(acme))

    for n in range(1, 8):
        expiring(acme, f"Cert_{n}", _soon(10 + n))
        grant(acme, make_member(acme, f"reader{n}"), RECEIVE)
    send_expiry_notices()
    with CaptureQueriesContext(connection) as many:
        response = alice_client.get(_url(acme))

    assert len(response.context["preview"]) == 8
    assert len(response.context["notices"]) > 8
    assert len(many) == len(one)


def test_a_widened_standard_set_is_not_handed_out_by_this_page(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    """The page needs only Manage Certificates: it must not become a way to Modify All Data."""
    from orgs.services.permission_sets import update_permission_set

    pset = services.ensure_notification_permission_set(org=acme, acting_user=None)
    update_permission_set(
        pset=pset, permission_codes=[RECEIVE, "modify_all_data"], acting_user=None
    )

    response = alice_client.post(_url(acme, "assign"), {"member": _uuid(acme, bob)}, follow=True)

    assertContains(response, "must grant exactly Receive Certificate Expiration Notifications")
    assert not Membership.objects.get(organization=acme, user=bob).permission_sets.exists()


def test_an_interrupted_run_is_shown_so_not_as_running(
    alice_client: Client, acme: Organization
) -> None:
    run = NotificationRun.objects.create(status=NotificationRun.Status.INTERRUPTED)
    NotificationRunOrg.objects.create(run=run, organization=acme, emails_sent=1, notices_lost=2)

    response = alice_client.get(_url(acme))

    runs = response.content.decode().split('id="runs"')[1].split("</table>")[0]
    assert "interrupted" in runs
    assert "running" not in runs
    assert "<td>2</td>" in runs  # lost to another run
