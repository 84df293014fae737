"""Named Credentials against a real HTTPS server on 127.0.0.1 that requires client certificates
(tests/callout_peers.py): accepted with the right certificate; refused with none, another
org's, an expired one; a server certificate from an unknown CA, or expired, refused."""

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from certadmin import usage
from certadmin.models import Certificate, NamedCredential
from certadmin.services import callout, replace
from certadmin.services import certificates as certificate_services
from keys import envelope
from orgs.models import AuditEvent, Organization
from tests.callout_peers import Peer, Pki, closed_port, https_server, silent_port
from tests.certadmin.conftest import ca_signed, self_signed
from tests.conftest import grant

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def client_ca() -> Pki:
    return Pki("Partner Client CA")


@pytest.fixture(scope="module")
def server_ca() -> Pki:
    return Pki("Partner Server CA")


@pytest.fixture
def peer(tmp_path: Path, server_ca: Pki, client_ca: Pki) -> Peer:
    with https_server(tmp_path, server_pki=server_ca, client_ca=client_ca) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    callout.clear_cache()


def org_certificate(
    org: Organization, ca: Pki, name: str = "Partner_Client", **dates: datetime
) -> Certificate:
    """An org certificate (key made by certadmin) signed by `ca`, chain uploaded."""
    certificate = ca_signed(org, name)
    at = dates.get("not_before", NOW) + timedelta(minutes=1)
    certificate_services.upload_signed_certificate(
        certificate=certificate,
        data=ca.sign_csr(certificate.csr_pem, **dates),
        acting_user=None,
        now=at,
    )
    certificate.refresh_from_db()
    return certificate


def credential(
    org: Organization,
    certificate: Certificate,
    url: str,
    *,
    trust_pem: str,
    name: str = "Partner_API",
    sign: bool = False,
    now: datetime | None = None,
) -> NamedCredential:
    return callout.create_named_credential(
        org=org,
        data=callout.CredentialSettings(
            label=name.replace("_", " "),
            name=name,
            url=url,
            certificate=certificate,
            trust=NamedCredential.Trust.UPLOADED,
            trust_pem=trust_pem,
            sign_requests=sign,
        ),
        acting_user=None,
        now=now,
    )


def test_the_right_certificate_is_accepted_and_the_page_says_what_happened(
    acme: Organization, client_ca: Pki, server_ca: Pki, peer: Peer
) -> None:
    cert = org_certificate(acme, client_ca)
    cred = credential(acme, cert, peer.url, trust_pem=server_ca.pem.decode())

    report = callout.check_connection(cred)

    assert report.ok, report.failure
    assert report.http_status == 200
    assert report.tls_version == "TLSv1.3"
    assert report.certificate_requested
    assert report.certificate_accepted
    assert "accepted ours" in report.client_certificate_text
    assert [subject for subject, _, _ in report.server_chain] == [
        "O=Peer Test,CN=localhost",
        "O=Peer Test,CN=Partner Server CA",
    ]
    assert peer.received[0].client_subject == "organizationName=Acme,commonName=www.acme.test" or (
        "www.acme.test" in peer.received[0].client_subject
    )


