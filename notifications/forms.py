from typing import Any

from django import forms

from orgs.models import Membership, Organization


class MemberChoiceField(forms.ModelChoiceField[Membership]):
    """Members listed by username."""

    def label_from_instance(self, obj: Membership) -> str:
        return obj.user.get_username()


class MemberForm(forms.Form):
    """One member of the org, by the membership's uuid (never a user id from another org)."""

    member = MemberChoiceField(
        queryset=Membership.objects.none(),
        to_field_name="uuid",
        label="User",
        empty_label=None,
        error_messages={"invalid_choice": "Choose a user of this org."},
    )

    def __init__(self, *args: Any, org: Organization, exclude_user_ids: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        members = Membership.objects.filter(organization=org, is_active=True, user__is_active=True)
        field = self.fields["member"]
        assert isinstance(field, MemberChoiceField)
        field.queryset = (
            members.exclude(user_id__in=list(exclude_user_ids))
            .select_related("user")
            .order_by("user__username")
        )
