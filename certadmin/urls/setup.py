"""Setup pages of the certificates app, mounted under /o/<org>/setup/ in the `certadmin`
namespace: one URL module per feature, named as its views."""

from django.urls import include, path

app_name = "certadmin"

urlpatterns = [
    path("", include("certadmin.urls.certificates")),
    path("", include("certadmin.urls.keystores")),
    path("", include("certadmin.urls.expired")),
    path("", include("certadmin.urls.mutual_auth")),
    path("", include("certadmin.urls.tokens")),
    path("", include("certadmin.urls.sso")),
    path("", include("certadmin.urls.callout")),
    path("", include("certadmin.urls.acme")),
]
