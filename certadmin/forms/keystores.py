"""Forms of Export to Keystore and Import from Keystore: parsing only, no writes."""

from django import forms

from certadmin.forms.uploads import read_upload


class ExportForm(forms.Form):
    fmt = forms.ChoiceField(
        label="Format",
        choices=[("jks", "Java KeyStore (.jks)"), ("p12", "PKCS#12 (.p12)")],
        initial="jks",
        widget=forms.RadioSelect,
        help_text="Either holds every key with its chain, named by its Unique Name.",
    )
    password = forms.CharField(
        label="Keystore Password",
        widget=forms.PasswordInput,
        strip=False,
        help_text="At least 6 characters. It also protects each key (key password = store "
        "password).",
    )
    confirm = forms.CharField(label="Confirm Password", widget=forms.PasswordInput, strip=False)


class ImportForm(forms.Form):
    keystore = forms.FileField(
        label="Keystore File",
        allow_empty_file=True,
        help_text="A JKS, JCEKS or PKCS#12 (.p12, .pfx) file, at most 1 MiB.",
    )
    password = forms.CharField(label="Keystore Password", widget=forms.PasswordInput, strip=False)

    def clean_keystore(self) -> bytes:
        return read_upload(self.cleaned_data["keystore"], "keystore file")
