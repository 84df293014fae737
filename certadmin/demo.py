"""The demo org `make run` loads: idempotent, with fresh passwords printed each time."""

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from certadmin.models import Certificate
from certadmin.services import certificates
from orgs import permissions
from orgs.models import Membership, Organization, PermissionSet
from orgs.services import members, organizations, permission_sets, profiles

DEMO_ORG_NAME = "Acme Demo"


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str


def _user(username: str, email: str, *, superuser: bool = False) -> tuple[User, str]:
    password = secrets.token_urlsafe(9)
    user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    user.is_superuser = user.is_staff = superuser
    user.save()
    return user, password


def _demo_certificates(org: Organization) -> None:
    """A few certificates so the Certificate and Key Management page has something to show."""
    if Certificate.objects.filter(organization=org).exists():
        return
    certificates.create_self_signed(
        org=org, label="Payments Signing", unique_name="Payments_Signing", key_type="RSA-2048",
        acting_user=None,
    )  # fmt: skip
    certificates.create_self_signed(
        org=org, label="API Gateway", unique_name="API_Gateway", key_type="EC-P256",
        exportable=False, acting_user=None,
    )  # fmt: skip
    certificates.create_ca_signed(
        org=org,
        label="Web Server",
        unique_name="Web_Server",
        key_type="RSA-2048",
        subject=certificates.SubjectFields(
            common_name="www.acme.example", company="Acme Demo", country="US"
        ),
        acting_user=None,
    )


@transaction.atomic
def load_demo() -> tuple[Organization, list[DemoLogin]]:
    """Create (or refresh) the demo org, its admin, standard user and a superuser."""
    org = Organization.objects.filter(name=DEMO_ORG_NAME).first()
    if org is None:
        org = organizations.create_organization(name=DEMO_ORG_NAME, acting_user=None)
    admin, admin_pw = _user("admin", "admin@acme.example")
    user, user_pw = _user("user", "user@acme.example")
    _root, root_pw = _user("root", "root@acme.example", superuser=True)
    sysadmin = profiles.standard_profile(org, permissions.SYSTEM_ADMINISTRATOR)
    for member, profile in ((admin, sysadmin), (user, None)):
        if not Membership.objects.filter(organization=org, user=member).exists():
            members.add_member(org=org, user=member, profile=profile, acting_user=None)
    pset = PermissionSet.objects.filter(organization=org, api_name="Certificate_Admins").first()
    if pset is None:
        pset = permission_sets.create_permission_set(
            org=org,
            label="Certificate Admins",
            api_name="Certificate_Admins",
            description="Expiry notices and application customization for the demo admin.",
            permission_codes=[
                permissions.RECEIVE_EXPIRATION_NOTIFICATIONS.codename,
                permissions.CUSTOMIZE_APPLICATION.codename,
            ],
            acting_user=None,
        )
    permission_sets.assign_permission_set(
        membership=Membership.objects.get(organization=org, user=admin),
        pset=pset,
        acting_user=None,
    )
    _demo_certificates(org)
    logins = [
        DemoLogin("admin", admin_pw, "System Administrator of the demo org"),
        DemoLogin("user", user_pw, "Standard User of the demo org"),
        DemoLogin("root", root_pw, "superuser (Django admin at /admin/)"),
    ]
    return org, logins
