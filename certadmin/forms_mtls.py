"""Forms of the mutual authentication and API token pages: parsing only, no writes."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from certadmin import crypto
from certadmin.forms import NamesForm, read_upload
from certadmin.services.tokens import EXPIRY_CHOICES


class MutualAuthUploadForm(NamesForm):
    certificate = forms.FileField(
        label="Certificate file",
        help_text="PEM: the client certificate and its chain (intermediates; the root may be "
        "left out). Any order: it is stored client certificate first.",
        allow_empty_file=True,
    )

    def clean_certificate(self) -> bytes:
        data = read_upload(self.cleaned_data["certificate"], "certificate file")
        try:
            crypto.parse_certificates(data, max_bytes=settings.CERTADMIN_UPLOAD_MAX_BYTES)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        return data


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
            self.fields["user"].queryset = members  # type: ignore[attr-defined]

    @property
    def expires_in_days(self) -> int | None:
        return EXPIRY_CHOICES[self.cleaned_data["expires"]]
