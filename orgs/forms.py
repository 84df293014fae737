from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, cast

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from orgs import permissions
from orgs.models import Membership, Organization, PermissionSet, Profile
from orgs.naming import api_name_from


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


API_NAME_RULES = (
    "The API Name must begin with a letter, contain only letters, digits and single "
    "underscores, and not end with an underscore."
)


class PermissionSetPropertiesForm(forms.Form):
    """Label, API Name and description: the API Name is made from the Label when left blank,
    so the first Save works without the page's script."""

    label = forms.CharField(max_length=80)
    api_name = forms.CharField(
        label="API Name",
        max_length=80,
        required=False,
        help_text="Letters, digits and single underscores; begins with a letter. Left blank, "
        "it is made from the Label.",
        widget=forms.TextInput(attrs={"data-unique-name-target": ""}),
    )
    description = forms.CharField(max_length=255, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["label"].widget.attrs["data-unique-name-source"] = ""

    def clean_api_name(self) -> str:
        value: str = self.cleaned_data["api_name"].strip()
        if value and not API_NAME_RE.match(value):
            raise ValidationError(API_NAME_RULES)
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "api_name" in cleaned and not cleaned["api_name"] and cleaned.get("label"):
            made = api_name_from(cleaned["label"])
            if made:
                cleaned["api_name"] = made
            else:
                self.add_error(
                    "api_name",
                    "The Label has no letters or digits to make an API Name from: type one.",
                )
        return cleaned


class PermissionSetForm(PermissionSetPropertiesForm):
    permission_codes = forms.MultipleChoiceField(
        label="Permissions",
        choices=permissions.CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


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


class FederationIdForm(forms.Form):
    federation_id = forms.CharField(
        label="Federation ID",
        max_length=255,
        required=False,
        help_text="The NameID your identity provider sends for this user (SAML single "
        "sign-on to this org). Blank: this user cannot log in with single sign-on.",
    )


class MemberDetailsForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(max_length=254)


class ProfileCreateForm(forms.Form):
    source = forms.ModelChoiceField(
        label="Existing profile",
        queryset=Profile.objects.none(),
        to_field_name="uuid",
        empty_label=None,
        help_text="The new profile starts with the permissions of this one.",
    )
    name = forms.CharField(label="Profile name", max_length=80)
    description = forms.CharField(max_length=255, required=False)

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice(self, "source").queryset = Profile.objects.filter(organization=org)


class ProfileEditForm(forms.Form):
    name = forms.CharField(label="Profile name", max_length=80)
    description = forms.CharField(max_length=255, required=False)
    permission_codes = forms.MultipleChoiceField(
        label="Permissions",
        choices=permissions.CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class MemberPasswordResetForm(PasswordResetForm):
    """Django's password reset email for one given user (the form itself looks every active
    user with the address up, and skips those without a usable password)."""

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def get_users(self, email: str) -> Iterator[User]:
        yield self.user


class ListSearchForm(forms.Form):
    """The search box of a list page (a GET form; orgs.listing.ListState reads `q` itself, so
    this form only renders the field, through Django's field rendering as every field is)."""

    q = forms.CharField(
        label="Search certificates",
        required=False,
        max_length=100,
        widget=forms.SearchInput(
            attrs={"placeholder": "Label, Unique Name, subject, issuer, serial or fingerprint"}
        ),
    )
