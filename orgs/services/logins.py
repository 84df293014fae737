"""A member's login (name, email, password): shared by every org the user belongs to, so
changed here only for a user of this org alone (docs/users.md)."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from orgs.models import Membership
from orgs.services.audit import Actor, record_audit


def login_managed_here(membership: Membership) -> bool:
    """May this org's admins change the member's name, email and password?

    Only for a user who belongs to this org alone and is not a superuser: the login is shared
    by every org the user belongs to, and an admin of one org who could change the email of a
    user of another could reset their password and act there (docs/users.md).
    """
    user = membership.user
    if user.is_superuser:
        return False
    return not Membership.objects.filter(user_id=user.pk).exclude(pk=membership.pk).exists()


NOT_MANAGED_HERE = (
    "{user} also belongs to another organization (or is a superuser): their name, email and "
    "password are managed by the installation's superusers."
)


DETAIL_WORDS = {"first_name": "first name", "last_name": "last name", "email": "email"}


@transaction.atomic
def update_member_details(
    *, membership: Membership, first_name: str, last_name: str, email: str, acting_user: Actor
) -> list[str]:
    """Change a member's name and email; returns what changed, as words for the message."""
    user = membership.user
    if not login_managed_here(membership):
        raise ValidationError(NOT_MANAGED_HERE.format(user=user.get_username()))
    new = {"first_name": first_name.strip(), "last_name": last_name.strip(), "email": email}
    changes = [
        f"{DETAIL_WORDS[name]} from “{getattr(user, name)}” to “{value}”"
        for name, value in new.items()
        if getattr(user, name) != value
    ]
    if not changes:
        return []
    for name, value in new.items():
        setattr(user, name, value)
    # Only what this form changes: a login made without a password (an API-only user of
    # the demo, say) is still a valid user to rename.
    user.full_clean(exclude=[f.name for f in User._meta.fields if f.name not in new])
    user.save(update_fields=list(new))
    record_audit(
        org=membership.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="changedUserDetails",
        message=f"Changed {user.get_username()}: {'; '.join(changes)}",
    )
    return changes


@transaction.atomic
def reset_member_password(
    *, membership: Membership, domain: str, use_https: bool, acting_user: Actor
) -> str:
    """Make the member's password unusable and email them a link to set a new one.

    Django's password-reset machinery makes the link (a one-time token that stops working once
    the password is set, or after PASSWORD_RESET_TIMEOUT). The old password stops working and
    open sessions end (Django ties them to the password hash). Returns the address written to.
    """
    from orgs.forms import MemberPasswordResetForm

    user = membership.user
    username = user.get_username()
    if not login_managed_here(membership):
        raise ValidationError(NOT_MANAGED_HERE.format(user=username))
    if not membership.is_active:
        raise ValidationError(f"{username} is deactivated: reactivate the user first.")
    if not user.email:
        raise ValidationError(
            f"{username} has no email address: add one with Edit, then reset the password."
        )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    form = MemberPasswordResetForm(user=user, data={"email": user.email})
    if not form.is_valid():  # the stored address no longer passes EmailField
        raise ValidationError(f"{username}'s email address is not valid: correct it with Edit.")
    form.save(
        domain_override=domain,
        use_https=use_https,
        subject_template_name="registration/member_password_reset_subject.txt",
        email_template_name="registration/member_password_reset_email.txt",
        extra_email_context={"org_name": membership.organization.name},
    )
    record_audit(
        org=membership.organization,
        acting_user=acting_user,
        section="Manage Users",
        action="resetPassword",
        message=f"Reset the password of {username} (a link to set a new one was emailed)",
    )
    return user.email
