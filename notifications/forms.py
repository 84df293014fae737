from typing import Any

from django import forms

from certadmin.models import NamedCredential
from notifications.models import NotificationChannel
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


class ChannelForm(forms.Form):
    """A webhook notification channel: a plain URL or a named credential."""

    name = forms.CharField(max_length=80, help_text="How this channel is called on this page.")
    format = forms.ChoiceField(
        choices=NotificationChannel.Format.choices,
        initial=NotificationChannel.Format.JSON,
        help_text="Generic JSON (one object per notice), or a Slack or Microsoft Teams "
        "incoming-webhook message.",
    )
    send_via = forms.ChoiceField(
        label="Send To",
        choices=[("url", "The URL below"), ("credential", "A named credential")],
        initial="url",
        widget=forms.RadioSelect,
    )
    url = forms.URLField(
        label="URL",
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="The webhook URL, e.g. https://hooks.slack.com/services/...",
    )
    named_credential = forms.ModelChoiceField(
        NamedCredential.objects.none(),
        to_field_name="uuid",
        required=False,
        label="Named Credential",
        help_text="Posts to the credential's URL presenting its certificate (mutual TLS), "
        "signed if the credential signs requests.",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["named_credential"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = NamedCredential.objects.filter(organization=org).order_by("label")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("send_via") == "credential":
            data["url"] = ""
            if not data.get("named_credential") and "named_credential" not in self.errors:
                self.add_error("named_credential", "Choose the named credential to send through.")
        elif data.get("send_via") == "url":
            data["named_credential"] = None
            if not data.get("url") and "url" not in self.errors:
                self.add_error("url", "Give the webhook URL.")
        return data
