"""Creating an organization."""

from django.db import transaction

from orgs import permissions
from orgs.models import Organization, Profile
from orgs.services.audit import Actor, record_audit


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
