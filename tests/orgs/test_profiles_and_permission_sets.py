"""New Profile (cloned from an existing one), edit, delete when unused; permission sets
renamed and deleted; the API Name made from the Label (issue 15)."""

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from orgs import permissions
from orgs.models import AuditEvent, Membership, Organization, PermissionSet, Profile
from orgs.services import members, permission_sets, profiles
from tests.conftest import grant


def _last_audit(org: Organization) -> str:
    event = AuditEvent.objects.for_org(org).first()
    assert event is not None
    return event.message


def _new_profile(org: Organization, name: str = "Certificate Clerk") -> Profile:
    return profiles.create_profile(
        org=org,
        name=name,
        source=profiles.standard_profile(org, permissions.SYSTEM_ADMINISTRATOR),
        acting_user=None,
    )


def test_new_profile_starts_with_the_permissions_it_clones(
    alice_client: Client, acme: Organization
) -> None:
    sysadmin = profiles.standard_profile(acme, permissions.SYSTEM_ADMINISTRATOR)

    response = alice_client.post(
        reverse("orgs:profile-create", args=[acme.public_id]),
        {"source": sysadmin.uuid, "name": "Certificate Clerk", "description": "Certs only"},
    )

    clerk = Profile.objects.get(organization=acme, name="Certificate Clerk")
    assert response["Location"] == clerk.get_absolute_url()
    assert sorted(clerk.permissions) == sorted(sysadmin.permissions)
    assert not clerk.is_standard
    assert _last_audit(acme) == "Created profile Certificate Clerk by cloning System Administrator"


def test_profile_names_are_unique_in_the_org(alice_client: Client, acme: Organization) -> None:
    _new_profile(acme)
    source = profiles.standard_profile(acme, permissions.STANDARD_USER)

    response = alice_client.post(
        reverse("orgs:profile-create", args=[acme.public_id]),
        {"source": source.uuid, "name": "certificate clerk"},
    )

    assertContains(response, "A profile with this name already exists.", status_code=400)


