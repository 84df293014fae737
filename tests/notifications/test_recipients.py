"""SPEC 4's recipient rules, the seed's (only an admin holder restricts the other admins),
about alice (System Administrator of Acme), bob (Standard User of Acme) and carol (System
Administrator of Globex)."""

from django.contrib.auth.models import User

from notifications.recipients import (
    CASE_ADMIN_HOLDS,
    CASE_NOBODY,
    CASE_ONLY_NON_ADMINS,
    RULE_HOLDER,
    RULE_NO_ADMIN_HOLDS,
    RULE_NOBODY_HOLDS,
    RULE_URGENT_ONLY,
    Member,
    Situation,
    apply_rules,
    recipients_for,
    situation,
)
from orgs import permissions
from orgs.models import Organization
from tests.conftest import grant, make_member
from tests.notifications.conftest import RECEIVE, admin_holder, holder

ALL = frozenset({60, 30, 10, 1, 0})
URGENT = frozenset({1, 0})
THRESHOLDS = (60, 30, 10, 1, 0)


def _who(org: Organization) -> dict[str, frozenset[int]]:
    return {r.username: r.thresholds for r in recipients_for(org, THRESHOLDS)}


def test_holders_of_the_permission_get_every_threshold(
    acme: Organization, alice: User, bob: User
) -> None:
    holder(acme, bob)

    assert _who(acme)["bob"] == ALL


def test_admins_get_only_the_last_two_notices_while_an_admin_holds_it(
    acme: Organization, alice: User, bob: User
) -> None:
    erin = holder(acme, make_member(acme, "erin", permissions.SYSTEM_ADMINISTRATOR))

    assert _who(acme) == {"alice": URGENT, "erin": ALL}
    assert erin.is_active


def test_a_non_admin_holder_does_not_restrict_the_admins(
    acme: Organization, alice: User, bob: User
) -> None:
    holder(acme, bob)

    assert _who(acme) == {"alice": ALL, "bob": ALL}
    assert [r.rule for r in recipients_for(acme, THRESHOLDS)] == [RULE_NO_ADMIN_HOLDS, RULE_HOLDER]


def test_modify_all_data_counts_as_admin(acme: Organization, alice: User, bob: User) -> None:
    dave = make_member(acme, "dave")
    grant(acme, dave, permissions.MODIFY_ALL_DATA.codename)
    admin_holder(acme, bob)  # bob holds it and Modify All Data: an admin holder

    assert _who(acme) == {"alice": URGENT, "bob": ALL, "dave": URGENT}


def test_when_nobody_holds_it_admins_get_every_threshold(
    acme: Organization, alice: User, bob: User
) -> None:
    assert _who(acme) == {"alice": ALL}


def test_an_inactive_holder_does_not_count(acme: Organization, alice: User, bob: User) -> None:
    admin_holder(acme, bob)
    bob.is_active = False
    bob.save()

    assert _who(acme) == {"alice": ALL}


def test_inactive_admins_receive_nothing(acme: Organization, alice: User) -> None:
    alice.is_active = False
    alice.save()

    assert _who(acme) == {}


def test_members_without_either_permission_receive_nothing(acme: Organization, bob: User) -> None:
    assert _who(acme) == {}


def test_a_holder_who_is_also_admin_is_one_recipient_with_every_threshold(
    acme: Organization, alice: User
) -> None:
    holder(acme, alice)

    recipients = recipients_for(acme, THRESHOLDS)

    assert [(r.username, r.thresholds, r.rule) for r in recipients] == [("alice", ALL, RULE_HOLDER)]


def test_each_org_applies_its_own_rules_to_a_user_in_several_orgs(
    acme: Organization, globex: Organization, alice: User, bob: User, carol: User
) -> None:
    """bob holds the permission in Acme (Standard User there: alice keeps every notice) and
    is a System Administrator of Globex, where carol, an admin, holds it."""
    from orgs.services import members, profiles

    holder(acme, bob)
    members.add_member(
        org=globex,
        user=bob,
        profile=profiles.standard_profile(globex, permissions.SYSTEM_ADMINISTRATOR),
        acting_user=None,
    )
    holder(globex, carol)

    assert _who(acme) == {"alice": ALL, "bob": ALL}
    assert _who(globex) == {"bob": URGENT, "carol": ALL}


def _member(name: str, *codes: str, profile: str = permissions.STANDARD_USER) -> Member:
    return Member(
        user_id=hash(name),
        membership_uuid=None,
        username=name,
        email=f"{name}@example.test",
        full_name="",
        profile=profile,
        codes=frozenset(codes),
    )


def test_rules_without_a_database() -> None:
    sysadmin = _member("sam", profile=permissions.SYSTEM_ADMINISTRATOR)
    reader = _member("rita", RECEIVE)
    boss = _member("bea", RECEIVE, profile=permissions.SYSTEM_ADMINISTRATOR)
    nobody = _member("nick")

    def rules(*members: Member) -> list[tuple[str, str]]:
        return [(r.username, r.rule) for r in apply_rules(members, THRESHOLDS)]

    assert rules(sysadmin, nobody) == [("sam", RULE_NOBODY_HOLDS)]
    assert situation([sysadmin, nobody]) == Situation(CASE_NOBODY, (), ())
    assert rules(sysadmin, reader, nobody) == [("rita", RULE_HOLDER), ("sam", RULE_NO_ADMIN_HOLDS)]
    assert situation([sysadmin, reader]) == Situation(CASE_ONLY_NON_ADMINS, (), ("rita",))
    assert rules(sysadmin, reader, boss) == [
        ("bea", RULE_HOLDER),
        ("rita", RULE_HOLDER),
        ("sam", RULE_URGENT_ONLY),
    ]
    assert situation([sysadmin, reader, boss]) == Situation(CASE_ADMIN_HOLDS, ("bea",), ("rita",))
