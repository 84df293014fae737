"""Who holds Receive Certificate Expiration Notifications (SPEC 4): the standard permission
set the Expiration Notifications page grants and revokes, through orgs.services.permission_sets."""

from django.core.exceptions import ValidationError
from django.db import transaction

from notifications.recipients import RECEIVE
from orgs.models import Membership, Organization, PermissionSet
from orgs.services import permission_sets
from orgs.services.audit import Actor

PERMISSION_SET_LABEL = "Certificate Expiration Notifications"
PERMISSION_SET_API_NAME = "Certificate_Expiration_Notifications"


def notification_permission_set(org: Organization) -> PermissionSet | None:
    """The org's standard permission set for expiration notices, if it was created."""
    return PermissionSet.objects.filter(
        organization=org, api_name__iexact=PERMISSION_SET_API_NAME
    ).first()


@transaction.atomic
def ensure_notification_permission_set(*, org: Organization, acting_user: Actor) -> PermissionSet:
    """The standard permission set granting Receive Certificate Expiration Notifications,
    created on first use (through orgs.services.permission_sets, which records it in the audit
    trail)."""
    pset = notification_permission_set(org)
    if pset is not None:
        return pset
    return permission_sets.create_permission_set(
        org=org,
        label=PERMISSION_SET_LABEL,
        api_name=PERMISSION_SET_API_NAME,
        permission_codes=[RECEIVE],
        description="Receive the email notices of certificates about to expire.",
        acting_user=acting_user,
    )


@transaction.atomic
def grant_expiration_notifications(*, membership: Membership, acting_user: Actor) -> bool:
    """Give a member every expiration notice by assigning the standard permission set.

    False if they already had that set. Raise ValidationError if the set was edited so it
    grants anything else than exactly that permission: this page needs only Manage
    Certificates, so it must never hand out more (e.g. Modify All Data).
    """
    pset = ensure_notification_permission_set(org=membership.organization, acting_user=acting_user)
    if set(pset.permissions) != {RECEIVE}:
        raise ValidationError(
            f"The permission set {pset.label} must grant exactly Receive Certificate Expiration "
            "Notifications; it was changed under Profiles and Permission Sets, so assign it there."
        )
    return permission_sets.assign_permission_set(
        membership=membership, pset=pset, acting_user=acting_user
    )


@transaction.atomic
def revoke_expiration_notifications(*, membership: Membership, acting_user: Actor) -> bool:
    """Remove the standard permission set from a member; False if they did not have it.

    A member may still hold the permission through their profile or another permission set:
    those are changed under Profiles and Permission Sets, not here.
    """
    pset = notification_permission_set(membership.organization)
    if pset is None:
        return False
    return permission_sets.remove_permission_set(
        membership=membership, pset=pset, acting_user=acting_user
    )
