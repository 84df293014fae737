"""Forms of the Certificate and Key Management pages: parsing and field rules, no writes."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from certadmin import crypto, naming
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
        value = self.cleaned_data["unique_name"]
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
        value = self.cleaned_data["country"].strip().upper()
        if value and (len(value) != 2 or not value.isalpha()):
            raise ValidationError("The Country Code must be two letters, like US or DE.")
        return value


def read_upload(upload: UploadedFile, what: str = "file") -> bytes:
    """The bytes of an upload, refused before reading when over the cap (SPEC 3: 1 MiB)."""
    cap = settings.CERTADMIN_UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > cap:
        raise ValidationError(
            f"The {what} is {upload.size:,} bytes; the limit is {cap:,} bytes ({cap // 1024} KiB)."
        )
    data = upload.read(cap + 1)
    if len(data) > cap:
        raise ValidationError(f"The {what} is larger than the {cap // 1024} KiB limit.")
    if not data:
        raise ValidationError(f"The {what} is empty.")
    return data


class SignedCertificateUploadForm(forms.Form):
    certificate = forms.FileField(
        label="Signed certificate",
        help_text="The certificate from your CA, in PEM (one certificate or the whole chain, in "
        "any order) or DER. The root may be left out.",
        allow_empty_file=True,
    )

    def clean_certificate(self) -> bytes:
        data = read_upload(self.cleaned_data["certificate"], "certificate file")
        try:
            crypto.parse_certificates(data, max_bytes=settings.CERTADMIN_UPLOAD_MAX_BYTES)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        return data


FILTERS = {
    "": "All",
    "expired": "Expired",
    "30": "Expiring within 30 days",
    "60": "Expiring within 60 days",
    "awaiting": "Awaiting signed certificate",
    "self_signed": "Self-Signed",
    "ca_signed": "CA-Signed",
}
SORTS = {
    "expires": ("not_after", "unique_name"),
    "-expires": ("-not_after", "unique_name"),
    "label": ("label", "unique_name"),
    "-label": ("-label", "unique_name"),
    "unique_name": ("unique_name",),
}
