from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from orgs import access
from orgs.models import AuditEvent, Membership, Organization, PermissionSet
from tests.conftest import make_org


def test_403_page_names_the_missing_permission(
    client: Client, acme: Organization, bob: User
) -> None:
    client.force_login(bob)

    response = client.get(reverse("orgs:user-list", args=[acme.public_id]))

    assertContains(response, "Modify All Data", status_code=403)


def test_setup_home_shows_the_org_and_the_navigation(
    alice_client: Client, acme: Organization
) -> None:
    response = alice_client.get(reverse("orgs:setup-home", args=[acme.public_id]))

    assertContains(response, acme.public_id)
    assertContains(response, "SETUP")
    assertContains(response, "Setup Audit Trail")
    assertContains(response, "Profiles and Permission Sets")


def test_user_with_one_org_goes_straight_to_its_setup(
    alice_client: Client, acme: Organization
) -> None:
    response = alice_client.get("/")

    assert response.status_code == 302
    assert response["Location"] == reverse("orgs:setup-home", args=[acme.public_id])


def test_user_in_two_orgs_chooses_one(
    alice_client: Client, acme: Organization, alice: User
) -> None:
    from orgs.services import members

    initech = make_org("Initech")
    members.add_member(org=initech, user=alice, acting_user=None)

    response = alice_client.get("/")

    assertContains(response, "Acme")
    assertContains(response, "Initech")


def test_admin_creates_a_permission_set_and_assigns_it(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    response = alice_client.post(
        reverse("orgs:permission-set-create", args=[acme.public_id]),
        {
            "label": "Cert Managers",
            "api_name": "Cert_Managers",
            "permission_codes": ["manage_certificates"],
        },
    )
    pset = PermissionSet.objects.get(organization=acme, api_name="Cert_Managers")
    assert response.status_code == 302
    bob_membership = Membership.objects.get(organization=acme, user=bob)

    alice_client.post(
        reverse("orgs:permission-set-assign", args=[acme.public_id, pset.uuid]),
        {"membership": str(bob_membership.uuid)},
    )

    assert access.has_org_perm(bob, "orgs.manage_certificates", acme)
    assert AuditEvent.objects.filter(
        organization=acme, message="Assigned permission set Cert Managers to bob"
    ).exists()


def test_permission_set_with_a_bad_api_name_is_refused(
    alice_client: Client, acme: Organization
) -> None:
    response = alice_client.post(
        reverse("orgs:permission-set-create", args=[acme.public_id]),
        {"label": "X", "api_name": "bad__name_"},
    )

    assertContains(response, "must begin with a letter", status_code=400)
    assert not PermissionSet.objects.filter(organization=acme).exists()


def test_duplicate_api_name_is_refused_case_insensitively(
    alice_client: Client, acme: Organization
) -> None:
    url = reverse("orgs:permission-set-create", args=[acme.public_id])
    alice_client.post(url, {"label": "A", "api_name": "Certs"})

    response = alice_client.post(url, {"label": "B", "api_name": "CERTS"})

    assertContains(response, "already exists", status_code=400)


def test_admin_changes_a_users_profile(alice_client: Client, acme: Organization, bob: User) -> None:
    membership = Membership.objects.get(organization=acme, user=bob)
    sysadmin = acme.profiles.get(name="System Administrator")

    alice_client.post(
        reverse("orgs:user-change-profile", args=[acme.public_id, membership.uuid]),
        {"profile": sysadmin.pk},
    )

    assert access.has_org_perm(bob, "orgs.modify_all_data", acme)


def test_another_orgs_profile_cannot_be_given(
    alice_client: Client, acme: Organization, bob: User, globex: Organization
) -> None:
    membership = Membership.objects.get(organization=acme, user=bob)
    foreign = globex.profiles.get(name="System Administrator")

    alice_client.post(
        reverse("orgs:user-change-profile", args=[acme.public_id, membership.uuid]),
        {"profile": foreign.pk},
    )

    membership.refresh_from_db()
    assert membership.profile.name == "Standard User"
    assert membership.profile.organization == acme


def test_admin_creates_a_user(alice_client: Client, acme: Organization) -> None:
    response = alice_client.post(
        reverse("orgs:user-create", args=[acme.public_id]),
        {
            "username": "frank",
            "email": "frank@acme.test",
            "profile": acme.profiles.get(name="Standard User").pk,
            "password": "a-long-unusual-passphrase",
        },
    )

    assert response.status_code == 302
    assert Membership.objects.filter(organization=acme, user__username="frank").exists()


def test_weak_password_is_refused(alice_client: Client, acme: Organization) -> None:
    response = alice_client.post(
        reverse("orgs:user-create", args=[acme.public_id]),
        {
            "username": "frank",
            "email": "frank@acme.test",
            "profile": acme.profiles.get(name="Standard User").pk,
            "password": "123",
        },
    )

    assertContains(response, "too short", status_code=400)
    assert not User.objects.filter(username="frank").exists()


def test_user_list_query_count_does_not_grow_with_users(
    alice_client: Client, acme: Organization, django_assert_max_num_queries: object
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import grant, make_member

    url = reverse("orgs:user-list", args=[acme.public_id])
    alice_client.get(url)
    with CaptureQueriesContext(connection) as few:
        alice_client.get(url)
    for n in range(15):
        grant(acme, make_member(acme, f"member{n}"), "manage_certificates")
    with CaptureQueriesContext(connection) as many:
        alice_client.get(url)

    assert len(few) > 0
    assert len(many) == len(few)
