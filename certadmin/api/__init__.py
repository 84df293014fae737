"""The JSON API (SPEC 5), on django-ninja: an org's certificates under /api/v1/orgs/<org id>/.

Authenticated by per-user API tokens, with mutual TLS for users who hold Enforce SSL/TLS Mutual
Authentication (auth.py). Every answer is JSON, errors included (errors.py): never an HTML
page, never a redirect to the login page, never a private key. The OpenAPI document at
/api/v1/openapi.json is generated from the schemas and endpoints; urls.py mounts it all.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import NinjaAPI

from certadmin.api import certificates
from certadmin.api.errors import install_handlers

OPENAPI_PATH = "v1/openapi.json"


class CertadminApi(NinjaAPI):
    def get_content_type(self) -> str:
        # JSON has no charset parameter (RFC 8259: it is UTF-8); Django's JsonResponse, which
        # answers the errors, sends the same header.
        return "application/json"


api = CertadminApi(
    title="certadmin API",
    version="1",
    description="Read an organization's certificates: list, detail and public PEM. "
    "Private keys are never returned. Authenticate with an API token "
    "(Setup → My Settings → API Tokens). Users who hold Enforce SSL/TLS Mutual "
    "Authentication must call the mutual-TLS listener and present one of the org's "
    "mutual authentication certificates. See docs/api-clients.md.",
    urls_namespace="api",
    # The document is an operation of its own (below); no interactive docs page.
    openapi_url=None,
    docs_url=None,
)
install_handlers(api)
api.add_router("", certificates.router)


@api.get(
    OPENAPI_PATH,
    url_name="openapi",
    operation_id="getOpenApi",
    summary="This document",
    openapi_extra={"responses": {200: {"description": "OpenAPI 3.1 JSON."}}},
)
def openapi_document(request: HttpRequest) -> dict[str, Any]:
    """The OpenAPI description of this API, generated from its code; public, like docs."""
    document = api.get_openapi_schema(path_prefix=request.path_info.removesuffix(OPENAPI_PATH))
    # Per request: the listener's URL is a setting.
    document["servers"] = [
        {"url": settings.CERTADMIN_MTLS_URL, "description": "mutual-TLS listener"},
        {"url": "/", "description": "this server"},
    ]
    return document
