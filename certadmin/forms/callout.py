"""The Named Credential form: parsing and field rules; the service checks every choice again."""

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from certadmin.forms.certificates import CertificateChoiceField
from certadmin.forms.uploads import read_upload
from certadmin.models import Certificate, NamedCredential
from certadmin.services import callout as services
from orgs.models import Organization


class NamedCredentialForm(forms.Form):
    label = forms.CharField(max_length=64, help_text="How this credential is called in lists.")
    name = forms.CharField(
        max_length=80,
        help_text="Unique within the org: letters, digits and single underscores, beginning "
        "with a letter (e.g. Payments_API).",
    )
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="The HTTPS endpoint, e.g. https://api.example.com/v1/hook.",
    )
    certificate = CertificateChoiceField(
        Certificate.objects.none(),
        label="Certificate",
        help_text="Presented to the server (mutual TLS) with its chain; it also signs requests "
        "when Sign Requests is on. Certificates awaiting a signed certificate and expired ones "
        "are not offered.",
    )
    trust = forms.ChoiceField(
        label="Server Trust",
        choices=NamedCredential.Trust.choices,
        initial=NamedCredential.Trust.SYSTEM,
        widget=forms.RadioSelect,
        help_text="Which CAs the server's certificate must chain to.",
    )
    trust_bundle = forms.FileField(
        label="Trusted CA Certificates",
        required=False,
        allow_empty_file=True,
        help_text="PEM or DER CA certificates, for “Only the CA certificates uploaded”.",
    )
    sign_requests = forms.BooleanField(
        label="Sign Requests (HTTP Message Signatures)",
        required=False,
        help_text="Sign each request with the certificate's key (RFC 9421), so the receiver can "
        "verify it with the certificate downloaded from certadmin.",
    )

    def __init__(
        self, *args: Any, org: Organization, credential: NamedCredential | None = None, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.credential = credential
        offered = services.selectable_certificates(org)
        if credential is not None:
            offered = (
                offered | Certificate.objects.filter(pk=credential.certificate_id)
            ).distinct()
            if credential.trust_pem:
                self.fields["trust_bundle"].help_text += " Leave empty to keep the current ones."
        field = cast(CertificateChoiceField, self.fields["certificate"])
        field.queryset = offered
        self.certificates = offered

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if problems := services.name_problems(name):
            raise ValidationError(problems)
        return name

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"])
        if problems := services.url_problems(url):
            raise ValidationError(problems)
        return url

    def clean_trust_bundle(self) -> str | None:
        upload = self.cleaned_data.get("trust_bundle")
        if not upload:
            return None
        return services.parse_trust_bundle(read_upload(upload, "CA certificate file"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kept = self.credential.trust_pem if self.credential else ""
        if (
            data.get("trust") == NamedCredential.Trust.UPLOADED
            and not data.get("trust_bundle")
            and not kept
            and "trust_bundle" not in self.errors
        ):
            self.add_error(
                "trust_bundle",
                ValidationError("Upload the CA certificates the server's certificate chains to."),
            )
        return data

    def settings(self) -> services.CredentialSettings:
        data = self.cleaned_data
        return services.CredentialSettings(
            label=data["label"].strip(),
            name=data["name"],
            url=data["url"],
            certificate=data["certificate"],
            trust=data["trust"],
            trust_pem=data["trust_bundle"],
            sign_requests=data["sign_requests"],
        )