def test_requests_reuse_one_context_and_open_the_sealed_key_once(
    acme: Organization, client_ca: Pki, server_ca: Pki, peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = org_certificate(acme, client_ca)
    cred = credential(acme, cert, peer.url, trust_pem=server_ca.pem.decode(), sign=True)
    opened: list[str] = []
    real = envelope.open_sealed

    def counting(blob: bytes, *, purpose: str) -> bytes:
        opened.append(purpose)
        return real(blob, purpose=purpose)

    monkeypatch.setattr(envelope, "open_sealed", counting)

    statuses = [callout.send(cred, "POST", content=b"{}").status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert len(peer.received) == 5
    assert len(opened) == 1  # once for the TLS context and the signer, not per request
    # Renew switches the credential to the new certificate: a new context, with the new key.
    renewed = replace.replace_certificate(
        org=acme, old=cert, new=org_certificate(acme, client_ca, "Partner_Client_2"),
        acting_user=None,
    )  # fmt: skip
    cred.refresh_from_db()
    assert cred.certificate == renewed.certificate
    opened.clear()
    assert callout.send(cred).status_code == 200
    assert callout.send(cred).status_code == 200
    assert len(opened) == 1
    assert peer.received[0].client_serial == _serial(cert)
    assert peer.received[-1].client_serial == _serial(renewed.certificate)


def _serial(certificate: Certificate) -> int:
    return int(certificate.serial.replace(":", ""), 16)


def test_no_client_certificate_is_refused_by_the_peer(
    server_ca: Pki, peer: Peer, tmp_path: Path
) -> None:
    """The peer really requires one: the same request without a certificate fails."""
    (tmp_path / "ca.pem").write_bytes(server_ca.pem)
    with pytest.raises(httpx.HTTPError):
        httpx.get(peer.url, verify=ssl.create_default_context(cafile=tmp_path / "ca.pem"))
    assert peer.received == []


def test_another_orgs_certificate_is_refused(
    globex: Organization, server_ca: Pki, peer: Peer
) -> None:
    other = org_certificate(globex, Pki("Globex Own CA"))
    cred = credential(globex, other, peer.url, trust_pem=server_ca.pem.decode())

    report = callout.check_connection(cred)

    assert not report.ok
    assert "refused the handshake" in report.failure
    assert report.certificate_requested
    assert report.certificate_accepted is False
    assert "refused ours" in report.client_certificate_text
    assert peer.received == []


def test_an_expired_certificate_is_refused_by_the_server(
    acme: Organization, client_ca: Pki, server_ca: Pki, peer: Peer
) -> None:
    expired = org_certificate(
        acme, client_ca, not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=1)
    )
    cred = credential(
        acme, expired, peer.url, trust_pem=server_ca.pem.decode(), now=NOW - timedelta(days=2)
    )

    report = callout.check_connection(cred)

    assert not report.ok
    assert "TLS alert: certificate expired" in report.failure
    assert peer.received == []


def test_a_server_certificate_from_an_unknown_ca_is_refused(
    acme: Organization, client_ca: Pki, peer: Peer
) -> None:
    cert = org_certificate(acme, client_ca)
    cred = credential(acme, cert, peer.url, trust_pem=Pki("Unrelated CA").pem.decode())

    report = callout.check_connection(cred)

    assert not report.ok
    assert "issued by an unknown CA" in report.failure
    # The chain the server sent is shown even though it was refused.
    assert report.server_chain[0][0] == "O=Peer Test,CN=localhost"
    assert peer.received == []


def test_an_expired_server_certificate_is_refused(
    acme: Organization, client_ca: Pki, server_ca: Pki, tmp_path: Path
) -> None:
    cert = org_certificate(acme, client_ca)
    with https_server(
        tmp_path,
        server_pki=server_ca,
        client_ca=client_ca,
        server_not_before=NOW - timedelta(days=30),
        server_not_after=NOW - timedelta(days=1),
    ) as stale:
        cred = credential(acme, cert, stale.url, trust_pem=server_ca.pem.decode())
        report = callout.check_connection(cred)

    assert not report.ok
    assert report.failure.startswith("The server's certificate has expired")


def test_timeout_and_refused_connection_are_said_in_words(
    acme: Organization, client_ca: Pki, server_ca: Pki
) -> None:
    cert = org_certificate(acme, client_ca)
    with silent_port() as port:
        cred = credential(
            acme, cert, f"https://127.0.0.1:{port}/", trust_pem=server_ca.pem.decode()
        )
        report = callout.check_connection(cred, timeout=0.5)
    assert report.failure.startswith("Timed out: no answer within 0.5 seconds")

    cred.url = f"https://127.0.0.1:{closed_port()}/"
    assert callout.check_connection(cred).failure.startswith("Connection refused")


def test_a_plain_server_not_asking_for_a_certificate_is_reported(
    acme: Organization, client_ca: Pki, server_ca: Pki, tmp_path: Path
) -> None:
    cert = org_certificate(acme, client_ca)
    with https_server(tmp_path, server_pki=server_ca, client_ca=None) as plain:
        cred = credential(acme, cert, plain.url, trust_pem=server_ca.pem.decode())
        report = callout.check_connection(cred)
    assert report.ok
    assert report.client_certificate_text.startswith("The server did not ask")


# --- the certificate's use ---------------------------------------------------------------------


def test_a_credential_is_a_use_of_its_certificate(acme: Organization, client_ca: Pki) -> None:
    cert = org_certificate(acme, client_ca)
    cred = credential(acme, cert, "https://partner.example.test/", trust_pem=client_ca.pem.decode())

    uses = usage.uses_of(cert)

    assert [(u.kind, u.name) for u in uses] == [("Named Credential", "Partner API")]
    assert uses[0].url == cred.get_absolute_url()
    with pytest.raises(ValidationError, match=r"in use .*Named Credential: Partner API"):
        certificate_services.delete_certificate(certificate=cert, acting_user=None)


def test_renewing_a_self_signed_certificate_switches_the_credential(acme: Organization) -> None:
    cert = self_signed(acme, "Outbound_Client")
    cred = credential(acme, cert, "https://partner.example.test/", trust_pem=Pki("X").pem.decode())

    result = replace.renew_certificate(
        certificate=cert,
        label="Outbound client 2",
        unique_name="Outbound_Client_2",
        acting_user=None,
    )

    cred.refresh_from_db()
    assert cred.certificate == result.certificate


# --- pages --------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client, acme: Organization, alice: User) -> Client:
    grant(acme, alice, "customize_application")
    client.force_login(alice)
    return client


def test_create_test_and_delete_through_the_pages(
    admin_client: Client, acme: Organization, client_ca: Pki, server_ca: Pki, peer: Peer
) -> None:
    cert = org_certificate(acme, client_ca)
    new = reverse("certadmin:named-credential-create", args=[acme.public_id])
    data = {
        "label": "Partner API",
        "name": "Partner_API",
        "url": peer.url,
        "certificate": str(cert.uuid),
        "trust": "uploaded",
        "sign_requests": "on",
        "trust_bundle": SimpleUploadedFile("ca.pem", server_ca.pem),
    }

    response = admin_client.post(new, data)

    cred = NamedCredential.objects.get(organization=acme)
    assert response.status_code == 302
    assert response["Location"] == cred.get_absolute_url()
    assert cred.sign_requests
    assert "Partner Server CA" in admin_client.get(response["Location"]).content.decode()
    assert AuditEvent.objects.filter(action="createdNamedCredential").exists()

    page = admin_client.post(cred.get_absolute_url(), {"action": "test"}).content.decode()

    assert "Test Connection: connected" in page
    assert "TLSv1.3" in page
    assert "The server asked for a client certificate and accepted ours." in page
    assert "200 OK" in page
    assert "Signature" in peer.received[0].headers

    # The certificate page lists the credential among its uses and refuses the delete.
    detail = admin_client.get(
        reverse("certadmin:certificate-detail", args=[acme.public_id, cert.uuid])
    )
    assert "Named Credential" in detail.content.decode()

    delete = reverse("certadmin:named-credential-delete", args=[acme.public_id, cred.uuid])
    assert admin_client.post(delete).status_code == 302
    assert not NamedCredential.objects.exists()


def test_the_form_says_what_is_wrong(
    admin_client: Client, acme: Organization, client_ca: Pki
) -> None:
    cert = org_certificate(acme, client_ca)
    new = reverse("certadmin:named-credential-create", args=[acme.public_id])

    response = admin_client.post(
        new,
        {
            "label": "X",
            "name": "bad name",
            "url": "http://plain.example.test/",
            "certificate": str(cert.uuid),
            "trust": "uploaded",
        },
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "The Name cannot contain spaces." in page
    assert "The URL must start with https://" in page
    assert "Upload the CA certificates" in page
    assert not NamedCredential.objects.exists()
