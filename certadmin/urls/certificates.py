"""Certificate and Key Management: the list, create, detail, edit, delete, upload, download."""

from django.urls import path

from certadmin.views import certificates

urlpatterns = [
    path("certificates/", certificates.certificate_list, name="certificate-list"),
    path(
        "certificates/new/self-signed/",
        certificates.certificate_create_self_signed,
        name="certificate-create-self-signed",
    ),
    path(
        "certificates/new/ca-signed/",
        certificates.certificate_create_ca_signed,
        name="certificate-create-ca-signed",
    ),
    path(
        "certificates/<uuid:certificate>/",
        certificates.certificate_detail,
        name="certificate-detail",
    ),
    path(
        "certificates/<uuid:certificate>/edit/",
        certificates.certificate_edit,
        name="certificate-edit",
    ),
    path(
        "certificates/<uuid:certificate>/delete/",
        certificates.certificate_delete,
        name="certificate-delete",
    ),
    path(
        "certificates/<uuid:certificate>/signed/",
        certificates.certificate_upload_signed,
        name="certificate-upload-signed",
    ),
    path(
        "certificates/<uuid:certificate>/download/",
        certificates.certificate_download,
        name="certificate-download",
    ),
    path(
        "certificates/<uuid:certificate>/csr/",
        certificates.certificate_csr_download,
        name="certificate-csr-download",
    ),
]
