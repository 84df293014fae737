"""Mutual Authentication Certificates: upload, detail, delete, download."""

from django.urls import path

from certadmin.views import mutual_auth

urlpatterns = [
    path(
        "mutual-auth-certificates/new/",
        mutual_auth.mutual_auth_upload,
        name="mutual-auth-upload",
    ),
    path(
        "mutual-auth-certificates/<uuid:mutual_auth>/",
        mutual_auth.mutual_auth_detail,
        name="mutual-auth-detail",
    ),
    path(
        "mutual-auth-certificates/<uuid:mutual_auth>/delete/",
        mutual_auth.mutual_auth_delete,
        name="mutual-auth-delete",
    ),
    path(
        "mutual-auth-certificates/<uuid:mutual_auth>/download/",
        mutual_auth.mutual_auth_download,
        name="mutual-auth-download",
    ),
]
