"""Writes of the orgs app: organizations, members, profiles, permission sets, the audit trail."""

import logging

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import ngettext

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


def _clean_codes(codes: list[str]) -> list[str]:
    unknown = set(codes) - set(permissions.BY_CODENAME)
    if unknown:
        raise ValidationError(
            f"Unknown {ngettext('permission', 'permissions', len(unknown))}: "
            f"{', '.join(sorted(unknown))}."
        )
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


# --- user administration (issue 15): deactivate, edit, reset password ----------------------


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


def login_managed_here(membership: Membership) -> bool:
    """May this org's admins change the member's name, email and password?

    Only for a user who belongs to this org alone and is not a superuser: the login is shared
    by every org the user belongs to, and an admin of one org who could change the email of a
    user of another could reset their password and act there (docs/users.md).
    """
    user = membership.user
    if user.is_superuser:
        return False
    return not Membership.objects.filter(user_id=user.pk).exclude(pk=membership.pk).exists()


NOT_MANAGED_HERE = (
    "{user} also belongs to another organization (or is a superuser): their name, email and "
    "password are managed by the installation's superusers."
)


DETAIL_WORDS = {"first_name": "first name", "last_name": "last name", "email": "email"}


@transaction.atomic
def update_member_details(
    *, membership: Membership, first_name: str, last_name: str, email: str, acting_user: Actor
) -> list[str]:
    """Change a member's name and email; returns what changed, as words for the message."""
    user = membership.user
    if not login_managed_here(membership):
        raise ValidationError(NOT_MANAGED_HERE.format(user=user.get_username()))
    new = {"first_name": first_name.strip(), "last_name": last_name.strip(), "email": email}
    changes = [
        f"{DETAIL_WORDS[name]} from “{getattr(user, name)}” to “{value}”"
        for name, value in new.items()
        if getattr(user, name) != value
    ]
    if not changes:
        return []
    for name, value in new.items():
        setattr(user, name, value)
    # Only what this form changes: a login made without a password (an API-only user of
    # the demo, say) is still a valid user to rename.
    user.full_clean(exclude=[f.name for f in User._meta.fields if f.name not in new])
    user.save(update_fields=list(new))
    record_audit(
        org=membership.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="changedUserDetails",
        message=f"Changed {user.get_username()}: {'; '.join(changes)}",
    )
    return changes


@transaction.atomic
def reset_member_password(
    *, membership: Membership, domain: str, use_https: bool, acting_user: Actor
) -> str:
    """Make the member's password unusable and email them a link to set a new one.

    Django's password-reset machinery makes the link (a one-time token that stops working once
    the password is set, or after PASSWORD_RESET_TIMEOUT). The old password stops working and
    open sessions end (Django ties them to the password hash). Returns the address written to.
    """
    from orgs.forms import MemberPasswordResetForm

    user = membership.user
    username = user.get_username()
    if not login_managed_here(membership):
        raise ValidationError(NOT_MANAGED_HERE.format(user=username))
    if not membership.is_active:
        raise ValidationError(f"{username} is deactivated: reactivate the user first.")
    if not user.email:
        raise ValidationError(
            f"{username} has no email address: add one with Edit, then reset the password."
        )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    form = MemberPasswordResetForm(user=user, data={"email": user.email})
    if not form.is_valid():  # the stored address no longer passes EmailField
        raise ValidationError(f"{username}'s email address is not valid: correct it with Edit.")
    form.save(
        domain_override=domain,
        use_https=use_https,
        subject_template_name="registration/member_password_reset_subject.txt",
        email_template_name="registration/member_password_reset_email.txt",
        extra_email_context={"org_name": membership.organization.name},
    )
    record_audit(
        org=membership.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="resetPassword",
        message=f"Reset the password of {username} (a link to set a new one was emailed)",
    )
    return user.email


# --- profiles made by admins (SPEC 1) -------------------------------------------------------


