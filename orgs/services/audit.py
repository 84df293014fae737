"""The Setup Audit Trail: every write of every app records itself here."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

from orgs.models import AuditEvent, Organization

Actor = User | AbstractBaseUser | AnonymousUser | None


def record_audit(
    *, org: Organization, acting_user: Actor, section: str, action: str, message: str
) -> AuditEvent:
    """Write one line of the Setup Audit Trail. `acting_user=None` means "system" (a job).

    Callers pass readable sentences and never a secret (keys, passwords, encrypted values).
    """
    user = acting_user if isinstance(acting_user, User) and acting_user.pk else None
    return AuditEvent.objects.create(
        organization=org,
        actor=user,
        actor_name=user.get_username() if user else "system",
        section=section,
        action=action,
        message=message[:500],
    )
