"""Services of the keys app, one module per concern:

- `kek`: rewrap every sealed secret under the primary KEK (`manage.py rotate_kek`);
- `master_keys`: an org's master keys (create, rotate, export, destroy, import);
- `contacts`: encrypted custom fields on Contacts, and the contacts;
- `reencryption`: the "Re-encrypt all data now" job and its status.

Every write records a Setup Audit Trail line; none of them ever carries key material, a
password or an encrypted value.
"""

from django.contrib.auth.models import User

from orgs.services.audit import Actor


def actor_name(acting_user: Actor) -> str:
    """Who did it, for a `created_by`-style column: the username, or "system" for a job."""
    return acting_user.get_username() if isinstance(acting_user, User) else "system"
