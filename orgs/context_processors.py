"""The Setup navigation, built from what the gate already knows about the request."""

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch

from orgs import permissions
from orgs.links import current_urlconf, org_url

# (label, URL name, permission that opens it). Sections appear once their app has the URL.
SETUP_TREE: list[tuple[str, list[tuple[str, str, str | None]]]] = [
    (
        "Security",
        [
            (
                "Certificate and Key Management",
                "certadmin:certificate-list",
                permissions.MANAGE_CERTIFICATES.codename,
            ),
            (
                "Expired Certificates",
                "certadmin:certificate-expired",
                permissions.MANAGE_CERTIFICATES.codename,
            ),
            (
                "Expiration Notifications",
                "notifications:settings",
                permissions.MANAGE_CERTIFICATES.codename,
            ),
            (
                "Master Encryption Keys",
                "keys:key-list",
                permissions.MANAGE_ENCRYPTION_KEYS.codename,
            ),
            ("Single Sign-On", "certadmin:sso-list", permissions.CUSTOMIZE_APPLICATION.codename),
            (
                "Identity Provider",
                "certadmin:idp-settings",
                permissions.CUSTOMIZE_APPLICATION.codename,
            ),
            ("Setup Audit Trail", "orgs:audit-trail", permissions.MODIFY_ALL_DATA.codename),
        ],
    ),
    (
        "Contacts",
        [
            ("Contacts", "keys:contact-list", None),
            (
                "Encrypted Fields",
                "keys:field-list",
                permissions.CUSTOMIZE_APPLICATION.codename,
            ),
        ],
    ),
    (
        "Users",
        [
            ("Users", "orgs:user-list", permissions.MODIFY_ALL_DATA.codename),
            (
                "Profiles and Permission Sets",
                "orgs:profile-list",
                permissions.MODIFY_ALL_DATA.codename,
            ),
        ],
    ),
    # Every member manages their own API tokens (issue 7).
    ("My Settings", [("API Tokens", "certadmin:token-list", None)]),
]


def setup(request: HttpRequest) -> dict[str, Any]:
    org = getattr(request, "org", None)
    if org is None:
        return {}
    held = getattr(request, "perms", frozenset())
    urlconf = current_urlconf()
    tree = []
    for heading, items in SETUP_TREE:
        links = []
        for label, url_name, perm in items:
            try:
                url = org_url(url_name, org.public_id, urlconf)
            except NoReverseMatch:
                continue  # that section's app is not installed in this build
            links.append(
                {
                    "label": label,
                    "find_label": label.lower(),  # what Quick Find matches
                    "url": url,
                    "allowed": perm is None or perm in held,
                    "active": request.path.startswith(url),
                }
            )
        if links:
            tree.append({"heading": heading, "links": links})
    return {
        "org": org,
        "setup_tree": tree,
        "can": {perm.codename: perm.codename in held for perm in permissions.CATALOGUE},
    }
