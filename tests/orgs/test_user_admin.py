"""User administration in Setup (SPEC 1, issue 15): deactivate and reactivate, edit name and
email, reset the password by email, each with its audit line and its refusals."""

import re

from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from certadmin.services import tokens
from orgs import permissions
from orgs.models import AuditEvent, Membership, Organization
from orgs.services import members, profiles
from tests.conftest import PASSWORD, grant, make_member, make_org


def _membership(org: Organization, user: User) -> Membership:
    return Membership.objects.get(organization=org, user=user)


def _url(name: str, org: Organization, user: User) -> str:
    return reverse(name, args=[org.public_id, _membership(org, user).uuid])


def _last_audit(org: Organization) -> AuditEvent:
    event = AuditEvent.objects.for_org(org).first()
    assert event is not None
    return event


# --- deactivate / reactivate ----------------------------------------------------------------


def test_deactivation_is_confirmed_on_a_page_that_says_what_happens(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    response = alice_client.get(_url("orgs:user-deactivate", acme, bob))

    assertContains(response, "Deactivating <strong>bob</strong>")
    assertContains(response, "API tokens")
    assert _membership(acme, bob).is_active


def test_deactivated_member_loses_permissions_setup_and_api(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    grant(acme, bob, permissions.MANAGE_CERTIFICATES.codename)
    token = tokens.create_api_token(
        org=acme, user=bob, name="CI", expires_in_days=None, acting_user=None
    )

    response = alice_client.post(_url("orgs:user-deactivate", acme, bob))

    assert response.status_code == 302
    assert not _membership(acme, bob).is_active
    assert not bob.has_perm(permissions.MANAGE_CERTIFICATES.full, acme)
    assert _last_audit(acme).message == "Deactivated user bob"
    assert _last_audit(acme).actor_name == "alice"
    client = Client()  # bob's browser (alice_client is the `client` fixture)
    client.force_login(bob)
    page = client.get(reverse("orgs:setup-home", args=[acme.public_id]))
    assertContains(page, "is deactivated", status_code=403)
    api = client.get(
        reverse("api:certificate-list", args=[acme.public_id]),
        HTTP_AUTHORIZATION=f"Bearer {token.plaintext}",
    )
    assert api.status_code == 401


def test_deactivated_member_cannot_log_in(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    alice_client.post(_url("orgs:user-deactivate", acme, bob))

    client = Client()  # bob's browser (alice_client is the `client` fixture)
    response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})

    assertContains(response, "deactivated in every organization")
    assert "_auth_user_id" not in client.session


def test_member_deactivated_in_one_org_still_logs_in_to_the_other(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    initech = make_org("Initech")
    members.add_member(org=initech, user=bob, acting_user=None)
    alice_client.post(_url("orgs:user-deactivate", acme, bob))

    client = Client()  # bob's browser (alice_client is the `client` fixture)
    response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})

    assert response.status_code == 302
    # The org switcher no longer offers Acme: straight to Initech.
    assert client.get("/")["Location"] == reverse("orgs:setup-home", args=[initech.public_id])


