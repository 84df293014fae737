"""The API token form (My Settings): parsing only, no writes."""

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import QuerySet

from certadmin.services.tokens import EXPIRY_CHOICES


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What uses the token, e.g. “Deploy pipeline”. Shown in lists and the audit "
        "trail.",
    )
    expires = forms.ChoiceField(
        label="Expires",
        choices=[
            ("30", "In 30 days"),
            ("90", "In 90 days"),
            ("365", "In a year"),
            ("never", "Never"),
        ],
        initial="90",
    )
    user = forms.ModelChoiceField(
        label="For user",
        queryset=User.objects.none(),
        required=False,
        help_text="Admins (Modify All Data) may make a token for another member, e.g. an API "
        "Only user, who cannot open these pages. Leave empty for yourself.",
    )

    def __init__(self, *args: Any, members: QuerySet[User] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        if members is None:
            del self.fields["user"]
        else:
            user = self.fields["user"]
            assert isinstance(user, forms.ModelChoiceField)  # declared above
            user.queryset = members

    @property
    def expires_in_days(self) -> int | None:
        return EXPIRY_CHOICES[self.cleaned_data["expires"]]
