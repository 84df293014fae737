"""What the user-administration pages (users, profiles, permission sets, the audit trail)
check first: Modify All Data, and the member a URL names."""

from orgs import permissions
from orgs.access import get_for_member
from orgs.http import OrgRequest
from orgs.models import Membership

MANAGE_USERS = permissions.MODIFY_ALL_DATA.full


def get_member(request: OrgRequest, member: str) -> Membership:
    """The member of this org whose uuid is `member` (with user and profile), or 404/403."""
    return get_for_member(
        request, Membership.objects.select_related("user", "profile"), MANAGE_USERS, uuid=member
    )
