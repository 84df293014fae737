"""The OpenAPI document is generated from the API's code; these tests hold it to what the API
does: every route is in it, every path in it answers as it says, every parameter and bound it
gives is the one enforced, every answer has the documented fields, every error code is listed."""

import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest
from django.test import Client
from django.urls import reverse

import certadmin.api
from certadmin import mtls
from certadmin.api.errors import ErrorCode
from certadmin.api.schemas import CertificateListQuery
from orgs.models import Organization
from tests.api.conftest import api_get
from tests.certadmin.conftest import ca_signed, self_signed
from tests.test_url_matrix import ALL_URLS, API_PREFIX

LIST = "/api/v1/orgs/{org}/certificates/"


def _document(client: Client) -> dict[str, Any]:
    response = client.get(reverse("api:openapi"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)  # type: ignore[no-any-return]


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]  # type: ignore[no-any-return]


def test_every_api_route_is_described(client: Client, db: None) -> None:
    paths = set(_document(client)["paths"])

    routes = {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        for name, route in ALL_URLS
        if route.startswith(API_PREFIX)
    }

    assert routes == paths


def test_every_documented_path_answers_as_documented(
    client: Client, acme: Organization, alice_token: str
) -> None:
    """Alice's token on each path and method of the document: a documented status, never the
    catch-all 404; without a token, the documented 401 where the document asks for one."""
    signed = self_signed(acme, "Payments_Signing")
    values = {"org": acme.public_id, "certificate": str(signed.uuid)}
    document = _document(client)

    for template, operations in document["paths"].items():
        url = template.format(**values)
        for method, operation in operations.items():
            answered = getattr(client, method)(url, HTTP_AUTHORIZATION=f"Bearer {alice_token}")
            anonymous = getattr(client, method)(url)

            assert str(answered.status_code) in operation["responses"], (template, answered)
            assert answered.status_code == 200, (template, answered.content[:300])
            if operation.get("security"):
                assert "401" in operation["responses"]
                assert anonymous.status_code == 401
            else:
                assert anonymous.status_code == 200


def test_the_list_parameters_are_the_ones_the_api_accepts(client: Client, db: None) -> None:
    operation = _document(client)["paths"][LIST]["get"]

    documented = {p["name"] for p in operation["parameters"] if p["in"] == "query"}

    assert documented == set(CertificateListQuery.model_fields)


def _integer_bounds(schema: dict[str, Any]) -> tuple[int | None, int | None]:
    options = schema.get("anyOf", [schema])
    integer = next(option for option in options if option.get("type") == "integer")
    return integer.get("minimum"), integer.get("maximum")


@pytest.mark.parametrize("probe", [-1, 0, 1, 200, 201, 36500, 36501, 10**9])
def test_integer_parameters_are_refused_exactly_outside_their_documented_bounds(
    client: Client, acme: Organization, alice_token: str, probe: int
) -> None:
    """What the API refuses is what the document says it refuses, and nothing else."""
    self_signed(acme, "Payments_Signing")
    operation = _document(client)["paths"][LIST]["get"]
    integers = [
        p
        for p in operation["parameters"]
        if p["in"] == "query"
        and any(o.get("type") == "integer" for o in p["schema"].get("anyOf", [p["schema"]]))
    ]
    assert {p["name"] for p in integers} == {"page", "page_size", "expiring_within_days"}

    for parameter in integers:
        low, high = _integer_bounds(parameter["schema"])
        allowed = (low is None or probe >= low) and (high is None or probe <= high)
        url = reverse("api:certificate-list", args=[acme.public_id])
        response = api_get(client, f"{url}?{parameter['name']}={probe}", alice_token)

        if allowed:
            # page numbers past the end are the documented 404 invalid_page
            assert response.status_code in (200, 404), (parameter["name"], response.content)
        else:
            assert response.status_code == 400, (parameter["name"], probe)
            assert parameter["name"] in json.loads(response.content)["errors"]


def test_answers_have_exactly_the_documented_fields(
    client: Client, acme: Organization, alice_token: str
) -> None:
    cert = self_signed(acme, "Payments_Signing")
    ca_signed(acme, "Web_Server")
    document = _document(client)
    list_url = reverse("api:certificate-list", args=[acme.public_id])
    detail_url = reverse("api:certificate-detail", args=[acme.public_id, cert.uuid])

    page = json.loads(api_get(client, list_url, alice_token).content)
    detail = json.loads(api_get(client, detail_url, alice_token).content)

    for body, name in [
        (page, "CertificatePage"),
        (page["results"][0], "CertificateOut"),
        (page["results"][1], "CertificateOut"),
        (detail, "CertificateDetailOut"),
        (detail["chain"][0], "ChainCertificateOut"),
    ]:
        schema = _schema(document, name)
        assert set(body) == set(schema["properties"]), name
        assert set(schema["required"]) == set(body), name


def test_errors_have_the_documented_fields(
    client: Client, acme: Organization, alice_token: str
) -> None:
    url = reverse("api:certificate-list", args=[acme.public_id])
    error = _schema(_document(client), "Error")

    for query in ["page=9", "page=0", "colour=blue"]:
        body = json.loads(api_get(client, f"{url}?{query}", alice_token).content)
        assert set(error["required"]) <= set(body) <= set(error["properties"]), query
        assert body["error"] in error["properties"]["error"]["enum"]


def test_every_error_code_the_api_can_answer_is_listed(client: Client, db: None) -> None:
    package = Path(certadmin.api.__file__).parent
    source = "\n".join(path.read_text() for path in package.glob("*.py"))

    raised = set(re.findall(r'(?:ApiError|error_response)\(\s*\d+,\s*"(\w+)"', source))
    raised |= set(mtls.reasons())
    listed = set(_schema(_document(client), "Error")["properties"]["error"]["enum"])

    assert {"missing_token", "not_found", "certificate_expired", "invalid_page"} <= raised
    assert raised <= listed, raised - listed
    assert listed == set(get_args(ErrorCode))


def test_the_document_names_the_servers_and_the_token_scheme(client: Client, db: None) -> None:
    document = _document(client)

    assert document["servers"][0]["description"] == "mutual-TLS listener"
    schemes = document["components"]["securitySchemes"]
    assert [scheme["scheme"] for scheme in schemes.values()] == ["bearer"]