def test_editing_a_profile_changes_what_its_members_hold(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    clerk = _new_profile(acme)
    membership = Membership.objects.get(organization=acme, user=bob)
    members.change_profile(membership=membership, profile=clerk, acting_user=None)
    assert bob.has_perm(permissions.MODIFY_ALL_DATA.full, acme)

    response = alice_client.post(
        reverse("orgs:profile-edit", args=[acme.public_id, clerk.uuid]),
        {"name": "Cert Clerk", "description": "", "permission_codes": ["manage_certificates"]},
    )

    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.name == "Cert Clerk"
    assert bob.has_perm(permissions.MANAGE_CERTIFICATES.full, acme)
    assert not bob.has_perm(permissions.MODIFY_ALL_DATA.full, acme)
    assert _last_audit(acme).startswith(
        "Changed profile Cert Clerk (renamed from Certificate Clerk): added nothing; removed "
    )


def test_standard_profiles_cannot_be_edited_or_deleted(
    alice_client: Client, acme: Organization
) -> None:
    standard = profiles.standard_profile(acme, permissions.STANDARD_USER)
    edit = reverse("orgs:profile-edit", args=[acme.public_id, standard.uuid])

    alice_client.post(edit, {"name": "Renamed", "permission_codes": ["modify_all_data"]})
    alice_client.post(reverse("orgs:profile-delete", args=[acme.public_id, standard.uuid]))

    standard.refresh_from_db()
    assert (standard.name, standard.permissions) == (permissions.STANDARD_USER, [])
    assertContains(alice_client.get(edit), "is a standard profile and cannot be changed")


def test_a_profile_in_use_is_not_deleted(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    clerk = _new_profile(acme)
    membership = Membership.objects.get(organization=acme, user=bob)
    members.change_profile(membership=membership, profile=clerk, acting_user=None)
    url = reverse("orgs:profile-delete", args=[acme.public_id, clerk.uuid])

    page = alice_client.get(url)
    response = alice_client.post(url, follow=True)

    assertContains(page, "is the profile of 1 user and cannot be deleted")
    assertContains(response, "give that user another profile first")
    assert Profile.objects.filter(pk=clerk.pk).exists()


def test_an_unused_profile_is_deleted(alice_client: Client, acme: Organization) -> None:
    clerk = _new_profile(acme)

    response = alice_client.post(reverse("orgs:profile-delete", args=[acme.public_id, clerk.uuid]))

    assert response["Location"] == reverse("orgs:profile-list", args=[acme.public_id])
    assert not Profile.objects.filter(pk=clerk.pk).exists()
    assert _last_audit(acme) == "Deleted profile Certificate Clerk"


# --- permission sets ------------------------------------------------------------------------


def test_api_name_is_made_from_the_label_when_left_blank(
    alice_client: Client, acme: Organization
) -> None:
    """The first Save works without the page's script (issue 15)."""
    response = alice_client.post(
        reverse("orgs:permission-set-create", args=[acme.public_id]),
        {"label": "Certificate Managers / EU 2", "api_name": "", "permission_codes": []},
    )

    pset = PermissionSet.objects.get(organization=acme)
    assert response["Location"] == pset.get_absolute_url()
    assert pset.api_name == "Certificate_Managers_EU_2"


def test_a_label_without_letters_asks_for_an_api_name(
    alice_client: Client, acme: Organization
) -> None:
    response = alice_client.post(
        reverse("orgs:permission-set-create", args=[acme.public_id]),
        {"label": "!!!", "api_name": ""},
    )

    assertContains(response, "no letters or digits to make an API Name from", status_code=400)
    assert not PermissionSet.objects.exists()


def test_permission_set_is_renamed(alice_client: Client, acme: Organization, bob: User) -> None:
    pset = grant(acme, bob, permissions.MANAGE_CERTIFICATES.codename)

    response = alice_client.post(
        reverse("orgs:permission-set-rename", args=[acme.public_id, pset.uuid]),
        {"label": "Cert Managers", "api_name": "Cert_Managers", "description": "Who renews"},
    )

    assert response.status_code == 302
    pset.refresh_from_db()
    assert (pset.label, pset.api_name, pset.description) == (
        "Cert Managers",
        "Cert_Managers",
        "Who renews",
    )
    assert bob.has_perm(permissions.MANAGE_CERTIFICATES.full, acme)  # still granted
    assert "label from Extra for bob to Cert Managers" in _last_audit(acme)


def test_renaming_to_a_taken_api_name_is_refused(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    first = grant(acme, bob, permissions.MANAGE_CERTIFICATES.codename)
    second = permission_sets.create_permission_set(
        org=acme, label="Other", api_name="Other", permission_codes=[], acting_user=None
    )

    response = alice_client.post(
        reverse("orgs:permission-set-rename", args=[acme.public_id, second.uuid]),
        {"label": "Other", "api_name": first.api_name.upper()},
    )

    assertContains(response, "A permission set with this API Name already exists.", status_code=400)


def test_an_assigned_permission_set_is_not_deleted(
    alice_client: Client, acme: Organization, bob: User
) -> None:
    pset = grant(acme, bob, permissions.MANAGE_CERTIFICATES.codename)
    url = reverse("orgs:permission-set-delete", args=[acme.public_id, pset.uuid])

    page = alice_client.get(url)
    response = alice_client.post(url, follow=True)

    assertContains(page, "is assigned to 1 user and cannot be deleted")
    assertContains(response, "is assigned to bob: remove it from that user first.")
    assert PermissionSet.objects.filter(pk=pset.pk).exists()


def test_an_unassigned_permission_set_is_deleted(alice_client: Client, acme: Organization) -> None:
    pset = permission_sets.create_permission_set(
        org=acme, label="Spare", api_name="Spare", permission_codes=[], acting_user=None
    )

    response = alice_client.post(
        reverse("orgs:permission-set-delete", args=[acme.public_id, pset.uuid])
    )

    assert response["Location"] == reverse("orgs:profile-list", args=[acme.public_id])
    assert not PermissionSet.objects.filter(pk=pset.pk).exists()
    assert _last_audit(acme) == "Deleted permission set Spare"
