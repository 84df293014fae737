"""The Mutual Authentication Certificate upload form: parsing only, no writes."""

from certadmin.forms.certificates import NamesForm
from certadmin.forms.uploads import CertificateFileField


class MutualAuthUploadForm(NamesForm):
    certificate = CertificateFileField(
        label="Certificate file",
        help_text="PEM: the client certificate and its chain (intermediates; the root may be "
        "left out). Any order: it is stored client certificate first.",
    )
