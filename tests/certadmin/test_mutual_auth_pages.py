"""The Mutual Authentication Certificates pages: upload, the list section, detail, download,
delete. (Anonymous, bob and carol are walked through every URL by tests/test_url_matrix.py.)"""

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from certadmin.models import MutualAuthCertificate
from certadmin.services.mutual_auth import upload_mutual_auth_certificate
from orgs.models import AuditEvent, Organization
from tests.client_certs import ClientCertificate

pytestmark = pytest.mark.usefixtures("trust_client_ca")


def _upload_url(org: Organization) -> str:
    return reverse("certadmin:mutual-auth-upload", args=[org.public_id])


def _register(org: Organization, client: ClientCertificate, name: str) -> MutualAuthCertificate:
    result = upload_mutual_auth_certificate(
        org=org, label=name, unique_name=name, data=client.chain_pem, acting_user=None
    )
    return result.certificate


def _post(client: Client, org: Organization, data: bytes, name: str = "Api_Client") -> object:
    return client.post(
        _upload_url(org),
        {
            "label": "API client",
            "unique_name": name,
            "certificate": SimpleUploadedFile("client.pem", data),
        },
        follow=True,
    )


def test_admin_uploads_a_client_certificate(
    alice_client: Client, acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    response = _post(alice_client, acme, client_certs["acme"].chain_pem)

    assertContains(response, "Uploaded mutual authentication certificate Api_Client.")
    assertContains(response, "CN=acme-client, O=Client Ltd")
    assertContains(response, "Certificate Chain")
    assert MutualAuthCertificate.objects.get().created_by.username == "alice"


def test_upload_page_shows_the_warning_for_a_server_auth_certificate(
    alice_client: Client, acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    response = _post(alice_client, acme, client_certs["both"].chain_pem)

    assertContains(response, "also valid for server authentication", count=2)


def test_refused_upload_says_why_and_stores_nothing(
    alice_client: Client, acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    response = _post(alice_client, acme, client_certs["server_only"].chain_pem)

    assertContains(response, "clientAuth extended key usage", status_code=400)
    assertContains(response, "Nothing was stored.", status_code=400)
    assert not MutualAuthCertificate.objects.exists()


@pytest.mark.parametrize("data", [b"\x00\xff" * 300, b"-----BEGIN CERTIFICATE-----\n", b""])
def test_garbage_is_a_400_page_not_a_500(
    alice_client: Client, acme: Organization, data: bytes
) -> None:
    response = _post(alice_client, acme, data)

    assert response.status_code == 400


def test_certificate_from_another_org_is_refused_on_the_page(
    alice_client: Client,
    acme: Organization,
    globex: Organization,
    client_certs: dict[str, ClientCertificate],
) -> None:
    _register(globex, client_certs["globex"], "Globex_Client")

    response = _post(alice_client, acme, client_certs["globex"].chain_pem)

    assertContains(response, "must be used only in one org", status_code=400)


def test_list_page_has_the_mutual_authentication_section(
    alice_client: Client,
    acme: Organization,
    globex: Organization,
    client_certs: dict[str, ClientCertificate],
) -> None:
    _register(acme, client_certs["acme"], "Acme_Client")
    _register(globex, client_certs["globex"], "Globex_Client")

    response = alice_client.get(reverse("certadmin:certificate-list", args=[acme.public_id]))

    assertContains(response, "Mutual Authentication Certificates")
    assertContains(response, "Upload Mutual Authentication Certificate")
    assertContains(response, "Acme_Client")
    assertNotContains(response, "Globex_Client")


def test_list_section_shows_the_soonest_expiring_first_and_sorts_both_ways(
    alice_client: Client, acme: Organization, client_ca: object
) -> None:
    """Soonest expiry first, then by Unique Name (registered here in the other order); each
    heading sorts the section both ways, without touching the certificates table's sort."""
    for name, days in (("Zeta", 30), ("Later", 300), ("Alpha", 30), ("Middle", 100)):
        _register(acme, client_ca.issue(name.lower(), days=days), name)  # type: ignore[attr-defined]
    same_day = MutualAuthCertificate.objects.get(unique_name="Zeta").not_after
    MutualAuthCertificate.objects.filter(unique_name="Alpha").update(not_after=same_day)
    url = reverse("certadmin:certificate-list", args=[acme.public_id])

    def order(**params: str) -> list[str]:
        html = alice_client.get(url, params).content.decode()
        section = html.split('id="mutual-auth-certificates"')[1]
        shown = [name for name in ("Alpha", "Zeta", "Middle", "Later") if name in section]
        return sorted(shown, key=section.index)

    assert order() == ["Alpha", "Zeta", "Middle", "Later"]
    assert order(msort="expires", mdir="desc") == ["Later", "Middle", "Zeta", "Alpha"]
    assert order(msort="unique_name", mdir="asc") == ["Alpha", "Later", "Middle", "Zeta"]
    assert order(msort="unique_name", mdir="desc") == ["Zeta", "Middle", "Later", "Alpha"]
    assert order(q="middle") == ["Middle"]


def test_list_page_queries_do_not_grow_with_mutual_auth_rows(
    alice_client: Client, acme: Organization, client_ca: object
) -> None:
    url = reverse("certadmin:certificate-list", args=[acme.public_id])
    _register(acme, client_ca.issue("rows-0"), "Rows_0")  # type: ignore[attr-defined]
    alice_client.get(url)
    with CaptureQueriesContext(connection) as one:
        alice_client.get(url)

    for i in range(1, 4):
        _register(acme, client_ca.issue(f"rows-{i}"), f"Rows_{i}")  # type: ignore[attr-defined]
    with CaptureQueriesContext(connection) as many:
        response = alice_client.get(url)

    assertContains(response, "Rows_3")
    assert len(many) == len(one)


def test_detail_shows_the_stored_facts(
    alice_client: Client, acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    cert = _register(acme, client_certs["acme"], "Acme_Client")

    response = alice_client.get(cert.get_absolute_url())

    assertContains(response, "Mutual Authentication Certificate: Acme_Client")
    assertContains(response, cert.serial)
    assertContains(response, "O=Test CA Ltd, CN=Test Intermediate CA")
    assertContains(response, client_certs["acme"].fingerprint[:2].upper())


def test_download_returns_the_chain_as_pem(
    alice_client: Client, acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    cert = _register(acme, client_certs["acme"], "Acme_Client")

    response = alice_client.get(
        reverse("certadmin:mutual-auth-download", args=[acme.public_id, cert.uuid])
    )

    assert response["Content-Disposition"] == 'attachment; filename="Acme_Client.crt"'
    assert response.content.decode() == cert.chain_pem
    assert b"PRIVATE KEY" not in response.content


def test_delete_asks_then_deletes_and_records_it(
    alice_client: Client, acme: Organization, client_certs: dict[str, ClientCertificate]
) -> None:
    cert = _register(acme, client_certs["acme"], "Acme_Client")
    url = reverse("certadmin:mutual-auth-delete", args=[acme.public_id, cert.uuid])

    confirm = alice_client.get(url)
    response = alice_client.post(url, follow=True)

    assertContains(confirm, "are refused")
    assertContains(response, "Deleted mutual authentication certificate Acme_Client.")
    assert not MutualAuthCertificate.objects.exists()
    assert AuditEvent.objects.filter(
        organization=acme, message="Deleted mutual authentication certificate Acme_Client"
    ).exists()


def test_other_orgs_admin_cannot_see_it(
    client: Client,
    acme: Organization,
    carol: User,
    client_certs: dict[str, ClientCertificate],
) -> None:
    cert = _register(acme, client_certs["acme"], "Acme_Client")
    client.force_login(carol)

    response = client.get(cert.get_absolute_url())

    assert response.status_code == 404


def test_member_without_manage_certificates_gets_403(
    client: Client, acme: Organization, bob: User, client_certs: dict[str, ClientCertificate]
) -> None:
    cert = _register(acme, client_certs["acme"], "Acme_Client")
    client.force_login(bob)

    response = client.get(cert.get_absolute_url())

    assertContains(response, "Manage Certificates", status_code=403)
