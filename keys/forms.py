from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape

from keys import crypto, masks
from keys.models import MAX_ENCRYPTED_LENGTH, ContactField
from orgs.forms import API_NAME_RE

MIN_EXPORT_PASSWORD = 8


class ContactFieldEditForm(forms.Form):
    """What can change on an encrypted field once it exists (its API Name and length stay)."""

    label = forms.CharField(max_length=40)
    mask_type = forms.ChoiceField(
        choices=masks.MASK_TYPES,
        help_text="What users without View Encrypted Data see instead of the value.",
    )
    mask_char = forms.ChoiceField(
        label="Mask Character", choices=[(c, c) for c in masks.MASK_CHARS]
    )
    help_text = forms.CharField(max_length=255, required=False)


class ContactFieldForm(ContactFieldEditForm):
    """A new encrypted field: also its API Name and length."""

    field_order = ["label", "api_name", "length"]  # then the mask and help text

    api_name = forms.CharField(
        label="API Name",
        max_length=40,
        help_text="Filled from the label. Letters, digits and single underscores; begins "
        "with a letter; does not end with an underscore. Cannot be changed later.",
    )
    length = forms.IntegerField(
        min_value=1,
        max_value=MAX_ENCRYPTED_LENGTH,
        initial=MAX_ENCRYPTED_LENGTH,
        help_text=f"The most characters a value may have (at most {MAX_ENCRYPTED_LENGTH}).",
    )

    def clean_api_name(self) -> str:
        value: str = self.cleaned_data["api_name"]
        if not API_NAME_RE.match(value):
            raise ValidationError(
                "The API Name must begin with a letter, contain only letters, digits and "
                "single underscores, and not end with an underscore."
            )
        return value


class ContactForm(forms.Form):
    """A contact and one input per encrypted field.

    With View Encrypted Data the inputs hold the values (blank removes a value). Without it
    they start blank and show the mask as help: blank keeps the value, text replaces it. A
    value whose key is destroyed cannot be shown either way, so it behaves the same.
    """

    first_name = forms.CharField(max_length=40, required=False)
    last_name = forms.CharField(max_length=80)
    email = forms.EmailField(required=False)

    def __init__(
        self,
        *args: Any,
        fields: list[ContactField],
        shown: dict[int, str],
        clear: bool,
        readable: set[int],
        **kwargs: Any,
    ) -> None:
        """`shown`: field id → what the user may see of the current value;
        `readable`: ids of the fields whose current value decrypts."""
        super().__init__(*args, **kwargs)
        self.contact_fields = fields
        self._keep_if_blank: set[int] = set()
        for field in fields:
            name = self.input_name(field)
            current = shown.get(field.pk)
            help_text = field.help_text
            input_field = forms.CharField(
                label=field.label,  # labels are escaped by Django's label template
                max_length=field.length,
                required=False,
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
            )
            if current is not None and clear and field.pk in readable:
                input_field.initial = current
            elif current is not None:
                self._keep_if_blank.add(field.pk)
                if field.pk not in readable:
                    current = "unavailable (its master key is destroyed)"
                help_text = (
                    " ".join(filter(None, [help_text, f"Current value: {current}."]))
                    + " Leave blank to keep it; type a new value to replace it."
                )
            # Django prints help_text as HTML (|safe in its form templates): the field's help
            # text is a Customize Application user's input and the current value is data.
            input_field.help_text = escape(help_text)
            self.fields[name] = input_field

    @staticmethod
    def input_name(field: ContactField) -> str:
        return f"cf_{field.api_name}"

    def contact_values(self) -> dict[ContactField, str | None]:
        """field → new plaintext, "" to remove, None to keep."""
        values: dict[ContactField, str | None] = {}
        for field in self.contact_fields:
            typed = self.cleaned_data.get(self.input_name(field), "")
            values[field] = None if typed == "" and field.pk in self._keep_if_blank else typed
        return values

    def input_fields(self) -> list[forms.BoundField]:
        return [self[self.input_name(f)] for f in self.contact_fields]


class ExportKeyForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        min_length=MIN_EXPORT_PASSWORD,
        strip=False,
        help_text=f"At least {MIN_EXPORT_PASSWORD} characters. You need it to import the key "
        "again; nobody can recover it.",
    )
    password_again = forms.CharField(
        label="Confirm password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords are not the same.")
        return data


class DestroyKeyForm(forms.Form):
    confirmation = forms.CharField(max_length=40, label="Confirmation")


class ImportKeyForm(forms.Form):
    key_file = forms.FileField(label="Key file", help_text="The .txt file the export gave you.")
    password = forms.CharField(widget=forms.PasswordInput, strip=False)

    def clean_key_file(self) -> str:
        upload = self.cleaned_data["key_file"]
        if upload.size > crypto.MAX_EXPORT_CHARS * 2:
            raise ValidationError("This file is too large to be a master key export.")
        try:
            return str(upload.read().decode("utf-8"))
        except UnicodeDecodeError:
            raise ValidationError(crypto.NOT_AN_EXPORT) from None
