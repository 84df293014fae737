from django.contrib.auth.models import User

from orgs import access, permissions
from orgs.models import Membership, Organization
from orgs.services import members, permission_sets, profiles
from tests.conftest import grant, make_member


def test_system_administrator_holds_what_spec_1_says(acme: Organization, alice: User) -> None:
    held = access.held_permissions(alice, acme)

    assert held == {
        "manage_certificates",
        "modify_all_data",
        "manage_encryption_keys",
        "view_encrypted_data",
    }


def test_standard_user_holds_nothing(acme: Organization, bob: User) -> None:
    assert access.held_permissions(bob, acme) == frozenset()


def test_permission_set_adds_to_the_profile(acme: Organization, bob: User) -> None:
    grant(acme, bob, "manage_certificates")

    assert access.has_org_perm(bob, "orgs.manage_certificates", acme)
    assert not access.has_org_perm(bob, "orgs.modify_all_data", acme)


def test_permissions_do_not_cross_orgs(
    acme: Organization, alice: User, globex: Organization
) -> None:
    assert not access.has_org_perm(alice, "orgs.manage_certificates", globex)


def test_same_user_in_two_orgs_has_each_orgs_permissions(
    acme: Organization, globex: Organization, alice: User
) -> None:
    members.add_member(org=globex, user=alice, acting_user=None)

    assert access.held_permissions(alice, globex) == frozenset()
    assert "manage_certificates" in access.held_permissions(alice, acme)


def test_changing_the_profile_changes_the_permissions(acme: Organization, bob: User) -> None:
    membership = Membership.objects.get(organization=acme, user=bob)
    sysadmin = profiles.standard_profile(acme, permissions.SYSTEM_ADMINISTRATOR)

    members.change_profile(membership=membership, profile=sysadmin, acting_user=None)

    assert access.has_org_perm(bob, "orgs.modify_all_data", acme)


def test_editing_a_permission_set_updates_every_holder(acme: Organization) -> None:
    dave, erin = make_member(acme, "dave"), make_member(acme, "erin")
    pset = grant(acme, dave, "manage_certificates")
    permission_sets.assign_permission_set(
        membership=Membership.objects.get(organization=acme, user=erin), pset=pset, acting_user=None
    )

    permission_sets.update_permission_set(
        pset=pset,
        permission_codes=["receive_certificate_expiration_notifications"],
        acting_user=None,
    )

    for user in (dave, erin):
        assert access.held_permissions(user, acme) == {
            "receive_certificate_expiration_notifications"
        }


def test_removing_a_permission_set_keeps_what_the_profile_grants(
    acme: Organization, alice: User
) -> None:
    pset = grant(acme, alice, "manage_certificates", "customize_application")
    membership = Membership.objects.get(organization=acme, user=alice)

    permission_sets.remove_permission_set(membership=membership, pset=pset, acting_user=None)

    assert access.has_org_perm(alice, "orgs.manage_certificates", acme)  # from the profile
    assert not access.has_org_perm(alice, "orgs.customize_application", acme)


def test_users_holding_lists_active_holders_only(acme: Organization) -> None:
    dave, erin = make_member(acme, "dave"), make_member(acme, "erin")
    grant(acme, dave, "receive_certificate_expiration_notifications")
    grant(acme, erin, "receive_certificate_expiration_notifications")
    erin.is_active = False
    erin.save()

    holders = access.users_holding(acme, "orgs.receive_certificate_expiration_notifications")

    assert list(holders) == [dave]


def test_superuser_is_never_api_only(acme: Organization) -> None:
    root = User.objects.create_superuser("root", "r@example.test", "pw-root-12345")

    assert not access.has_org_perm(root, "orgs.api_only_user", acme)
    assert access.has_org_perm(root, "orgs.manage_certificates", acme)
