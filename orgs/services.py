"""Writes of the orgs app: organizations, members, profiles, permission sets, the audit trail."""

import logging

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction

from orgs import access, permissions
from orgs.models import AuditEvent, Membership, Organization, PermissionSet, Profile

log = logging.getLogger(__name__)

Actor = User | AbstractBaseUser | AnonymousUser | None


def record_audit(
    *, org: Organization, acting_user: Actor, section: str, action: str, message: str
) -> AuditEvent:
    """Write one line of the Setup Audit Trail. `acting_user=None` means "system" (a job).

    Callers pass readable sentences and never a secret (keys, passwords, encrypted values).
    """
    user = acting_user if isinstance(acting_user, User) and acting_user.pk else None
    return AuditEvent.objects.create(
        organization=org,
        actor=user,
        actor_name=user.get_username() if user else "system",
        section=section,
        action=action,
        message=message[:500],
    )


@transaction.atomic
def create_organization(*, name: str, time_zone: str = "UTC", acting_user: Actor) -> Organization:
    """Create an org with its two standard profiles."""
    org = Organization(name=name, time_zone=time_zone)
    org.full_clean()
    org.save()
    for profile_name, codes in permissions.STANDARD_PROFILES.items():
        Profile.objects.create(
            organization=org, name=profile_name, permissions=sorted(codes), is_standard=True
        )
    record_audit(
        org=org,
        acting_user=acting_user,
        section="Company Information",
        action="createdOrg",
        message=f"Created organization {org.name}",
    )
    return org


def standard_profile(org: Organization, name: str) -> Profile:
    return Profile.objects.get(organization=org, name=name)


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


def _clean_codes(codes: list[str]) -> list[str]:
    unknown = set(codes) - set(permissions.BY_CODENAME)
    if unknown:
        raise ValidationError(f"Unknown permission(s): {', '.join(sorted(unknown))}.")
    return [perm.codename for perm in permissions.CATALOGUE if perm.codename in codes]


@transaction.atomic
def create_permission_set(
    *,
    org: Organization,
    label: str,
    api_name: str,
    permission_codes: list[str],
    description: str = "",
    acting_user: Actor,
) -> PermissionSet:
    """Create a permission set; nobody holds it until it is assigned."""
    if PermissionSet.objects.filter(organization=org, api_name__iexact=api_name).exists():
        raise ValidationError({"api_name": "A permission set with this API Name already exists."})
    pset = PermissionSet(
        organization=org,
        label=label,
        api_name=api_name,
        description=description,
        permissions=_clean_codes(permission_codes),
    )
    pset.full_clean()
    pset.save()
    labels = ", ".join(pset.permission_labels) or "no permissions"
    record_audit(
        org=org,
        acting_user=acting_user,
        section="Permission Sets",
        action="createdPermSet",
        message=f"Created permission set {pset.label} ({labels})",
    )
    return pset


@transaction.atomic
def update_permission_set(
    *, pset: PermissionSet, permission_codes: list[str], acting_user: Actor
) -> None:
    """Change what a permission set grants, for every member who holds it."""
    before = set(pset.permissions)
    pset.permissions = _clean_codes(permission_codes)
    pset.save(update_fields=["permissions"])
    for membership in pset.memberships.select_related("user", "profile", "organization"):
        access.sync_member_permissions(membership)
    added = [permissions.label_of(c) for c in pset.permissions if c not in before]
    removed = [permissions.label_of(c) for c in before if c not in pset.permissions]
    record_audit(
        org=pset.organization,
        acting_user=acting_user,
        section="Permission Sets",
        action="changedPermSet",
        message=f"Changed permission set {pset.label}: "
        f"added {', '.join(added) or 'nothing'}; removed {', '.join(removed) or 'nothing'}",
    )


@transaction.atomic
def assign_permission_set(
    *, membership: Membership, pset: PermissionSet, acting_user: Actor
) -> bool:
    """Assign `pset` to a member; False if it was already assigned."""
    if pset.organization_id != membership.organization_id:
        raise ValidationError("That permission set belongs to another org.")
    if membership.permission_sets.filter(pk=pset.pk).exists():
        return False
    membership.permission_sets.add(pset)
    access.sync_member_permissions(membership)
    record_audit(
        org=membership.organization,
        acting_user=acting_user,
        section="Permission Sets",
        action="assignedPermSet",
        message=f"Assigned permission set {pset.label} to {membership.user.get_username()}",
    )
    return True


@transaction.atomic
def remove_permission_set(
    *, membership: Membership, pset: PermissionSet, acting_user: Actor
) -> bool:
    """Unassign `pset`; False if it was not assigned."""
    if not membership.permission_sets.filter(pk=pset.pk).exists():
        return False
    membership.permission_sets.remove(pset)
    access.sync_member_permissions(membership)
    record_audit(
        org=membership.organization,
        acting_user=acting_user,
        section="Permission Sets",
        action="removedPermSet",
        message=f"Removed permission set {pset.label} from {membership.user.get_username()}",
    )
    return True


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
