"""Forms of the ACME pages (issue 18): parsing and field rules, no writes."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from certadmin import acme_client
from certadmin.forms.certificates import SelfSignedForm
from certadmin.models import AcmeAccount
from certadmin.models.acme import Challenge
from certadmin.services.acme.accounts import ACCOUNT_KEY_TYPES

DIRECTORIES = (
    ("https://acme-v02.api.letsencrypt.org/directory", "Let's Encrypt"),
    ("https://acme-staging-v02.api.letsencrypt.org/directory", "Let's Encrypt staging"),
    ("https://acme.zerossl.com/v2/DV90", "ZeroSSL (needs EAB)"),
)


class AcmeAccountForm(forms.Form):
    label = forms.CharField(max_length=80, help_text="A name for this account, shown in lists.")
    directory_url = forms.URLField(
        label="Directory URL",
        max_length=500,
        assume_scheme="https",
        help_text="The CA's ACME directory: "
        + "; ".join(f"{name}: {url}" for url, name in DIRECTORIES)
        + "; or any RFC 8555 directory such as a private step-ca's.",
    )
    contact_email = forms.EmailField(
        label="Contact email",
        required=False,
        max_length=254,
        help_text="The CA writes here about expiring certificates and policy changes.",
    )
    terms_agreed = forms.BooleanField(label="I agree to the CA's terms of service", required=False)
    eab_kid = forms.CharField(
        label="EAB key ID",
        required=False,
        max_length=200,
        help_text="External account binding, for CAs that need one (ZeroSSL, Google Trust "
        "Services, most private CAs): the key ID the CA gave you.",
    )
    eab_hmac_key = forms.CharField(
        label="EAB HMAC key",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="The HMAC key that goes with the key ID (base64url). Stored sealed, never shown.",
    )
    key_type = forms.ChoiceField(
        label="Account key",
        choices=[
            (code, code.replace("EC-", "ECDSA ").replace("RSA-", "RSA "))
            for code in ACCOUNT_KEY_TYPES
        ],
        initial="EC-P256",
    )


class AcmeDnsForm(forms.Form):
    dns_server = forms.CharField(
        label="DNS update server",
        required=False,
        max_length=255,
        help_text="The primary name server that takes RFC 2136 updates (name or address).",
    )
    dns_port = forms.IntegerField(label="DNS port", min_value=1, max_value=65535, initial=53)
    dns_zone = forms.CharField(label="DNS zone", required=False, max_length=255)
    tsig_key_name = forms.CharField(label="TSIG key name", required=False, max_length=255)
    tsig_algorithm = forms.ChoiceField(
        label="TSIG algorithm", choices=AcmeAccount.TsigAlgorithm.choices
    )
    tsig_secret = forms.CharField(
        label="TSIG secret",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="Base64, as tsig-keygen prints it. Stored sealed, never shown; leave empty to "
        "keep the stored one.",
    )


if TYPE_CHECKING:
    _AccountChoiceField = forms.ModelChoiceField[AcmeAccount]
else:  # not subscriptable at run time
    _AccountChoiceField = forms.ModelChoiceField


class AccountChoiceField(_AccountChoiceField):
    def __init__(self, queryset: QuerySet[AcmeAccount], **kwargs: Any) -> None:
        super().__init__(queryset, to_field_name="uuid", **kwargs)

    def label_from_instance(self, obj: AcmeAccount) -> str:
        return f"{obj.label} ({obj.directory_url})"


class _AccountMixin(forms.Form):
    account = AccountChoiceField(AcmeAccount.objects.none(), label="ACME account", empty_label=None)
    challenge = forms.ChoiceField(choices=Challenge.choices, initial=Challenge.HTTP_01)

    def __init__(self, *args: Any, accounts: QuerySet[AcmeAccount], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["account"]
        assert isinstance(field, AccountChoiceField)
        field.queryset = accounts


class AcmeOrderForm(SelfSignedForm, _AccountMixin):
    domains = forms.CharField(
        label="Domain names",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or more names, separated by spaces, commas or lines; the first is also "
        "the Common Name. Wildcards (*.example.com) need a dns-01 challenge.",
    )
    field_order = ["account", "label", "unique_name", "domains", "key_type", "exportable"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key_type"].initial = "EC-P256"
        self.fields["key_type"].help_text = "The key of the certificate (generated here, sealed)."


class AcmeCsrOrderForm(_AccountMixin):
    pass


class AcmeRenewalForm(forms.Form):
    auto_renew = forms.BooleanField(label="Renew automatically", required=False)
    renew_percent = forms.IntegerField(
        label="Renew when this much of the lifetime is left (%)",
        min_value=5,
        max_value=90,
        help_text="33: a 90-day certificate is renewed 30 days before it expires.",
    )
    new_key = forms.BooleanField(
        label="New key pair on every renewal", required=False, initial=True
    )


class RevokeForm(forms.Form):
    reason = forms.TypedChoiceField(
        choices=acme_client.REVOCATION_REASONS, coerce=int, initial=0, label="Reason"
    )


class DeleteForm(forms.Form):
    """The delete page's options for a certificate obtained from ACME."""

    revoke = forms.BooleanField(label="Revoke it at the CA first", required=False)
    reason = forms.TypedChoiceField(
        choices=acme_client.REVOCATION_REASONS, coerce=int, initial=5, label="Reason"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("revoke") and data.get("reason") is None:
            raise ValidationError("Choose the reason of the revocation.")
        return data
