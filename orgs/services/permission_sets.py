"""Permission sets: made by an org's admins, assigned to members on top of their profile."""

from django.core.exceptions import ValidationError
from django.db import transaction

from orgs import access
from orgs.models import Membership, Organization, PermissionSet
from orgs.services.audit import Actor, record_audit
from orgs.services.grants import clean_codes, regrant


def _unique_api_name(
    org: Organization, api_name: str, *, exclude: PermissionSet | None = None
) -> None:
    others = PermissionSet.objects.filter(organization=org, api_name__iexact=api_name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise ValidationError({"api_name": "A permission set with this API Name already exists."})


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
    _unique_api_name(org, api_name)
    pset = PermissionSet(
        organization=org,
        label=label,
        api_name=api_name,
        description=description,
        permissions=clean_codes(permission_codes),
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
    pset.permissions = clean_codes(permission_codes)
    pset.save(update_fields=["permissions"])
    change = regrant(pset, before=before)
    record_audit(
        org=pset.organization,
        acting_user=acting_user,
        section="Permission Sets",
        action="changedPermSet",
        message=f"Changed permission set {pset.label}: {change}",
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
def rename_permission_set(
    *, pset: PermissionSet, label: str, api_name: str, description: str, acting_user: Actor
) -> None:
    """Change a permission set's label, API name and description (not what it grants)."""
    _unique_api_name(pset.organization, api_name, exclude=pset)
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
