"""Members of an org: joining, their profile, deactivation, their Federation ID (issue 15)."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from orgs import access, permissions
from orgs.models import Membership, Organization, Profile
from orgs.services.audit import Actor, record_audit
from orgs.services.logins import login_managed_here
from orgs.services.profiles import standard_profile


@transaction.atomic
def add_member(
    *,
    org: Organization,
    user: User,
    profile: Profile | None = None,
    acting_user: Actor,
) -> Membership:
    """Make `user` a member of `org` (Standard User unless a profile is given)."""
    profile = profile or standard_profile(org, permissions.STANDARD_USER)
    if profile.organization_id != org.pk:
        raise ValidationError("That profile belongs to another org.")
    membership = Membership.objects.create(organization=org, user=user, profile=profile)
    access.sync_member_permissions(membership)
    record_audit(
        org=org,
        acting_user=acting_user,
        section="Manage Users",
        action="addedUser",
        message=f"Added user {user.get_username()} with profile {profile.name}",
    )
    return membership


@transaction.atomic
def change_profile(*, membership: Membership, profile: Profile, acting_user: Actor) -> None:
    """Give a member another profile of the same org."""
    if profile.organization_id != membership.organization_id:
        raise ValidationError("That profile belongs to another org.")
    old = membership.profile.name
    if old == profile.name:
        return
    if profile.pk != membership.profile_id and _is_last_active_administrator(membership):
        raise ValidationError(LAST_ADMINISTRATOR.format(user=membership.user.get_username()))
    membership.profile = profile
    membership.save(update_fields=["profile"])
    access.sync_member_permissions(membership)
    record_audit(
        org=membership.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="changedProfile",
        message=f"Changed profile of {membership.user.get_username()} from {old} to {profile.name}",
    )


@transaction.atomic
def create_user(
    *,
    org: Organization,
    username: str,
    email: str,
    password: str,
    profile: Profile,
    first_name: str = "",
    last_name: str = "",
    acting_user: Actor,
) -> Membership:
    """Create a login and make it a member of `org` with `profile`."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "This username is taken."})
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_password(password)
    user.full_clean()
    user.save()
    return add_member(org=org, user=user, profile=profile, acting_user=acting_user)


def _is_last_active_administrator(membership: Membership) -> bool:
    """Would the org be left without an active System Administrator without this member?"""
    profile = membership.profile
    if not (profile.is_standard and profile.name == permissions.SYSTEM_ADMINISTRATOR):
        return False
    others = Membership.objects.filter(
        organization_id=membership.organization_id, profile_id=profile.pk, is_active=True
    ).exclude(pk=membership.pk)
    return membership.is_active and not others.exists()


LAST_ADMINISTRATOR = (
    "{user} is the last active System Administrator of this org. Give another active user the "
    "System Administrator profile first."
)


def _lock_membership(membership: Membership) -> Membership:
    """The row, locked for this transaction, so two admins deactivating the last two System
    Administrators at once cannot both pass the check (PostgreSQL; SQLite serialises writes)."""
    return (
        Membership.objects.select_for_update()
        .select_related("user", "profile", "organization")
        .get(pk=membership.pk)
    )


@transaction.atomic
def deactivate_member(*, membership: Membership, acting_user: Actor) -> None:
    """Deactivate a member in this org: no permission, no Setup page, no API token, no notice.

    The user, their other orgs and this org's records of them (audit trail, tokens, permission
    set assignments) stay. Refused for oneself and for the last active System Administrator.
    """
    # Lock every System Administrator of the org in a fixed order: two concurrent
    # deactivations of the last two then run one after the other.
    list(
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, profile_id=membership.profile_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    membership = _lock_membership(membership)
    username = membership.user.get_username()
    if not membership.is_active:
        raise ValidationError(f"{username} is already deactivated.")
    if acting_user is not None and membership.user_id == acting_user.pk:
        raise ValidationError("You cannot deactivate your own user.")
    if _is_last_active_administrator(membership):
        raise ValidationError(LAST_ADMINISTRATOR.format(user=username))
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    access.sync_member_permissions(membership)
    record_audit(
        org=membership.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="deactivatedUser",
        message=f"Deactivated user {username}",
    )


@transaction.atomic
def reactivate_member(*, membership: Membership, acting_user: Actor) -> None:
    """Give a deactivated member back what their profile and permission sets grant."""
    membership = _lock_membership(membership)
    username = membership.user.get_username()
    if membership.is_active:
        raise ValidationError(f"{username} is already active.")
    membership.is_active = True
    membership.save(update_fields=["is_active"])
    access.sync_member_permissions(membership)
    record_audit(
        org=membership.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="activatedUser",
        message=f"Reactivated user {username}",
    )


@transaction.atomic
def set_federation_id(*, membership: Membership, federation_id: str, acting_user: Actor) -> bool:
    """Set the NameID single sign-on matches this member by (in this org only); False if
    unchanged. ValidationError when another member of the org has it."""
    value = federation_id.strip()
    if value == membership.federation_id:
        return False
    if value and not login_managed_here(membership):
        # A Federation ID logs its holder in through this org's identity provider, which this
        # org's admins configure: the same rule as their name, email and password.
        who = membership.user.get_username()
        reason = (
            f"{who} also belongs to another organization (or is a superuser): their "
            "Federation ID is set by the installation's superusers, in the Django admin."
        )
        raise ValidationError({"federation_id": [reason]})
    if (
        value
        and Membership.objects.filter(organization=membership.organization, federation_id=value)
        .exclude(pk=membership.pk)
        .exists()
    ):
        raise ValidationError(
            {"federation_id": ["Another user of this org has this Federation ID."]}
        )
    old, membership.federation_id = membership.federation_id, value
    membership.save(update_fields=["federation_id"])
    record_audit(
        org=membership.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="changedFederationId",
        message=f"Changed the Federation ID of {membership.user.get_username()} from "
        f"“{old}” to “{value}”",
    )
    return True
