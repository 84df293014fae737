"""Forms of the Certificate and Key Management pages: parsing and field rules, no writes."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from certadmin import naming
from certadmin.forms.uploads import CertificateFileField
from certadmin.models import Certificate

SELF_SIGNED_KEY_CHOICES = Certificate.KEY_TYPE_CHOICES


class NamesForm(forms.Form):
    label = forms.CharField(
        max_length=naming.MAX_LABEL,
        help_text="A name for the certificate, shown in lists. At most 64 characters.",
        widget=forms.TextInput(attrs={"data-unique-name-source": "", "autocomplete": "off"}),
    )
    unique_name = forms.CharField(
        label="Unique Name",
        max_length=200,  # the rules below say "at most 80" in words
        help_text="Used in file names and by the API: letters, digits and underscores; begins "
        "with a letter; no spaces, no two underscores in a row, not ending with one; at most 80.",
        widget=forms.TextInput(attrs={"data-unique-name-target": "", "autocomplete": "off"}),
    )

    def clean_unique_name(self) -> str:
        value: str = self.cleaned_data["unique_name"]
        problems = naming.unique_name_problems(value)
        if problems:
            raise ValidationError(problems)
        return value


class SelfSignedForm(NamesForm):
    key_type = forms.ChoiceField(
        label="Key Size",
        choices=SELF_SIGNED_KEY_CHOICES,
        initial="RSA-2048",
        help_text="RSA 2048, 3072 and ECDSA certificates are valid for one year, RSA 4096 for two.",
    )
    exportable = forms.BooleanField(
        label="Exportable Private Key",
        required=False,
        initial=True,
        help_text="Can the private key be exported in a keystore? Fixed once created.",
    )


class CASignedForm(SelfSignedForm):
    common_name = forms.CharField(label="Common Name", max_length=64)
    email = forms.EmailField(label="Email Address", required=False, max_length=128)
    company = forms.CharField(max_length=64, required=False)
    department = forms.CharField(max_length=64, required=False)
    city = forms.CharField(max_length=128, required=False)
    state = forms.CharField(label="State/Province", max_length=128, required=False)
    country = forms.CharField(
        label="Country Code",
        max_length=2,
        min_length=2,
        required=False,
        help_text="Two letters, for example US or DE.",
    )

    def clean_country(self) -> str:
        value: str = self.cleaned_data["country"].strip().upper()
        if value and (len(value) != 2 or not value.isalpha()):
            raise ValidationError("The Country Code must be two letters, like US or DE.")
        return value


class SignedCertificateUploadForm(forms.Form):
    certificate = CertificateFileField(
        label="Signed certificate",
        help_text="The certificate from your CA, in PEM (one certificate or the whole chain, in "
        "any order) or DER. The root may be left out.",
    )


if TYPE_CHECKING:
    _ModelChoiceField = forms.ModelChoiceField[Certificate]
else:  # not subscriptable at run time
    _ModelChoiceField = forms.ModelChoiceField


class CertificateChoiceField(_ModelChoiceField):
    """A certificate by uuid, shown with what an admin needs to pick it."""

    def __init__(self, queryset: QuerySet[Certificate], **kwargs: Any) -> None:
        super().__init__(queryset, to_field_name="uuid", **kwargs)

    def label_from_instance(self, obj: Certificate) -> str:
        expires = f", expires {obj.not_after:%Y-%m-%d}" if obj.not_after else ""
        return f"{obj.label} ({obj.unique_name}, {obj.key_label}{expires})"


FILTERS = {
    "": "All",
    "expired": "Expired",
    "10": "Expiring within 10 days",
    "30": "Expiring within 30 days",
    "60": "Expiring within 60 days",
    "awaiting": "Awaiting signed certificate",
    "self_signed": "Self-Signed",
    "ca_signed": "CA-Signed",
    "sso": "Used by SSO",
    "idp": "Used by the IdP",
}
