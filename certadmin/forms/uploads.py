"""Uploaded files: read within the size limit, and the certificate file field of the upload
forms (a CA's signed certificate, a mutual authentication certificate)."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from certadmin.crypto import parsing


def read_upload(upload: "UploadedFile[bytes]", what: str = "file") -> bytes:
    """The bytes of an upload, refused before reading when over the cap (SPEC 3: 1 MiB)."""
    cap = settings.CERTADMIN_UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > cap:
        raise ValidationError(
            f"The {what} is {upload.size:,} bytes; the limit is {cap:,} bytes ({cap // 1024} KiB)."
        )
    data: bytes = upload.read(cap + 1)
    if len(data) > cap:
        raise ValidationError(f"The {what} is larger than the {cap // 1024} KiB limit.")
    if not data:
        raise ValidationError(f"The {what} is empty.")
    return data


class CertificateFileField(forms.FileField):
    """A file of certificates (PEM, one or several blocks, or one DER certificate).

    Cleans to the file's bytes once they parse; the service parses them again to use them.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_empty_file", True)  # read_upload says "empty" in words
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> bytes | None:
        upload = super().clean(data, initial)
        if not upload:
            return None
        content = read_upload(upload, "certificate file")
        try:
            parsing.parse_certificates(content, max_bytes=settings.CERTADMIN_UPLOAD_MAX_BYTES)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        return content
