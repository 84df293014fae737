import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from certadmin.models import Certificate
from orgs.models import Organization
from tests.certadmin.conftest import ca_signed, self_signed
from tests.pem import OpenSslCa


def _list(org: Organization, **params: str) -> str:
    url = reverse("certadmin:certificate-list", args=[org.public_id])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_admin_creates_a_self_signed_certificate(alice_client: Client, acme: Organization) -> None:
    response = alice_client.post(
        reverse("certadmin:certificate-create-self-signed", args=[acme.public_id]),
        {
            "label": "Payments Signing",
            "unique_name": "Payments_Signing",
            "key_type": "EC-P256",
            "exportable": "on",
        },
        follow=True,
    )

    assertContains(response, "Created self-signed certificate Payments_Signing.")
    assertContains(response, "ECDSA P-256")
    assert Certificate.objects.get(organization=acme).exportable


def test_create_form_explains_every_broken_rule(alice_client: Client, acme: Organization) -> None:
    response = alice_client.post(
        reverse("certadmin:certificate-create-self-signed", args=[acme.public_id]),
        {"label": "x" * 65, "unique_name": "9 bad__name_", "key_type": "RSA-1024"},
    )

    assert response.status_code == 400
    for text in (
        "at most 64",
        "begin with a letter",
        "cannot contain spaces",
        "two consecutive underscores",
        "cannot end with an underscore",
        "RSA-1024 is not one",
    ):
        assertContains(response, text, status_code=400)
    assert not Certificate.objects.exists()


def test_duplicate_unique_name_in_another_case_is_refused_on_the_page(
    alice_client: Client, acme: Organization
) -> None:
    self_signed(acme, name="Payments")

    response = alice_client.post(
        reverse("certadmin:certificate-create-self-signed", args=[acme.public_id]),
        {"label": "P", "unique_name": "PAYMENTS", "key_type": "EC-P256"},
    )

    assertContains(response, "already exists", status_code=400)


def test_ca_signed_form_refuses_a_three_letter_country(
    alice_client: Client, acme: Organization
) -> None:
    response = alice_client.post(
        reverse("certadmin:certificate-create-ca-signed", args=[acme.public_id]),
        {
            "label": "W",
            "unique_name": "W",
            "key_type": "EC-P256",
            "common_name": "w.test",
            "country": "USA",
        },
    )

    assert response.status_code == 400
    assert not Certificate.objects.exists()


def test_list_shows_badges_and_filters(alice_client: Client, acme: Organization) -> None:
    now = timezone.now()
    soon = self_signed(acme, name="Soon")
    Certificate.objects.filter(pk=soon.pk).update(not_after=now + timedelta(days=10, hours=1))
    old = self_signed(acme, name="Old")
    Certificate.objects.filter(pk=old.pk).update(not_after=now - timedelta(days=3))
    self_signed(acme, name="Fresh")
    ca_signed(acme, name="Pending")

    everything = alice_client.get(_list(acme))
    expired = alice_client.get(_list(acme, filter="expired"))
    within_30 = alice_client.get(_list(acme, filter="30"))
    awaiting = alice_client.get(_list(acme, filter="awaiting"))

    assertContains(everything, "expires in 10 days")
    assertContains(everything, '<span class="badge expired">expired 3 days ago</span>', html=True)
    assertContains(everything, "<td>Expired</td>", html=True)
    assertContains(everything, "awaiting signed certificate")
    assertContains(expired, "Old")
    assertNotContains(expired, "Fresh")
    assertContains(within_30, "Soon")
    assertNotContains(within_30, ">Old<")
    assertContains(awaiting, "Pending")
    assertNotContains(awaiting, "Fresh")


def test_list_shows_what_users_typed_as_text(alice_client: Client, acme: Organization) -> None:
    c = self_signed(acme, name="Payments_Signing")
    Certificate.objects.filter(pk=c.pk).update(label="<b>Pay</b> & sign")

    response = alice_client.get(_list(acme))

    assertContains(response, "&lt;b&gt;Pay&lt;/b&gt; &amp; sign")
    assertNotContains(response, "<b>Pay</b>")


