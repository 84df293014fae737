"""Login for the Setup pages."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User

from orgs.access import held_permissions
from orgs.models import Organization
from orgs.permissions import API_ONLY_USER


class SetupAuthenticationForm(AuthenticationForm):
    """Refuses users who are API Only in every org they belong to (SPEC 5)."""

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.is_superuser:
            return
        orgs = list(Organization.objects.filter(memberships__user=user))
        if orgs and all(API_ONLY_USER.codename in held_permissions(user, org) for org in orgs):
            raise forms.ValidationError(
                "This user is an API Only user and cannot log in to Setup. "
                "Use an API token instead.",
                code="api_only",
            )
