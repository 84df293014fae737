"""The certificate endpoints of the JSON API: list (paging, filters), detail, PEM."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from certadmin.models import Certificate
from orgs.models import Organization
from tests.api.conftest import api_get
from tests.certadmin.conftest import ca_signed, self_signed


def _list(org: Organization, **params: str) -> str:
    url = reverse("api:certificate-list", args=[org.public_id])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def _body(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content[:400]
    return json.loads(response.content)


def test_lists_the_orgs_certificates(
    client: Client, acme: Organization, globex: Organization, alice_token: str
) -> None:
    cert = self_signed(acme, "Payments_Signing")
    self_signed(globex, "Globex_Signing")

    body = _body(api_get(client, _list(acme), alice_token))

    assert body["count"] == 1
    assert body["next"] is None
    item = body["results"][0]
    assert item["id"] == str(cert.uuid)
    assert item["unique_name"] == "Payments_Signing"
    assert item["type"] == "self_signed"
    assert item["key_label"] == "ECDSA P-256"
    assert item["status"] == "active"
    assert item["fingerprint_sha256"] == cert.fingerprint_sha256
    assert item["not_after"].endswith("Z")
    assert item["expired"] is False
    assert item["url"] == reverse("api:certificate-detail", args=[acme.public_id, cert.uuid])
    assert item["pem_url"] == reverse("api:certificate-pem", args=[acme.public_id, cert.uuid])


def test_never_returns_a_private_key(client: Client, acme: Organization, alice_token: str) -> None:
    cert = self_signed(acme, "Payments_Signing")

    urls = [
        _list(acme),
        reverse("api:certificate-detail", args=[acme.public_id, cert.uuid]),
        reverse("api:certificate-pem", args=[acme.public_id, cert.uuid]),
    ]

    texts = [api_get(client, url, alice_token).content for url in urls]

    for text in texts:
        assert b"PRIVATE KEY" not in text
        assert b'"private_key"' not in text


def test_pages_through_many_certificates(
    client: Client, acme: Organization, alice_token: str
) -> None:
    for i in range(5):
        self_signed(acme, f"Cert_{i}")

    by_name = {"page_size": "2", "ordering": "unique_name"}

    first = _body(api_get(client, _list(acme, **by_name), alice_token))
    last = _body(api_get(client, _list(acme, page="3", **by_name), alice_token))

    assert first["count"] == 5
    assert [c["unique_name"] for c in first["results"]] == ["Cert_0", "Cert_1"]
    assert "page=2" in first["next"]
    assert first["previous"] is None
    assert [c["unique_name"] for c in last["results"]] == ["Cert_4"]
    assert last["next"] is None
    assert "page=2" in last["previous"]


def test_a_page_past_the_end_is_a_json_404(
    client: Client, acme: Organization, alice_token: str
) -> None:
    body = _body(api_get(client, _list(acme, page="9"), alice_token), 404)

    assert body["error"] == "invalid_page"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": "ca_signed"}, ["Web_Server"]),
        ({"type": "self_signed"}, ["Expiring", "Later"]),
        ({"status": "awaiting_signature"}, ["Web_Server"]),
        ({"status": "active"}, ["Expiring", "Later"]),
        ({"expiring_within_days": "30"}, []),
        ({"expiring_within_days": "400"}, ["Expiring"]),
        ({"expired": "false"}, ["Expiring", "Later"]),
        ({"expired": "true"}, []),
        ({"search": "later"}, ["Later"]),
        ({"search": "WEB"}, ["Web_Server"]),
        ({"ordering": "-expires"}, ["Later", "Expiring", "Web_Server"]),
    ],
)
def test_filters_the_list(
    client: Client,
    acme: Organization,
    alice_token: str,
    params: dict[str, str],
    expected: list[str],
) -> None:
    self_signed(acme, "Expiring")  # one year
    self_signed(acme, "Later", now=timezone.now() + timedelta(days=90))  # 90 days later
    ca_signed(acme, "Web_Server")

    body = _body(api_get(client, _list(acme, **params), alice_token))

    assert [c["unique_name"] for c in body["results"]] == expected


def test_an_expired_certificate_is_never_active(
    client: Client, acme: Organization, alice_token: str
) -> None:
    """Issue 15: Status says Expired for an expired certificate everywhere, the API included;
    `status=active` and `status=expired` split the org's certificates the same way."""
    self_signed(acme, "Current")
    self_signed(acme, "Lapsed", now=timezone.now() - timedelta(days=400))  # ended 35 days ago

    every = _body(api_get(client, _list(acme, ordering="unique_name"), alice_token))
    active = _body(api_get(client, _list(acme, status="active"), alice_token))
    expired = _body(api_get(client, _list(acme, status="expired"), alice_token))

    assert [(c["unique_name"], c["status"]) for c in every["results"]] == [
        ("Current", "active"),
        ("Lapsed", "expired"),
    ]
    assert [c["unique_name"] for c in active["results"]] == ["Current"]
    assert [c["unique_name"] for c in expired["results"]] == ["Lapsed"]


