"""Setup pages of issue 7, included into certadmin.urls_setup (namespace "certadmin")."""

from django.urls import path

from certadmin.views import mutual_auth, tokens

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
    path("api-tokens/", tokens.token_list, name="token-list"),
    path("api-tokens/<uuid:token>/revoke/", tokens.token_revoke, name="token-revoke"),
]
