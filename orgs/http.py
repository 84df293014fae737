from django.contrib.auth.models import User
from django.http import HttpRequest

from orgs.models import Membership, Organization


class OrgRequest(HttpRequest):
    """An HttpRequest that has passed @org_member_required."""

    user: User
    org: Organization
    membership: Membership
    perms: frozenset[str]  # codenames of orgs.permissions the user holds in `org`


def form_status(form: object) -> int:
    """400 for a form page answering a submission with errors, else 200."""
    return 400 if getattr(form, "is_bound", False) and getattr(form, "errors", None) else 200
