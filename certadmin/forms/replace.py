"""Forms of the replacement of a certificate's uses and of Renew (the Expired Certificates page,
the SSO page's replacement of the retired proxy certificate): the services check every choice
again."""

from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from certadmin.forms.certificates import CertificateChoiceField, NamesForm
from certadmin.models import Certificate

GENERATE = "Generate a new self-signed certificate"


class ReplacementForm(forms.Form):
    """Pick the certificate that takes over, or have a new self-signed one generated."""

    certificate = CertificateChoiceField(
        Certificate.objects.none(),
        label="Replace with",
        required=False,
        empty_label=GENERATE,
        help_text="Only certificates every use accepts are offered: current ones with a "
        "signed certificate (and an RSA key for SAML).",
    )

    def __init__(self, *args: Any, choices: QuerySet[Certificate], **kw: Any) -> None:
        super().__init__(*args, **kw)
        cast(CertificateChoiceField, self.fields["certificate"]).queryset = choices


class CertificateReplaceForm(ReplacementForm):
    delete_old = forms.BooleanField(
        label="Delete the old certificate afterwards",
        required=False,
        help_text="Deleted in the same step, once nothing uses it any more.",
    )


class RenewForm(NamesForm):
    """Label and Unique Name of the renewal; everything else is copied."""