def test_list_sorts_by_expiry_both_ways(alice_client: Client, acme: Organization) -> None:
    now = timezone.now()
    for name, days in (("Later", 200), ("Sooner", 20)):
        c = self_signed(acme, name=name)
        Certificate.objects.filter(pk=c.pk).update(not_after=now + timedelta(days=days))

    ascending = alice_client.get(_list(acme, sort="expires")).content.decode()
    descending = alice_client.get(_list(acme, sort="-expires")).content.decode()

    assert ascending.index("Sooner") < ascending.index("Later")
    assert descending.index("Later") < descending.index("Sooner")


def test_list_query_count_does_not_grow_with_rows(alice_client: Client, acme: Organization) -> None:
    self_signed(acme, name="One")
    alice_client.get(_list(acme))
    with CaptureQueriesContext(connection) as one:
        alice_client.get(_list(acme))
    for n in range(12):
        self_signed(acme, name=f"More_{n}")
    with CaptureQueriesContext(connection) as many:
        alice_client.get(_list(acme))

    assert len(one) > 0
    assert len(many) == len(one)


def test_list_never_shows_another_orgs_certificates(
    alice_client: Client, acme: Organization, globex: Organization
) -> None:
    self_signed(globex, name="Globex_Secret")

    assertNotContains(alice_client.get(_list(acme)), "Globex_Secret")


def test_detail_shows_spec_2_facts_and_never_the_key(
    alice_client: Client, acme: Organization
) -> None:
    certificate = self_signed(acme, key_type="RSA-2048")

    response = alice_client.get(certificate.get_absolute_url())

    for text in (
        "Payments_Signing",
        "Self-Signed",
        "RSA 2048",
        "SHA-256 Fingerprint",
        "Serial Number",
        f"OU={acme.public_id}",
        "Where is this used?",
        "Download Certificate",
    ):
        assertContains(response, text)
    assertNotContains(response, "PRIVATE KEY")
    assertNotContains(response, "Download Certificate Signing Request")


def test_downloads_are_named_after_the_unique_name(
    alice_client: Client, acme: Organization
) -> None:
    certificate = ca_signed(acme, name="Web_Server")

    csr = alice_client.get(
        reverse("certadmin:certificate-csr-download", args=[acme.public_id, certificate.uuid])
    )

    assert csr["Content-Disposition"] == 'attachment; filename="Web_Server.csr"'
    assert csr.content.startswith(b"-----BEGIN CERTIFICATE REQUEST-----")


def _upload(client: Client, certificate: Certificate, data: bytes, name: str = "signed.pem"):  # type: ignore[no-untyped-def]
    return client.post(
        reverse(
            "certadmin:certificate-upload-signed",
            args=[certificate.organization.public_id, certificate.uuid],
        ),
        {"certificate": SimpleUploadedFile(name, data)},
    )


def test_upload_through_the_page_makes_it_active(
    alice_client: Client, acme: Organization, openssl_ca: OpenSslCa
) -> None:
    certificate = ca_signed(acme)

    response = _upload(
        alice_client,
        certificate,
        openssl_ca.sign(certificate.csr_pem) + openssl_ca.intermediate_pem,
    )

    assert response.status_code == 302
    page = alice_client.get(certificate.get_absolute_url())
    assertContains(page, "Update Signed Certificate")
    assertContains(page, "Test Intermediate CA")
    crt = alice_client.get(
        reverse("certadmin:certificate-download", args=[acme.public_id, certificate.uuid])
    )
    assert crt["Content-Disposition"] == 'attachment; filename="Web_Server.crt"'


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x00\xff" * 500, "No certificate was found"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "damaged"),
        (
            b"-----BEGIN CERTIFICATE-----\n"
            + b"QUFB" * (3 * 1024 * 1024)
            + b"\n-----END CERTIFICATE-----\n",
            "limit",
        ),
    ],
)
def test_bad_upload_on_the_page_is_a_400_with_a_message(
    alice_client: Client, acme: Organization, data: bytes, message: str
) -> None:
    certificate = ca_signed(acme)

    response = _upload(alice_client, certificate, data)

    assertContains(response, message, status_code=400)
    assertContains(response, "Nothing was changed.", status_code=400)
    assert Certificate.objects.get(pk=certificate.pk).is_awaiting_signature


