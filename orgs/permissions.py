"""The permission catalogue (SPEC 1) and how profiles and permission sets grant it.

Effective permissions are django-guardian object permissions on the Organization row;
`orgs.access.sync_member_permissions` keeps them in step with what this module computes.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django_stubs_ext import StrPromise


@dataclass(frozen=True)
class Perm:
    codename: str
    label: str
    description: str

    @property
    def full(self) -> str:
        """The name `user.has_perm()` takes: "orgs.<codename>"."""
        return f"orgs.{self.codename}"


MANAGE_CERTIFICATES = Perm(
    "manage_certificates",
    "Manage Certificates",
    "Create, edit, upload, import, export and delete certificates and mutual-authentication "
    "certificates.",
)
RECEIVE_EXPIRATION_NOTIFICATIONS = Perm(
    "receive_certificate_expiration_notifications",
    "Receive Certificate Expiration Notifications",
    "Receive every expiration notice of the org's certificates.",
)
MODIFY_ALL_DATA = Perm(
    "modify_all_data",
    "Modify All Data",
    "Manage users, profiles and permission sets; view the Setup Audit Trail.",
)
MANAGE_ENCRYPTION_KEYS = Perm(
    "manage_encryption_keys", "Manage Encryption Keys", "Archive, export, destroy master keys."
)
VIEW_ENCRYPTED_DATA = Perm(
    "view_encrypted_data", "View Encrypted Data", "See encrypted field values unmasked."
)
CUSTOMIZE_APPLICATION = Perm(
    "customize_application",
    "Customize Application",
    "Define encrypted custom fields and single sign-on settings.",
)
ENFORCE_MUTUAL_AUTHENTICATION = Perm(
    "enforce_mutual_authentication",
    "Enforce SSL/TLS Mutual Authentication",
    "API requests must present a registered client certificate over the mutual-TLS listener.",
)
API_ONLY_USER = Perm(
    "api_only_user", "API Only User", "May use the API only; cannot log in to Setup."
)

CATALOGUE: tuple[Perm, ...] = (
    MANAGE_CERTIFICATES,
    RECEIVE_EXPIRATION_NOTIFICATIONS,
    MODIFY_ALL_DATA,
    MANAGE_ENCRYPTION_KEYS,
    VIEW_ENCRYPTED_DATA,
    CUSTOMIZE_APPLICATION,
    ENFORCE_MUTUAL_AUTHENTICATION,
    API_ONLY_USER,
)
BY_CODENAME: dict[str, Perm] = {perm.codename: perm for perm in CATALOGUE}
# Typed as Django's Meta.permissions is (a list is invariant in its item type).
CHOICES: list[tuple[str, str | StrPromise]] = [(perm.codename, perm.label) for perm in CATALOGUE]

SYSTEM_ADMINISTRATOR = "System Administrator"
STANDARD_USER = "Standard User"
# SPEC 1, to the letter: System Administrator grants every permission except the last
# three of the catalogue (Customize Application, Enforce SSL/TLS Mutual Authentication,
# API Only User) and Receive Certificate Expiration Notifications. Those come from
# permission sets.
STANDARD_PROFILES: dict[str, frozenset[str]] = {
    SYSTEM_ADMINISTRATOR: frozenset(
        perm.codename
        for perm in CATALOGUE
        if perm
        not in (
            RECEIVE_EXPIRATION_NOTIFICATIONS,
            CUSTOMIZE_APPLICATION,
            ENFORCE_MUTUAL_AUTHENTICATION,
            API_ONLY_USER,
        )
    ),
    STANDARD_USER: frozenset(),
}


def label_of(perm: str) -> str:
    """The label of "orgs.manage_certificates" or "manage_certificates"."""
    codename = perm.removeprefix("orgs.")
    return BY_CODENAME[codename].label if codename in BY_CODENAME else codename


def effective_codenames(grants: Iterable[Iterable[str]]) -> frozenset[str]:
    """The union of what a profile and permission sets grant, limited to the catalogue."""
    return frozenset(code for grant in grants for code in grant if code in BY_CODENAME)
