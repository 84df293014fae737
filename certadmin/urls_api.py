"""The JSON API, mounted at /api/. Every route answers JSON, unknown ones included."""

from django.urls import path, re_path

from certadmin import api

app_name = "api"

urlpatterns = [
    path("v1/openapi.json", api.openapi_json, name="openapi"),
    path("v1/orgs/<str:org>/certificates/", api.certificate_list, name="certificate-list"),
    path(
        "v1/orgs/<str:org>/certificates/<uuid:certificate>/",
        api.certificate_detail,
        name="certificate-detail",
    ),
    path(
        "v1/orgs/<str:org>/certificates/<uuid:certificate>/pem",
        api.certificate_pem,
        name="certificate-pem",
    ),
    # Last: anything else under /api/ is a JSON 404, not the HTML page (nor a slash redirect).
    re_path(r"^.*$", api.not_found),
]
