"""What profiles and permission sets share: the permission codes they grant, and bringing the
members who hold one in step when that changes."""

from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from orgs import access, permissions
from orgs.models import PermissionSet, Profile


def clean_codes(codes: list[str]) -> list[str]:
    """`codes` in catalogue order; ValidationError naming any code the catalogue lacks."""
    unknown = set(codes) - set(permissions.BY_CODENAME)
    if unknown:
        raise ValidationError(
            f"Unknown {ngettext('permission', 'permissions', len(unknown))}: "
            f"{', '.join(sorted(unknown))}."
        )
    return [perm.codename for perm in permissions.CATALOGUE if perm.codename in codes]


def regrant(holder: Profile | PermissionSet, *, before: set[str]) -> str:
    """Give every member holding `holder` what it grants now, and describe the change since
    `before` for the audit trail: "added A, B; removed C" (permission labels)."""
    for membership in holder.memberships.select_related("user", "profile", "organization"):
        access.sync_member_permissions(membership)
    added = [permissions.label_of(c) for c in holder.permissions if c not in before]
    removed = [permissions.label_of(c) for c in sorted(before) if c not in holder.permissions]
    return f"added {', '.join(added) or 'nothing'}; removed {', '.join(removed) or 'nothing'}"