def test_reactivation_gives_back_profile_and_permission_sets(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    grant(acme, bob, permissions.MANAGE_CERTIFICATES.codename)
    alice_client.post(_url("orgs:user-deactivate", acme, bob))

    response = alice_client.post(_url("orgs:user-reactivate", acme, bob))

    assert response.status_code == 302
    assert _membership(acme, bob).is_active
    assert bob.has_perm(permissions.MANAGE_CERTIFICATES.full, acme)
    assert _last_audit(acme).message == "Reactivated user bob"


def test_last_active_system_administrator_cannot_be_deactivated(
    client: Client, acme: Organization, alice: User
) -> None:
    """Dave (Modify All Data through a permission set) tries to deactivate alice."""
    dave = make_member(acme, "dave")
    grant(acme, dave, permissions.MODIFY_ALL_DATA.codename)
    client.force_login(dave)

    response = client.post(_url("orgs:user-deactivate", acme, alice), follow=True)

    assertContains(response, "last active System Administrator")
    assert _membership(acme, alice).is_active


def test_a_second_administrator_can_be_deactivated(
    alice_client: Client, acme: Organization
) -> None:
    erin = make_member(acme, "erin", permissions.SYSTEM_ADMINISTRATOR)

    alice_client.post(_url("orgs:user-deactivate", acme, erin))

    assert not _membership(acme, erin).is_active


def test_last_active_administrator_cannot_be_given_another_profile(
    client: Client, acme: Organization, alice: User
) -> None:
    dave = make_member(acme, "dave")
    grant(acme, dave, permissions.MODIFY_ALL_DATA.codename)
    standard = profiles.standard_profile(acme, permissions.STANDARD_USER)
    client.force_login(dave)

    response = client.post(
        _url("orgs:user-change-profile", acme, alice), {"profile": standard.pk}, follow=True
    )

    assertContains(response, "last active System Administrator")
    assert _membership(acme, alice).profile.name == permissions.SYSTEM_ADMINISTRATOR


def test_admin_cannot_deactivate_herself(alice_client: Client, acme: Organization) -> None:
    alice = User.objects.get(username="alice")
    make_member(acme, "erin", permissions.SYSTEM_ADMINISTRATOR)

    response = alice_client.post(_url("orgs:user-deactivate", acme, alice), follow=True)

    assertContains(response, "You cannot deactivate your own user.")
    assert _membership(acme, alice).is_active


def test_deactivated_member_gets_no_expiry_notices(acme: Organization, bob: User) -> None:
    from notifications.recipients import active_members

    grant(acme, bob, permissions.RECEIVE_EXPIRATION_NOTIFICATIONS.codename)
    members.deactivate_member(membership=_membership(acme, bob), acting_user=None)

    active = active_members([acme.pk])[acme.pk]

    assert "bob" not in [m.username for m in active]


# --- edit name and email --------------------------------------------------------------------


def test_admin_edits_name_and_email(alice_client: Client, acme: Organization, bob: User) -> None:
    response = alice_client.post(
        _url("orgs:user-edit", acme, bob),
        {"first_name": "Robert", "last_name": "Tables", "email": "robert@acme.test"},
    )

    assert response.status_code == 302
    bob.refresh_from_db()
    assert (bob.first_name, bob.last_name, bob.email) == ("Robert", "Tables", "robert@acme.test")
    assert _last_audit(acme).message == (
        "Changed bob: first name from “” to “Robert”; last name from “” to “Tables”; "
        "email from “bob@example.test” to “robert@acme.test”"
    )


def test_a_bad_email_is_refused_on_the_page(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    response = alice_client.post(
        _url("orgs:user-edit", acme, bob), {"first_name": "", "last_name": "", "email": "nope"}
    )

    assertContains(response, "Enter a valid email address.", status_code=400)
    bob.refresh_from_db()
    assert bob.email == "bob@example.test"


def test_login_shared_with_another_org_is_not_editable(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    """Else an admin of Acme could take over bob's login in Initech (email, then reset)."""
    members.add_member(org=make_org("Initech"), user=bob, acting_user=None)

    alice_client.post(_url("orgs:user-edit", acme, bob), {"email": "evil@attacker.test"})
    page = alice_client.get(_url("orgs:user-edit", acme, bob))

    bob.refresh_from_db()
    assert bob.email == "bob@example.test"
    assertContains(page, "also belongs to another organization")


# --- reset password -------------------------------------------------------------------------


def test_reset_password_emails_a_link_that_sets_a_new_one(
    alice_client: Client,
    acme: Organization,
    bob: User,
    mailoutbox: list[EmailMessage],
) -> None:
    response = alice_client.post(_url("orgs:user-reset-password", acme, bob), follow=True)

    assertContains(response, "a link to set a new one was sent to bob@example.test")
    assert _last_audit(acme).message == (
        "Reset the password of bob (a link to set a new one was emailed)"
    )
    bob.refresh_from_db()
    assert not bob.has_usable_password()  # the old one stops working at once
    assert [m.to for m in mailoutbox] == [["bob@example.test"]]
    link = re.search(r"http://testserver(/accounts/reset/\S+)", str(mailoutbox[0].body))
    assert link is not None
    client = Client()  # bob's browser (alice_client is the `client` fixture)
    form = client.get(link.group(1), follow=True)
    new = "a fresh and long pass phrase"
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assertContains(done, "Your new password is set.")
    login = client.post(reverse("login"), {"username": "bob", "password": new})
    assert login.status_code == 302
    # The link works once.
    assertContains(client.get(link.group(1), follow=True), "This link is not valid")


def test_no_password_is_ever_shown_or_audited(
    alice_client: Client, acme: Organization, bob: User, mailoutbox: list[EmailMessage]
) -> None:
    hashed = bob.password
    alice_client.post(_url("orgs:user-reset-password", acme, bob))

    pages = [
        alice_client.get(_url(name, acme, bob)).content.decode()
        for name in ("orgs:user-detail", "orgs:user-edit", "orgs:user-reset-password")
    ]

    assert not any(hashed in page or PASSWORD in page for page in pages)
    assert not AuditEvent.objects.filter(message__contains=PASSWORD).exists()
    assert PASSWORD not in str(mailoutbox[0].body)


def test_reset_needs_an_email_address(
    alice_client: Client, acme: Organization, mailoutbox: list[EmailMessage]
) -> None:
    frank = make_member(acme, "frank")
    User.objects.filter(pk=frank.pk).update(email="")

    response = alice_client.post(_url("orgs:user-reset-password", acme, frank), follow=True)

    assertContains(response, "frank has no email address")
    assert mailoutbox == []
    frank.refresh_from_db()
    assert frank.check_password(PASSWORD)


def test_bob_cannot_reset_alices_password(
    client: Client, acme: Organization, alice: User, bob: User, mailoutbox: list[EmailMessage]
) -> None:
    client.force_login(bob)

    response = client.post(_url("orgs:user-reset-password", acme, alice))

    assert response.status_code == 403
    assert mailoutbox == []
