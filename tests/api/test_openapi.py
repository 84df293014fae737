"""The OpenAPI description says what the API does: every route, every list parameter."""

import json
import re
from pathlib import Path

from django.test import Client
from django.urls import reverse

from certadmin import api, mtls, openapi
from tests.test_url_matrix import ALL_URLS, API_PREFIX


def _document(client: Client) -> dict[str, object]:
    response = client.get(reverse("api:openapi"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)  # type: ignore[no-any-return]


def test_every_api_route_is_described(client: Client, db: None) -> None:
    paths = set(_document(client)["paths"])  # type: ignore[arg-type]

    routes = {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        for name, route in ALL_URLS
        if route.startswith(API_PREFIX)
    }

    assert routes == paths


def test_the_list_parameters_are_the_ones_the_api_accepts(client: Client, db: None) -> None:
    operation = _document(client)["paths"]["/api/v1/orgs/{org}/certificates/"]["get"]  # type: ignore[index]

    documented = {p["name"] for p in operation["parameters"] if p["in"] == "query"}

    assert documented == set(api.CertificateFilterForm.base_fields)


def test_every_error_code_the_api_can_answer_is_listed() -> None:
    source = Path(api.__file__).read_text()

    raised = set(re.findall(r'(?:ApiError|error_response)\(\s*\d+,\s*"(\w+)"', source))
    raised |= set(mtls.reasons())

    assert {"missing_token", "not_found", "certificate_expired"} <= raised
    assert raised <= set(openapi.ERROR_CODES), raised - set(openapi.ERROR_CODES)
