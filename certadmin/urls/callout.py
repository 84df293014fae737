"""Named Credentials (Setup > Security)."""

from django.urls import path

from certadmin.views import callout

urlpatterns = [
    path("named-credentials/", callout.credential_list, name="named-credential-list"),
    path("named-credentials/new/", callout.credential_create, name="named-credential-create"),
    path(
        "named-credentials/<uuid:credential>/",
        callout.credential_detail,
        name="named-credential-detail",
    ),
    path(
        "named-credentials/<uuid:credential>/edit/",
        callout.credential_edit,
        name="named-credential-edit",
    ),
    path(
        "named-credentials/<uuid:credential>/delete/",
        callout.credential_delete,
        name="named-credential-delete",
    ),
]
