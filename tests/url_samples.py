"""Sample values for URL keyword arguments, used by the URL-matrix test.

Every URL pattern of the project is walked; each keyword argument other than `org` needs a
sample object of the victim org here. A new kwarg without a sample makes the matrix fail,
so no page escapes the tenancy and permission checks.
"""

from collections.abc import Callable

from django.contrib.auth.models import User

from orgs.models import Membership, Organization, PermissionSet

from . import conftest


def _member(org: Organization) -> str:
    user = User.objects.create(username=f"sample-{Membership.objects.count()}")
    return str(conftest.services.add_member(org=org, user=user, acting_user=None).uuid)


def _pset(org: Organization) -> str:
    pset = conftest.services.create_permission_set(
        org=org,
        label="Sample",
        api_name=f"Sample_{PermissionSet.objects.count()}",
        permission_codes=[],
        acting_user=None,
    )
    return str(pset.uuid)


def _certificate(org: Organization) -> str:
    from certadmin.services import certificates

    certificate = certificates.create_ca_signed(
        org=org,
        label="Sample",
        unique_name=f"Sample_{org.certificates.count()}",
        key_type="EC-P256",
        subject=certificates.SubjectFields(common_name="sample.test"),
        acting_user=None,
    )
    return str(certificate.uuid)


SAMPLES: dict[str, Callable[[Organization], str]] = {
    "member": _member,
    "pset": _pset,
    "certificate": _certificate,
}