def test_delete_asks_first_then_deletes(alice_client: Client, acme: Organization) -> None:
    certificate = self_signed(acme)
    url = reverse("certadmin:certificate-delete", args=[acme.public_id, certificate.uuid])

    confirm = alice_client.get(url)
    done = alice_client.post(url, follow=True)

    assertContains(confirm, "removes the certificate")
    assertContains(done, "Deleted certificate Payments_Signing.")
    assert not Certificate.objects.exists()


def test_edit_changes_label_and_unique_name(alice_client: Client, acme: Organization) -> None:
    certificate = self_signed(acme)

    alice_client.post(
        reverse("certadmin:certificate-edit", args=[acme.public_id, certificate.uuid]),
        {"label": "Renamed", "unique_name": "Renamed_Cert"},
    )

    certificate.refresh_from_db()
    assert (certificate.label, certificate.unique_name) == ("Renamed", "Renamed_Cert")


def test_admin_never_shows_the_private_key(client: Client, acme: Organization) -> None:
    certificate = self_signed(acme)
    root = User.objects.create_superuser("root", "r@example.test", "pw-root-12345")
    client.force_login(root)

    response = client.get(f"/admin/certadmin/certificate/{certificate.pk}/change/")

    assert response.status_code == 200
    assertContains(response, "Payments_Signing")
    assertNotContains(response, "private_key")
    assertNotContains(response, "Private key")


def test_admin_offers_no_bulk_delete_that_bypasses_the_usage_guard(
    client: Client, acme: Organization
) -> None:
    self_signed(acme)
    root = User.objects.create_superuser("root", "r@example.test", "pw-root-12345")
    client.force_login(root)

    response = client.get("/admin/certadmin/certificate/")

    assertNotContains(response, 'value="delete_selected"')
    assertContains(response, 'value="delete_selected_certificates"')


def _bulk_certificates(org: Organization, count: int, start: int = 0) -> None:
    """`count` listed certificates written at once (the list never reads their key)."""
    now = timezone.now()
    Certificate.objects.bulk_create(
        Certificate(
            organization=org, label=f"Bulk {i:03}", unique_name=f"Bulk_{i:03}",
            kind="self_signed", key_type="EC-P256", private_key=b"\x01sealed-dummy",
            not_before=now - timedelta(days=1), not_after=now + timedelta(days=i + 1),
        )
        for i in range(start, start + count)
    )  # fmt: skip


@pytest.mark.parametrize("sort", ["label", "expires"])
def test_deep_sorted_page_query_count_does_not_grow_with_rows(
    alice_client: Client, acme: Organization, sort: str
) -> None:
    _bulk_certificates(acme, 10)
    alice_client.get(_list(acme, sort=sort, page="3"))
    with CaptureQueriesContext(connection) as few:
        alice_client.get(_list(acme, sort=sort, page="3"))
    _bulk_certificates(acme, 150, start=10)
    with CaptureQueriesContext(connection) as many:
        response = alice_client.get(_list(acme, sort=sort, page="3"))

    assertContains(response, "Bulk_1")  # page 3 of 4 has rows
    assert len(few) > 0
    assert len(many) == len(few)


def _page_order(client: Client, url: str) -> list[str]:
    """The certificate columns of the ORDER BY of the page's main query."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    sql = next(
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "certadmin_certificate"."id"') and "ORDER BY" in q["sql"]
    )
    return re.findall(r'"certadmin_certificate"\."(\w+)"', sql.split("ORDER BY")[1])


@pytest.mark.parametrize(
    ("url_name", "params"),
    [
        ("certadmin:certificate-list", {}),
        ("certadmin:certificate-list", {"sort": "label", "page": "150"}),
        ("certadmin:certificate-expired", {}),
    ],
)
def test_a_page_of_a_big_org_is_read_in_index_order(
    alice_client: Client, acme: Organization, url_name: str, params: dict[str, str]
) -> None:
    """Page 150 of 10,000 certificates costs about what page 1 does only if the database walks
    an index in the page's order (tie-breaker included) instead of sorting every row of the
    org (issue 14: 2.4x the first page without)."""
    _bulk_certificates(acme, 3)
    url = reverse(url_name, args=[acme.public_id])
    order = _page_order(alice_client, url + ("?" + urlencode(params) if params else ""))
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "certadmin_certificate")

    wanted = ["organization_id", *order]
    leading = [c["columns"][: len(wanted)] for c in constraints.values() if c["index"]]
    assert wanted in leading  # (PostgreSQL lists an index's INCLUDE columns after these)