def test_filters_by_expiry_dates(client: Client, acme: Organization, alice_token: str) -> None:
    cert = self_signed(acme, "Payments_Signing")
    day = cert.not_after.date()

    window = {"expires_after": str(day), "expires_before": str(day + timedelta(days=1))}

    inside = _body(api_get(client, _list(acme, **window), alice_token))
    outside = _body(api_get(client, _list(acme, expires_before=str(day)), alice_token))

    assert inside["count"] == 1
    assert outside["count"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"page_size": "1000"}, "page_size"),
        ({"type": "rsa"}, "type"),
        ({"expired": "yes"}, "expired"),
        ({"expires_after": "last tuesday"}, "expires_after"),
        ({"ordering": "fingerprint"}, "ordering"),
        ({"colour": "blue"}, "query"),
        ({"search": "x" * 101}, "search"),
    ],
)
def test_bad_query_parameters_are_a_json_400(
    client: Client, acme: Organization, alice_token: str, params: dict[str, str], field: str
) -> None:
    body = _body(api_get(client, _list(acme, **params), alice_token), 400)

    assert body["error"] == "invalid_query"
    assert field in body["errors"]


def test_detail_has_the_chain(client: Client, acme: Organization, alice_token: str) -> None:
    cert = self_signed(acme, "Payments_Signing")

    body = _body(
        api_get(
            client, reverse("api:certificate-detail", args=[acme.public_id, cert.uuid]), alice_token
        )
    )

    assert body["unique_name"] == "Payments_Signing"
    assert body["csr_available"] is False
    assert len(body["chain"]) == 1
    assert body["chain"][0]["fingerprint_sha256"] == cert.fingerprint_sha256
    assert body["chain"][0]["subject"] == cert.subject


def test_pem_download_is_the_public_chain(
    client: Client, acme: Organization, alice_token: str
) -> None:
    cert = self_signed(acme, "Payments_Signing")

    response = api_get(
        client, reverse("api:certificate-pem", args=[acme.public_id, cert.uuid]), alice_token
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    assert response["Content-Disposition"] == 'attachment; filename="Payments_Signing.crt"'
    assert response.content.decode() == cert.chain_pem


def test_pem_of_a_certificate_awaiting_signature_is_a_json_409(
    client: Client, acme: Organization, alice_token: str
) -> None:
    cert = ca_signed(acme)

    response = api_get(
        client, reverse("api:certificate-pem", args=[acme.public_id, cert.uuid]), alice_token
    )

    assert _body(response, 409)["error"] == "awaiting_signature"


def test_another_orgs_certificate_id_is_a_404_in_your_org(
    client: Client, acme: Organization, globex: Organization, alice_token: str
) -> None:
    """Tenant isolation: Alice puts Globex's certificate id into an Acme URL."""
    theirs = self_signed(globex, "Globex_Signing")

    for name in ("api:certificate-detail", "api:certificate-pem"):
        response = api_get(client, reverse(name, args=[acme.public_id, theirs.uuid]), alice_token)
        assert _body(response, 404)["error"] == "not_found"


def test_list_queries_do_not_grow_with_rows(
    client: Client, acme: Organization, alice_token: str
) -> None:
    self_signed(acme, "Cert_0")
    api_get(client, _list(acme), alice_token)
    with CaptureQueriesContext(connection) as one:
        api_get(client, _list(acme), alice_token)

    for i in range(1, 6):
        self_signed(acme, f"Cert_{i}")
    with CaptureQueriesContext(connection) as many:
        response = api_get(client, _list(acme), alice_token)

    assert _body(response)["count"] == 6
    assert len(many) == len(one)


def test_answers_are_never_cached(client: Client, acme: Organization, alice_token: str) -> None:
    response = api_get(client, _list(acme), alice_token)

    assert response["Cache-Control"] == "no-store"


def test_lists_no_private_key_column(client: Client, acme: Organization, alice_token: str) -> None:
    """The list query itself leaves the sealed key in the database."""
    self_signed(acme, "Payments_Signing")

    with CaptureQueriesContext(connection) as queries:
        api_get(client, _list(acme), alice_token)

    certificate_queries = [
        q["sql"] for q in queries if Certificate._meta.db_table in q["sql"] and "SELECT" in q["sql"]
    ]
    assert certificate_queries
    assert all("private_key" not in sql for sql in certificate_queries)


def test_days_left_is_counted_in_calendar_days_of_the_orgs_zone(
    client: Client, acme: Organization, alice_token: str
) -> None:
    """The pages' days left (orgs.clock): a certificate expiring one minute before midnight
    of the org's day has 0 days left there, whatever UTC's day is."""
    acme.time_zone = "Pacific/Kiritimati"  # UTC+14: its day is rarely UTC's
    acme.save()
    tz = acme.tzinfo
    local_now = timezone.now().astimezone(tz)
    tonight = local_now.replace(hour=23, minute=59, second=0, microsecond=0)
    cert = self_signed(acme, "Tonight")
    Certificate.objects.filter(pk=cert.pk).update(not_after=tonight)
    gone = self_signed(acme, "Gone")
    Certificate.objects.filter(pk=gone.pk).update(not_after=tonight - timedelta(days=4))
    early = self_signed(acme, "Early_Tomorrow")  # under 24 hours away, but tomorrow
    Certificate.objects.filter(pk=early.pk).update(not_after=tonight + timedelta(minutes=31))

    items = {
        i["unique_name"]: i for i in _body(api_get(client, _list(acme), alice_token))["results"]
    }
    today_only = _body(api_get(client, _list(acme, expiring_within_days="0"), alice_token))

    assert (items["Tonight"]["days_left"], items["Tonight"]["days_until_expiry"]) == (0, 0)
    assert items["Gone"]["days_left"] == -4
    assert items["Early_Tomorrow"]["days_left"] == 1
    assert [i["unique_name"] for i in today_only["results"]] == ["Tonight"]
