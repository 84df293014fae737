"""Login for the Setup pages."""

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.core.validators import MaxLengthValidator

from orgs.access import held_permissions
from orgs.models import Membership, Organization
from orgs.permissions import API_ONLY_USER


class SetupAuthenticationForm(AuthenticationForm):
    """Refuses users who are API Only in every org they belong to (SPEC 5), and users whose
    every membership is deactivated."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # AuthenticationForm sets the username's max_length after the field is built, which
        # adds no validator: an over-long name reached authenticate(), and django-axes failed
        # to record it (a 500 on PostgreSQL, whose column holds 255 characters).
        username = self.fields["username"]
        assert isinstance(username, forms.CharField)
        assert username.max_length is not None
        username.validators.append(MaxLengthValidator(username.max_length))

    def clean(self) -> dict[str, Any]:
        """A refused login marks both fields invalid, pointing at the error summary (a wrong
        password is the form's error, not a field's, so Django marks neither)."""
        try:
            return super().clean()
        except forms.ValidationError:
            for name in ("username", "password"):
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": "error-summary-list"}
                )
            raise

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.is_superuser:
            return
        if (
            Membership.objects.filter(user=user).exists()
            and not Membership.objects.filter(user=user, is_active=True).exists()
        ):
            raise forms.ValidationError(
                "This user is deactivated in every organization it belongs to. "
                "Ask an administrator to reactivate it.",
                code="inactive_member",
            )
        orgs = list(
            Organization.objects.filter(memberships__user=user, memberships__is_active=True)
        )
        if orgs and all(API_ONLY_USER.codename in held_permissions(user, org) for org in orgs):
            raise forms.ValidationError(
                "This user is an API Only user and cannot log in to Setup. "
                "Use an API token instead.",
                code="api_only",
            )
