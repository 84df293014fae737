"""Forms of the Single Sign-On and Identity Provider pages.

Parsing and field rules only; the services check every choice again (another org's
certificate, one awaiting its chain, the retired proxy certificate can never get through).
"""

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from certadmin.crypto import display, parsing
from certadmin.forms.certificates import CertificateChoiceField
from certadmin.forms.replace import GENERATE, ReplacementForm
from certadmin.forms.uploads import read_upload
from certadmin.models import Certificate, SamlSsoConfig, ServiceProvider
from certadmin.services import idp as idp_services
from certadmin.services import sso as sso_services
from orgs.models import Organization


def _with_current(qs: QuerySet[Certificate], current: Certificate | None) -> QuerySet[Certificate]:
    """Keep the certificate a configuration already has among the choices, even if it would
    not be offered any more (expired), so saving other fields does not fail on it."""
    if current is None:
        return qs
    return (qs | Certificate.objects.filter(pk=current.pk)).distinct()


class SsoConfigForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="How this configuration is called in lists.")
    issuer = forms.CharField(
        max_length=255,
        help_text="This installation's entity ID as service provider: the Issuer of its "
        "authentication requests and the entityID of its metadata, e.g. https://certadmin.example.com/acme.",
    )
    idp_entity_id = forms.CharField(
        label="Identity Provider Entity ID",
        max_length=255,
        help_text="The identity provider's entity ID (the Issuer of its SAML responses).",
    )
    idp_login_url = forms.URLField(
        label="Identity Provider Login URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where users are sent to log in (signed AuthnRequests, HTTP-Redirect binding).",
    )
    idp_certificate = forms.FileField(
        label="Identity Provider Certificate",
        required=False,
        allow_empty_file=True,
        help_text="The identity provider's signing certificate, PEM or DER.",
    )
    request_signing_certificate = CertificateChoiceField(
        Certificate.objects.none(),
        label="Request Signing Certificate",
        help_text="Signs the requests sent to the identity provider. Certificates awaiting a "
        "signed certificate, expired ones and ECDSA ones are not offered.",
    )
    signature_method = forms.ChoiceField(
        label="Request Signature Method",
        choices=SamlSsoConfig.SignatureMethod.choices,
        initial=SamlSsoConfig.SignatureMethod.RSA_SHA256,
        help_text="RSA-SHA256 unless your identity provider only accepts the weaker RSA-SHA1.",
    )
    assertion_decryption_certificate = CertificateChoiceField(
        Certificate.objects.none(),
        label="Assertion Decryption Certificate",
        required=False,
        empty_label="Assertions are not encrypted",
        help_text="The identity provider encrypts assertions to this certificate.",
    )
    show_on_login_page = forms.BooleanField(
        label="Show on the login page",
        required=False,
        help_text="Offer “Log in with <name>” on the login page of this installation.",
    )
    allow_idp_initiated = forms.BooleanField(
        label="Allow IdP-initiated login",
        required=False,
        help_text="Accept responses that answer no request of ours (started at the identity "
        "provider). Replays are still refused.",
    )
    jit_provisioning = forms.BooleanField(
        label="Create unknown users (just-in-time)",
        required=False,
        help_text="A user the identity provider vouches for who has no membership with that "
        "Federation ID is created as a Standard User of this org (audited).",
    )

    def __init__(
        self, *args: Any, org: Organization, config: SamlSsoConfig | None = None, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.config = config
        offered = sso_services.selectable_certificates(org)
        signer = cast(CertificateChoiceField, self.fields["request_signing_certificate"])
        decrypter = cast(CertificateChoiceField, self.fields["assertion_decryption_certificate"])
        # What the Request Signing Certificate offers (the page says when there is none).
        self.signers = _with_current(
            offered, config.request_signing_certificate if config else None
        )
        signer.queryset = self.signers
        decrypter.queryset = _with_current(
            offered, config.assertion_decryption_certificate if config else None
        )
        if config is None:
            self.fields["idp_certificate"].required = True
        else:
            self.fields["idp_certificate"].help_text += " Leave empty to keep the current one."
            if config.uses_retired_proxy:
                # Left empty, the configuration keeps signing with the retired certificate.
                signer.required = False
                signer.empty_label = "Default proxy certificate (retired) — choose a replacement"

    def clean_idp_certificate(self) -> str | None:
        upload = self.cleaned_data.get("idp_certificate")
        if not upload:
            if self.config is None:
                raise ValidationError("Upload the identity provider's certificate.")
            return None
        cert = sso_services.parse_idp_certificate(read_upload(upload, "certificate file"))
        return display.certificate_pem(cert)

    def settings(self) -> sso_services.SsoSettings:
        data = self.cleaned_data
        return sso_services.SsoSettings(
            name=data["name"].strip(),
            issuer=data["issuer"].strip(),
            idp_entity_id=data["idp_entity_id"].strip(),
            idp_login_url=data["idp_login_url"],
            request_signing_certificate=data["request_signing_certificate"],
            signature_method=data["signature_method"],
            assertion_decryption_certificate=data["assertion_decryption_certificate"],
            idp_certificate_pem=data["idp_certificate"],
            show_on_login_page=data["show_on_login_page"],
            allow_idp_initiated=data["allow_idp_initiated"],
            jit_provisioning=data["jit_provisioning"],
        )


class IdentityProviderForm(forms.Form):
    certificate = CertificateChoiceField(
        Certificate.objects.none(),
        label="Identity Provider Certificate",
        required=False,
        empty_label=GENERATE,
    )

    def __init__(self, *args: Any, org: Organization, **kw: Any) -> None:
        super().__init__(*args, **kw)
        field = cast(CertificateChoiceField, self.fields["certificate"])
        field.queryset = sso_services.selectable_certificates(org)
        # A real name as the example (issue 15): "<ddMonYYYY>" was read as an HTML tag and
        # the help said "SelfSignedCert__".
        example = sso_services.default_certificate_name(org, timezone.now())
        field.help_text = (
            "Signs what the identity provider issues. With none chosen, a new self-signed "
            f"certificate named after the date and time of its creation, such as {example}, "
            "is created."
        )


class ProxyReplaceForm(ReplacementForm):
    configurations = forms.ModelMultipleChoiceField(
        SamlSsoConfig.objects.none(),
        to_field_name="uuid",
        widget=forms.CheckboxSelectMultiple,
        label="Configurations to switch",
        error_messages={"required": "Choose at least one configuration."},
    )

    def __init__(self, *args: Any, configs: QuerySet[SamlSsoConfig], **kw: Any) -> None:
        super().__init__(*args, **kw)
        field = cast("forms.ModelMultipleChoiceField[SamlSsoConfig]", self.fields["configurations"])
        field.queryset = configs


class ServiceProviderForm(forms.Form):
    """An application that logs its users in with the org's Identity Provider."""

    name = forms.CharField(max_length=80, help_text="How the application is called here.")
    entity_id = forms.CharField(
        label="Entity ID",
        max_length=255,
        help_text="The service provider's entity ID: the Issuer of its AuthnRequests and the "
        "Audience of our assertions.",
    )
    acs_url = forms.URLField(
        label="Assertion Consumer Service URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where the signed responses are posted (HTTP-POST binding).",
    )
    certificate = forms.FileField(
        label="Service Provider Certificate",
        required=False,
        allow_empty_file=True,
        help_text="PEM or DER (of a chain, the first certificate is kept). With one, the "
        "service provider's AuthnRequests must be signed with its key, and assertions can be "
        "encrypted to it.",
    )
    remove_certificate = forms.BooleanField(label="Remove the stored certificate", required=False)
    name_id_format = forms.ChoiceField(
        label="NameID Format", choices=ServiceProvider.NameIdFormat.choices
    )
    subject = forms.ChoiceField(
        label="NameID value",
        choices=ServiceProvider.Subject.choices,
        help_text="Which of the user's values the service provider receives as NameID.",
    )
    attribute_username = forms.CharField(
        label="Username attribute",
        required=False,
        max_length=255,
        help_text="The attribute name that carries the username (blank: not sent).",
    )
    attribute_email = forms.CharField(label="Email attribute", required=False, max_length=255)
    attribute_first_name = forms.CharField(
        label="First name attribute", required=False, max_length=255
    )
    attribute_last_name = forms.CharField(
        label="Last name attribute", required=False, max_length=255
    )
    attribute_federation_id = forms.CharField(
        label="Federation ID attribute", required=False, max_length=255
    )
    encrypt_assertions = forms.BooleanField(
        label="Encrypt assertions to the service provider certificate", required=False
    )

    def __init__(self, *args: Any, sp: ServiceProvider | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.sp = sp
        if sp is None or not sp.certificate_pem:
            del self.fields["remove_certificate"]

    def clean_certificate(self) -> str | None:
        upload = self.cleaned_data.get("certificate")
        if not upload:
            return None
        data = read_upload(upload, "certificate file")
        try:
            certs = parsing.parse_certificates(data, max_bytes=settings.CERTADMIN_UPLOAD_MAX_BYTES)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        return display.certificate_pem(certs[0])  # a chain's first one is the SP's own

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mapping: dict[str, str] = {}
        for field in idp_services.USER_FIELDS:
            name = (data.get(f"attribute_{field}") or "").strip()
            if name and name in mapping:
                self.add_error(f"attribute_{field}", "Two fields cannot share an attribute name.")
            elif name:
                mapping[name] = field
        data["attribute_mapping"] = mapping
        return data

    def settings(self) -> idp_services.ServiceProviderSettings:
        data = self.cleaned_data
        pem = data["certificate"]
        if pem is None and data.get("remove_certificate"):
            pem = ""
        return idp_services.ServiceProviderSettings(
            name=data["name"].strip(),
            entity_id=data["entity_id"].strip(),
            acs_url=data["acs_url"],
            certificate_pem=pem,
            name_id_format=data["name_id_format"],
            subject=data["subject"],
            attribute_mapping=data["attribute_mapping"],
            encrypt_assertions=data["encrypt_assertions"],
        )
