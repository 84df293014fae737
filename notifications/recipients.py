"""Who receives which expiration notices of an org (SPEC 4, the seed's rules exactly).

An *admin* is an active member with the System Administrator profile or Modify All Data.

1. Active users who hold Receive Certificate Expiration Notifications get every threshold.
2. If at least one active **admin** holds it, admins who do not hold it get only the 1-day and
   0-day notices (the seed: "When you assign this permission to at least one admin ...").
3. Otherwise (nobody holds it, or only non-admins do), every admin gets every threshold: a
   non-admin holder gets the notices but does not trigger the restriction of rule 2.

`situation` names which of the three cases an org is in, for the Setup page.

`apply_rules` is the rules alone (no database). The loaders read memberships with their
profile and permission sets and compute each member's permissions with
`orgs.permissions.effective_codenames`, the same function `orgs.access` uses to write the
guardian permissions, so the answer is the one the gate gives; doing it here costs two
queries for a whole batch of orgs instead of several per org.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from notifications import windows
from orgs import permissions
from orgs.models import Membership, Organization

RECEIVE = permissions.RECEIVE_EXPIRATION_NOTIFICATIONS.codename
MODIFY_ALL_DATA = permissions.MODIFY_ALL_DATA.codename


@dataclass(frozen=True)
class Member:
    """What the rules need to know about one active member of an org."""

    user_id: int
    membership_uuid: object
    username: str
    email: str
    full_name: str
    profile: str
    codes: frozenset[str]
    receive_via: tuple[str, ...] = ()  # profile / permission sets that grant RECEIVE

    @property
    def is_admin(self) -> bool:
        """System Administrator profile, or Modify All Data from anywhere."""
        return self.profile == permissions.SYSTEM_ADMINISTRATOR or MODIFY_ALL_DATA in self.codes


@dataclass(frozen=True)
class Recipient:
    member: Member
    thresholds: frozenset[int]
    rule: str  # why, in words, for the Setup page

    @property
    def user_id(self) -> int:
        return self.member.user_id

    @property
    def email(self) -> str:
        return self.member.email

    @property
    def username(self) -> str:
        return self.member.username

    @property
    def gets_all(self) -> bool:
        return self.rule != RULE_URGENT_ONLY

    def describe_thresholds(self) -> str:
        """ "1-day and day-of-expiration notices" """
        labels = [_day_label(t) for t in sorted(self.thresholds, reverse=True)]
        words = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
        return f"{words} notice{'s' if len(labels) > 1 else ''}"


RULE_HOLDER = "Holds Receive Certificate Expiration Notifications"
RULE_URGENT_ONLY = (
    "System Administrator or Modify All Data; another admin holds Receive Certificate "
    "Expiration Notifications, so only the 1-day and 0-day notices"
)
RULE_NOBODY_HOLDS = (
    "System Administrator or Modify All Data, and nobody holds Receive Certificate "
    "Expiration Notifications"
)
RULE_NO_ADMIN_HOLDS = (
    "System Administrator or Modify All Data, and no admin holds Receive Certificate "
    "Expiration Notifications (only non-admins do)"
)

# The three cases an org can be in (`situation`).
CASE_NOBODY = "nobody"
CASE_ADMIN_HOLDS = "admin-holds"
CASE_ONLY_NON_ADMINS = "only-non-admins"


@dataclass(frozen=True)
class Situation:
    """Which case of the rules an org is in, with the holders that put it there."""

    case: str
    admin_holders: tuple[str, ...]  # usernames
    other_holders: tuple[str, ...]

    @property
    def restricted(self) -> bool:
        """Admins who do not hold the permission get only the urgent notices."""
        return self.case == CASE_ADMIN_HOLDS


def situation(members: Iterable[Member]) -> Situation:
    """The case of `members` (one org's active members)."""
    members = sorted(members, key=lambda m: m.username.lower())
    admin_holders = tuple(m.username for m in members if RECEIVE in m.codes and m.is_admin)
    other_holders = tuple(m.username for m in members if RECEIVE in m.codes and not m.is_admin)
    if admin_holders:
        case = CASE_ADMIN_HOLDS
    elif other_holders:
        case = CASE_ONLY_NON_ADMINS
    else:
        case = CASE_NOBODY
    return Situation(case, admin_holders, other_holders)


def _day_label(threshold: int) -> str:
    return "day-of-expiration" if threshold == 0 else f"{threshold}-day"


def apply_rules(members: Iterable[Member], thresholds: Iterable[int]) -> list[Recipient]:
    """The recipients among one org's active members, by username."""
    every = frozenset(windows.normalize(thresholds))
    urgent = windows.urgent(every)
    members = sorted(members, key=lambda m: m.username.lower())
    case = situation(members).case
    holders = [m for m in members if RECEIVE in m.codes]
    admins = [m for m in members if RECEIVE not in m.codes and m.is_admin]
    recipients = [Recipient(m, every, RULE_HOLDER) for m in holders]
    if case == CASE_NOBODY:
        recipients += [Recipient(m, every, RULE_NOBODY_HOLDS) for m in admins]
    elif case == CASE_ONLY_NON_ADMINS:
        recipients += [Recipient(m, every, RULE_NO_ADMIN_HOLDS) for m in admins]
    elif urgent:
        recipients += [Recipient(m, urgent, RULE_URGENT_ONLY) for m in admins]
    return sorted(recipients, key=lambda r: r.username.lower())


def active_members(
    org_ids: Collection[int], *, candidates_only: bool = False
) -> dict[int, list[Member]]:
    """{org id: its active members}, in two queries whatever the number of orgs.

    Plain rows, not model instances: the job asks this for thousands of orgs a run. With
    `candidates_only`, members who cannot hold any permission are left out: those with the
    Standard User profile (which grants nothing and cannot be edited) and no permission set.
    """
    through = Membership.permission_sets.through
    members = Membership.objects.filter(
        organization_id__in=list(org_ids), is_active=True, user__is_active=True
    )
    if candidates_only:
        members = members.filter(
            ~Q(profile__is_standard=True, profile__name=permissions.STANDARD_USER)
            | Exists(through.objects.filter(membership_id=OuterRef("pk")))
        )
    rows = members.order_by().values_list(
        "pk",
        "organization_id",
        "uuid",
        "user_id",
        "user__username",
        "user__email",
        "user__first_name",
        "user__last_name",
        "profile__name",
        "profile__permissions",
    )
    memberships = list(rows)
    psets: dict[int, list[tuple[str, list[str]]]] = defaultdict(list)
    for membership_id, label, codes in (
        through.objects.filter(membership_id__in=[row[0] for row in memberships])
        .order_by("permissionset__label")
        .values_list("membership_id", "permissionset__label", "permissionset__permissions")
    ):
        psets[membership_id].append((label, codes))
    found: dict[int, list[Member]] = defaultdict(list)
    for pk, org_id, uuid, user_id, username, email, first, last, profile, granted in memberships:
        sets = psets.get(pk, [])
        codes = permissions.effective_codenames([granted] + [codes for _, codes in sets])
        via = ([f"Profile {profile}"] if RECEIVE in granted else []) + [
            f"Permission set {label}" for label, codes in sets if RECEIVE in codes
        ]
        found[org_id].append(
            Member(
                user_id=user_id,
                membership_uuid=uuid,
                username=username,
                email=email,
                full_name=f"{first} {last}".strip(),
                profile=profile,
                codes=codes,
                receive_via=tuple(via),
            )
        )
    return found


def recipients_by_org(
    org_ids: Collection[int], thresholds: Iterable[int]
) -> dict[int, list[Recipient]]:
    """{org id: its recipients} for a batch of orgs (orgs without any are left out)."""
    thresholds = tuple(thresholds)
    members = active_members(org_ids, candidates_only=True)
    return {org_id: apply_rules(members[org_id], thresholds) for org_id in members}


def recipients_for(org: Organization, thresholds: Iterable[int]) -> list[Recipient]:
    return recipients_by_org([org.pk], thresholds).get(org.pk, [])
