"""Profiles: the two standard ones every org has, and the ones its admins make (SPEC 1)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from orgs.models import Organization, Profile
from orgs.services.audit import Actor, record_audit
from orgs.services.grants import clean_codes, regrant


def standard_profile(org: Organization, name: str) -> Profile:
    return Profile.objects.get(organization=org, name=name)


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
        permissions=clean_codes(list(source.permissions)),
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
    profile.permissions = clean_codes(permission_codes)
    profile.full_clean()
    profile.save(update_fields=["name", "description", "permissions"])
    change = regrant(profile, before=before)
    renamed = f" (renamed from {old_name})" if old_name != name else ""
    record_audit(
        org=profile.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="changedProfile",
        message=f"Changed profile {profile.name}{renamed}: {change}",
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
