"""Every org-scoped API route, as anonymous, as a member without the permission (bob), as
another org's admin with her own token (carol) and as the org's admin (alice): JSON 401, 403,
404 and 200, never HTML, never a redirect. New API routes are covered without a new test."""

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from orgs.models import Organization
from tests.api.conftest import api_get
from tests.test_url_matrix import ALL_URLS, API_PREFIX, _kwargs_of
from tests.url_samples import SAMPLES

API_URLS = [
    name for name, route in ALL_URLS if route.startswith(API_PREFIX) and "<str:org>" in route
]


def test_the_matrix_sees_the_api() -> None:
    assert {"api:certificate-list", "api:certificate-detail", "api:certificate-pem"} <= set(
        API_URLS
    )


def _url(name: str, org: Organization, url_org: Organization | None = None) -> str:
    route = dict(ALL_URLS)[name]
    kwargs = {"org": (url_org or org).public_id}
    for kwarg in _kwargs_of(route):
        if kwarg != "org":
            kwargs[kwarg] = SAMPLES[kwarg](org)
    return reverse(name, kwargs=kwargs)


def _json(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = json.loads(response.content)
    assert body["status"] == status
    return body


@pytest.mark.parametrize("name", API_URLS)
def test_anonymous_gets_a_json_401(client: Client, acme: Organization, name: str) -> None:
    response = client.get(_url(name, acme))

    body = _json(response, 401)
    assert body["error"] == "missing_token"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("name", API_URLS)
def test_a_wrong_token_gets_a_json_401(client: Client, acme: Organization, name: str) -> None:
    response = api_get(client, _url(name, acme), "cka_0123456789ab_" + "x" * 43)

    assert _json(response, 401)["error"] == "invalid_token"


@pytest.mark.parametrize("name", API_URLS)
def test_member_without_permission_gets_a_json_403(
    client: Client, acme: Organization, alice: User, bob_token: str, name: str
) -> None:
    response = api_get(client, _url(name, acme), bob_token)

    body = _json(response, 403)
    assert body["permission"] == "manage_certificates"
    assert "Manage Certificates" in body["detail"]


@pytest.mark.parametrize("name", API_URLS)
def test_other_orgs_admin_gets_a_json_404(
    client: Client, acme: Organization, carol_token: str, name: str
) -> None:
    response = api_get(client, _url(name, acme), carol_token)

    assert _json(response, 404)["error"] == "not_found"


OBJECT_URLS = [name for name in API_URLS if len(_kwargs_of(dict(ALL_URLS)[name])) > 1]


@pytest.mark.parametrize("name", OBJECT_URLS)
def test_other_orgs_admin_guessing_ids_in_her_own_org_gets_a_json_404(
    client: Client, acme: Organization, globex: Organization, carol_token: str, name: str
) -> None:
    """Carol puts Acme's certificate ids into a URL of her own org (Globex)."""
    response = api_get(client, _url(name, acme, url_org=globex), carol_token)

    assert _json(response, 404)["error"] == "not_found"


@pytest.mark.parametrize("name", API_URLS)
def test_admin_of_the_org_is_let_in(
    client: Client, acme: Organization, alice_token: str, name: str
) -> None:
    """The sample certificate awaits its signed certificate, so its PEM is a 409."""
    response = api_get(client, _url(name, acme), alice_token)

    assert response.status_code in (200, 409), response.content[:300]


@pytest.mark.parametrize("name", API_URLS)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_are_a_json_405(
    client: Client, acme: Organization, alice_token: str, name: str, method: str
) -> None:
    response = getattr(client, method)(_url(name, acme), HTTP_AUTHORIZATION=f"Bearer {alice_token}")

    assert _json(response, 405)["error"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v2/orgs/x/certificates/",
        "/api/v1/orgs/x/certificates/not-a-uuid/",
        "/api/v1/orgs/x/certificates",
        "/api/v1/orgs/x/certificates/%00/",
        "/api/v1/" + "a" * 3000,
    ],
)
def test_unknown_api_paths_are_a_json_404(client: Client, db: None, path: str) -> None:
    response = client.get(path)

    assert _json(response, 404)["error"] == "not_found"


def test_the_openapi_description_is_public(client: Client, db: None) -> None:
    response = client.get(reverse("api:openapi"))

    assert response.status_code == 200
    assert json.loads(response.content)["openapi"].startswith("3.1")


@pytest.mark.parametrize("name", API_URLS)
def test_head_is_answered_like_get(
    client: Client, acme: Organization, alice_token: str, name: str
) -> None:
    response = client.head(_url(name, acme), HTTP_AUTHORIZATION=f"Bearer {alice_token}")

    assert response.status_code in (200, 409)
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/docs", "/api/v1/docs", "/api/openapi.json"])
def test_there_is_no_other_document_or_docs_page(client: Client, db: None, path: str) -> None:
    """The document is at /api/v1/openapi.json only; no interactive page loads scripts."""
    assert _json(client.get(path), 404)["error"] == "not_found"