def _unique_profile_name(org: Organization, name: str, *, exclude: Profile | None = None) -> None:
    others = Profile.objects.filter(organization=org, name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise ValidationError({"name": "A profile with this name already exists."})


@transaction.atomic
def create_profile(
    *, org: Organization, name: str, source: Profile, description: str = "", acting_user: Actor
) -> Profile:
    """A new profile granting what `source` (a profile of the same org) grants."""
    if source.organization_id != org.pk:
        raise ValidationError("That profile belongs to another org.")
    _unique_profile_name(org, name)
    profile = Profile(
        organization=org,
        name=name,
        description=description,
        permissions=_clean_codes(list(source.permissions)),
    )
    profile.full_clean()
    profile.save()
    record_audit(
        org=org,
        acting_user=acting_user,
        section="Manage Users",
        action="createdProfile",
        message=f"Created profile {profile.name} by cloning {source.name}",
    )
    return profile


def _editable(profile: Profile) -> None:
    if profile.is_standard:
        raise ValidationError(
            f"{profile.name} is a standard profile and cannot be changed; clone it instead."
        )


@transaction.atomic
def update_profile(
    *,
    profile: Profile,
    name: str,
    description: str,
    permission_codes: list[str],
    acting_user: Actor,
) -> None:
    """Rename a profile made by an admin and change what it grants, for every member holding it."""
    _editable(profile)
    _unique_profile_name(profile.organization, name, exclude=profile)
    old_name, before = profile.name, set(profile.permissions)
    profile.name, profile.description = name, description
    profile.permissions = _clean_codes(permission_codes)
    profile.full_clean()
    profile.save(update_fields=["name", "description", "permissions"])
    for membership in profile.memberships.select_related("user", "profile", "organization"):
        access.sync_member_permissions(membership)
    added = [permissions.label_of(c) for c in profile.permissions if c not in before]
    removed = [permissions.label_of(c) for c in sorted(before) if c not in profile.permissions]
    renamed = f" (renamed from {old_name})" if old_name != name else ""
    record_audit(
        org=profile.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="changedProfile",
        message=f"Changed profile {profile.name}{renamed}: "
        f"added {', '.join(added) or 'nothing'}; removed {', '.join(removed) or 'nothing'}",
    )


@transaction.atomic
def delete_profile(*, profile: Profile, acting_user: Actor) -> None:
    """Delete a profile made by an admin that no member (active or not) holds."""
    _editable(profile)
    holders = profile.memberships.count()
    if holders:
        raise ValidationError(
            f"{profile.name} is the profile of {holders} user{'s' if holders > 1 else ''}: "
            f"give {'them' if holders > 1 else 'that user'} another profile first."
        )
    name = profile.name
    profile.delete()
    record_audit(
        org=profile.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="deletedProfile",
        message=f"Deleted profile {name}",
    )


# --- permission sets: rename, delete --------------------------------------------------------


@transaction.atomic
def rename_permission_set(
    *, pset: PermissionSet, label: str, api_name: str, description: str, acting_user: Actor
) -> None:
    """Change a permission set's label, API name and description (not what it grants)."""
    taken = PermissionSet.objects.filter(
        organization_id=pset.organization_id, api_name__iexact=api_name
    ).exclude(pk=pset.pk)
    if taken.exists():
        raise ValidationError({"api_name": "A permission set with this API Name already exists."})
    old_label, old_api_name = pset.label, pset.api_name
    pset.label, pset.api_name, pset.description = label, api_name, description
    pset.full_clean()
    pset.save(update_fields=["label", "api_name", "description"])
    changes = [
        f"{what} from {old} to {new}"
        for what, old, new in (("label", old_label, label), ("API name", old_api_name, api_name))
        if old != new
    ]
    record_audit(
        org=pset.organization,
        acting_user=acting_user,
        section="Permission Sets",
        action="renamedPermSet",
        message=f"Changed permission set {pset.label}: {'; '.join(changes) or 'description'}",
    )


@transaction.atomic
def delete_permission_set(*, pset: PermissionSet, acting_user: Actor) -> None:
    """Delete a permission set no member holds (Salesforce refuses an assigned one too)."""
    holders = sorted(pset.memberships.values_list("user__username", flat=True))
    if holders:
        raise ValidationError(
            f"{pset.label} is assigned to {', '.join(holders)}: remove it from "
            f"{'them' if len(holders) > 1 else 'that user'} first."
        )
    label = pset.label
    pset.delete()
    record_audit(
        org=pset.organization,
        acting_user=acting_user,
        section="Permission Sets",
        action="deletedPermSet",
        message=f"Deleted permission set {label}",
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
