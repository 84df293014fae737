"""Update Signed Certificate with a 3-certificate chain on file (issue 15 item 8): a renewed
leaf uploaded alone keeps the stored intermediate and root that still sign it, and the page
says so; a leaf from another CA drops them, saying so; a whole chain replaces the stored one.
Certificates are made by openssl (tests.pem.OpenSslCa)."""

from pathlib import Path

from cryptography import x509
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from pytest_django.asserts import assertContains

from certadmin.models import Certificate
from certadmin.services.certificates import upload_signed_certificate
from orgs.models import AuditEvent, Organization
from tests.certadmin.conftest import ca_signed
from tests.pem import OpenSslCa


def _subjects(certificate: Certificate) -> list[str]:
    certificate.refresh_from_db()
    return [
        c.subject.rfc4514_string()
        for c in x509.load_pem_x509_certificates(certificate.chain_pem.encode())
    ]


def _update(client: Client, certificate: Certificate, data: bytes):  # type: ignore[no-untyped-def]
    url = reverse(
        "certadmin:certificate-upload-signed",
        args=[certificate.organization.public_id, certificate.uuid],
    )
    return client.post(url, {"certificate": _file(data)}, follow=True)


def _file(data: bytes):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("signed.pem", data)


FULL = [
    "CN=www.acme.test,O=Acme,L=Zürich,C=US",
    "O=Test CA Ltd,CN=Test Intermediate CA",
    "O=Test CA Ltd,CN=Test Root CA",
]


def _with_three(acme: Organization, ca: OpenSslCa) -> Certificate:
    certificate = ca_signed(acme)
    upload_signed_certificate(
        certificate=certificate,
        data=ca.sign(certificate.csr_pem, name="first") + ca.intermediate_pem + ca.root_pem,
        acting_user=None,
    )
    return certificate


def test_a_renewed_leaf_alone_keeps_the_stored_intermediates_and_says_so(
    alice_client: Client, acme: Organization, openssl_ca: OpenSslCa
) -> None:
    certificate = _with_three(acme, openssl_ca)
    assert [s.split(",")[0] for s in _subjects(certificate)] == [
        "CN=www.acme.test",
        "O=Test CA Ltd",
        "O=Test CA Ltd",
    ]
    form = alice_client.get(
        reverse("certadmin:certificate-upload-signed", args=[acme.public_id, certificate.uuid])
    )
    renewed = openssl_ca.sign(certificate.csr_pem, days=700, name="renewed")

    page = _update(alice_client, certificate, renewed)

    assertContains(
        form, "the intermediate and root certificates on file that still sign it are kept"
    )
    assert len(_subjects(certificate)) == 3
    assert certificate.not_after == x509.load_pem_x509_certificate(renewed).not_valid_after_utc
    assertContains(
        page,
        escape(
            "Kept 2 certificates of the stored chain that still sign the new certificate: "
            "'Test Intermediate CA', 'Test Root CA'."
        ),
    )
    assertContains(page, "The chain now holds 3 certificates")
    audit = AuditEvent.objects.filter(organization=acme, action="updatedSignedCert").get()
    assert "(chain of 3," in audit.message


def test_a_leaf_from_another_ca_drops_the_stored_chain_and_says_so(
    alice_client: Client, acme: Organization, openssl_ca: OpenSslCa, tmp_path: Path
) -> None:
    certificate = _with_three(acme, openssl_ca)
    other = OpenSslCa.create(tmp_path)

    page = _update(alice_client, certificate, other.sign(certificate.csr_pem))

    assert len(_subjects(certificate)) == 1
    assertContains(
        page,
        "Removed 2 certificates of the stored chain that do not sign the new certificate",
    )


def test_a_whole_chain_replaces_the_stored_one_without_a_note(
    alice_client: Client, acme: Organization, openssl_ca: OpenSslCa
) -> None:
    certificate = _with_three(acme, openssl_ca)

    page = _update(
        alice_client,
        certificate,
        openssl_ca.sign(certificate.csr_pem, name="again")
        + openssl_ca.intermediate_pem
        + openssl_ca.root_pem,
    )

    assert len(_subjects(certificate)) == 3
    assert "of the stored chain" not in page.content.decode()
    assertContains(page, "Saved the signed certificate of Web_Server.")


def test_a_leaf_with_its_intermediate_keeps_the_stored_root(
    acme: Organization, openssl_ca: OpenSslCa
) -> None:
    certificate = _with_three(acme, openssl_ca)

    result = upload_signed_certificate(
        certificate=certificate,
        data=openssl_ca.sign(certificate.csr_pem, name="two") + openssl_ca.intermediate_pem,
        acting_user=None,
    )

    assert len(_subjects(certificate)) == 3
    expected = (
        "Kept 1 certificate of the stored chain that still signs the new certificate: "
        "'Test Root CA'. The chain now holds 3 certificates; upload the whole "
        "chain to replace them."
    )
    assert result.notes == [expected]
