from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from orgs import permissions
from orgs.models import Membership, Organization, PermissionSet, Profile


def _choice(form: forms.Form, name: str) -> forms.ModelChoiceField[Any]:
    """The form's model choice field `name` (its queryset is set per request)."""
    return cast("forms.ModelChoiceField[Any]", form.fields[name])


class MemberChoiceField(forms.ModelChoiceField["Membership"]):
    """Members listed by username."""

    def label_from_instance(self, obj: Membership) -> str:
        return obj.user.get_username()


API_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")


class ProfileChoiceForm(forms.Form):
    profile = forms.ModelChoiceField(queryset=Profile.objects.none(), empty_label=None)

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice(self, "profile").queryset = Profile.objects.filter(organization=org)


class PermissionSetForm(forms.Form):
    label = forms.CharField(max_length=80)
    api_name = forms.CharField(
        label="API Name",
        max_length=80,
        help_text="Letters, digits and single underscores; begins with a letter.",
    )
    description = forms.CharField(max_length=255, required=False)
    permission_codes = forms.MultipleChoiceField(
        label="Permissions",
        choices=permissions.CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def clean_api_name(self) -> str:
        value: str = self.cleaned_data["api_name"]
        if not API_NAME_RE.match(value):
            raise ValidationError(
                "The API Name must begin with a letter, contain only letters, digits and "
                "single underscores, and not end with an underscore."
            )
        return value


class PermissionSetPermissionsForm(forms.Form):
    permission_codes = forms.MultipleChoiceField(
        label="Permissions",
        choices=permissions.CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class AssignPermissionSetForm(forms.Form):
    membership = MemberChoiceField(
        label="User", queryset=Membership.objects.none(), to_field_name="uuid"
    )

    def __init__(self, *args: Any, pset: PermissionSet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice(self, "membership").queryset = (
            Membership.objects.filter(organization_id=pset.organization_id)
            .exclude(permission_sets=pset)
            .select_related("user")
        )


class MemberPermissionSetForm(forms.Form):
    permission_set = forms.ModelChoiceField(
        queryset=PermissionSet.objects.none(), to_field_name="uuid"
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice(self, "permission_set").queryset = PermissionSet.objects.filter(
            organization_id=membership.organization_id
        ).exclude(memberships=membership)


class NewUserForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField()
    profile = forms.ModelChoiceField(queryset=Profile.objects.none(), empty_label=None)
    password = forms.CharField(
        widget=forms.PasswordInput, help_text="The user can change it after logging in."
    )

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice(self, "profile").queryset = Profile.objects.filter(organization=org)

    def clean(self) -> dict[str, object]:
        from django.contrib.auth.password_validation import validate_password

        cleaned = super().clean() or {}
        if cleaned.get("password"):
            try:
                validate_password(str(cleaned["password"]))
            except ValidationError as exc:
                self.add_error("password", exc)
        return cleaned
