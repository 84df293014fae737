"""Enforce SSL/TLS Mutual Authentication at the API, with the proxy's headers simulated
(the real listener is tests/mtls/): each refusal is a JSON 401 that says why."""

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django.fixtures import Settings

from certadmin import mtls
from certadmin.services.mutual_auth import upload_mutual_auth_certificate
from orgs.models import Organization
from tests.api.conftest import make_token
from tests.client_certs import ClientCertificate, register_expired
from tests.conftest import grant

PROXY = "127.0.0.2"

pytestmark = pytest.mark.usefixtures("trust_client_ca", "behind_proxy")


@pytest.fixture
def behind_proxy(settings: Settings) -> None:
    settings.CERTADMIN_MTLS_TRUSTED_PROXIES = [PROXY]
    settings.CERTADMIN_MTLS_PROXY_SECRET = ""


@pytest.fixture
def registered(
    acme: Organization, globex: Organization, client_certs: dict[str, ClientCertificate]
) -> dict[str, ClientCertificate]:
    """Acme's and Globex's client certificates, and one of Acme's that has expired since."""
    for org, key in [(acme, "acme"), (globex, "globex")]:
        upload_mutual_auth_certificate(
            org=org,
            label=key,
            unique_name=f"Client_{key}",
            data=client_certs[key].chain_pem,
            acting_user=None,
        )
    register_expired(acme, client_certs["expired"], "expired")
    return client_certs


@pytest.fixture
def enforced_token(acme: Organization, alice: User) -> str:
    grant(acme, alice, "enforce_mutual_authentication")
    return make_token(acme, alice)


def _get(
    client: Client,
    org: Organization,
    token: str,
    *,
    cert: ClientCertificate | None = None,
    marker: str | None = "mtls",
    remote: str = PROXY,
    **headers: str,
) -> Any:
    meta = {"HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": remote}
    if marker is not None:
        meta["HTTP_X_CERTADMIN_LISTENER"] = marker
    if cert is not None:
        meta["HTTP_X_CERTADMIN_CLIENT_CERT"] = quote(cert.cert.read_text(), safe="")
    meta.update(headers)
    return client.get(reverse("api:certificate-list", args=[org.public_id]), **meta)


def _refusal(response: Any) -> str:
    assert response.status_code == 401, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert "insufficient_user_authentication" in response["WWW-Authenticate"]
    return str(json.loads(response.content)["error"])


def test_matching_certificate_over_the_mtls_listener_is_let_in(
    client: Client,
    acme: Organization,
    enforced_token: str,
    registered: dict[str, ClientCertificate],
) -> None:
    response = _get(client, acme, enforced_token, cert=registered["acme"])

    assert response.status_code == 200


def test_without_the_mtls_listener(
    client: Client, acme: Organization, enforced_token: str, registered: dict[str, Any]
) -> None:
    response = _get(client, acme, enforced_token, cert=registered["acme"], marker="tls")

    assert _refusal(response) == "not_mtls_listener"
    assert "mutual-TLS listener" in json.loads(response.content)["detail"]


def test_without_a_client_certificate(
    client: Client, acme: Organization, enforced_token: str, registered: dict[str, Any]
) -> None:
    assert _refusal(_get(client, acme, enforced_token)) == "no_client_certificate"


def test_with_an_unknown_certificate(
    client: Client, acme: Organization, enforced_token: str, registered: dict[str, Any]
) -> None:
    response = _get(client, acme, enforced_token, cert=registered["unknown"])

    assert _refusal(response) == "unknown_certificate"


def test_with_another_orgs_certificate(
    client: Client, acme: Organization, enforced_token: str, registered: dict[str, Any]
) -> None:
    response = _get(client, acme, enforced_token, cert=registered["globex"])

    assert _refusal(response) == "certificate_of_another_org"


def test_with_an_expired_certificate(
    client: Client, acme: Organization, enforced_token: str, registered: dict[str, Any]
) -> None:
    response = _get(client, acme, enforced_token, cert=registered["expired"])

    assert _refusal(response) == "certificate_expired"


def test_a_garbled_certificate_header_counts_as_none(
    client: Client, acme: Organization, enforced_token: str, registered: dict[str, Any]
) -> None:
    response = _get(client, acme, enforced_token, HTTP_X_CERTADMIN_CLIENT_CERT="-----BEGIN%20junk")

    assert _refusal(response) == "no_client_certificate"


def test_headers_from_an_untrusted_address_are_ignored(
    client: Client, acme: Organization, enforced_token: str, registered: dict[str, Any]
) -> None:
    """A client talking to the app directly cannot claim the mutual-TLS listener."""
    response = _get(client, acme, enforced_token, cert=registered["acme"], remote="127.0.0.1")

    assert _refusal(response) == "not_mtls_listener"


def test_headers_without_the_proxy_secret_are_ignored(
    client: Client,
    acme: Organization,
    enforced_token: str,
    registered: dict[str, Any],
    settings: Settings,
) -> None:
    settings.CERTADMIN_MTLS_PROXY_SECRET = "s3cret"

    wrong = _get(
        client, acme, enforced_token, cert=registered["acme"], HTTP_X_CERTADMIN_PROXY_SECRET="x"
    )
    right = _get(
        client,
        acme,
        enforced_token,
        cert=registered["acme"],
        HTTP_X_CERTADMIN_PROXY_SECRET="s3cret",
    )

    assert _refusal(wrong) == "not_mtls_listener"
    assert right.status_code == 200


def test_a_user_without_the_permission_needs_no_certificate(
    client: Client, acme: Organization, alice_token: str, registered: dict[str, Any]
) -> None:
    response = _get(client, acme, alice_token, marker=None)

    assert response.status_code == 200


def test_a_superuser_is_not_bound_by_enforce(
    client: Client, acme: Organization, alice: User, enforced_token: str
) -> None:
    alice.is_superuser = True
    alice.save()

    response = _get(client, acme, enforced_token, marker=None)

    assert response.status_code == 200


def test_the_proxy_networks_may_be_given_as_cidr(settings: Settings) -> None:
    settings.CERTADMIN_MTLS_TRUSTED_PROXIES = ["10.1.0.0/16", "::1"]

    assert mtls.is_trusted_proxy("10.1.2.3")
    assert mtls.is_trusted_proxy("::1")
    assert not mtls.is_trusted_proxy("10.2.0.1")
    assert not mtls.is_trusted_proxy("not an address")
    assert not mtls.is_trusted_proxy("")


def test_nothing_is_trusted_by_default(settings: Settings) -> None:
    settings.CERTADMIN_MTLS_TRUSTED_PROXIES = []

    assert not mtls.is_trusted_proxy("127.0.0.1")


def test_untrusted_copies_of_the_headers_are_removed_before_views_run() -> None:
    """The middleware strips them, so no code can read a client's forged header."""
    request = RequestFactory().get(
        "/",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_CERTADMIN_CLIENT_CERT="x",
        HTTP_X_CERTADMIN_LISTENER="mtls",
    )
    seen: dict[str, Any] = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen.update(request.META)
        return HttpResponse()

    mtls.ClientCertificateMiddleware(view)(request)

    assert "HTTP_X_CERTADMIN_CLIENT_CERT" not in seen
    assert "HTTP_X_CERTADMIN_LISTENER" not in seen
    assert mtls.client_tls(request).over_mtls_listener is False
