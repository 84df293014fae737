"""Signed outbound requests (RFC 9421): what the local HTTPS peer received is verified by a
different implementation than the signer (openssl over a signature base this test rebuilds
from the RFC), and by the receiver example of docs/named-credentials.md, run as written; both
refuse a tampered request."""

import base64
import hashlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import http_message_signatures as hms
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from certadmin.models import Certificate
from certadmin.services import callout
from orgs.models import Organization
from tests.callout_peers import Peer, Pki, Received, https_server
from tests.certadmin.sso_helpers import fast_rsa  # noqa: F401
from tests.certadmin.test_named_credentials import credential, org_certificate

DOC = Path(settings.BASE_DIR) / "docs" / "named-credentials.md"
EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\n```(\w+)\n(.*?)```", re.DOTALL)


@pytest.fixture(scope="module")
def client_ca() -> Pki:
    return Pki("Signed Client CA")


@pytest.fixture(scope="module")
def server_ca() -> Pki:
    return Pki("Signed Server CA")


@pytest.fixture
def peer(tmp_path: Path, server_ca: Pki, client_ca: Pki) -> Iterator[Peer]:
    callout.clear_cache()
    with https_server(tmp_path, server_pki=server_ca, client_ca=client_ca) as running:
        yield running


def downloaded_certificate(client: Client, org: Organization, cert: Certificate) -> bytes:
    """The certificate as the receiver downloads it from certadmin."""
    url = reverse("certadmin:certificate-download", args=[org.public_id, cert.uuid])
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]


@pytest.fixture
def alice_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def signed_request(
    org: Organization, client_ca: Pki, server_ca: Pki, peer: Peer, key_type: str
) -> tuple[Certificate, Received]:
    from tests.certadmin.conftest import ca_signed

    cert = org_certificate(org, client_ca, name=f"Signer_{key_type.replace('-', '_')}")
    if cert.key_type != key_type:  # org_certificate makes EC-P256; others made here
        cert.delete()
        cert = ca_signed(org, f"Signer_{key_type.replace('-', '_')}", key_type=key_type)
        from certadmin.services import certificates

        certificates.upload_signed_certificate(
            certificate=cert, data=client_ca.sign_csr(cert.csr_pem), acting_user=None
        )
        cert.refresh_from_db()
    cred = credential(
        org, cert, peer.url + "?since=2026-01-01", trust_pem=server_ca.pem.decode(), sign=True
    )
    body = b'{"event": "certificate.expiring", "days": 30}'
    response = callout.send(
        cred, "POST", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    return cert, peer.received[-1]


# --- openssl over the RFC 9421 signature base ------------------------------------------------


def _member(field: str, label: str) -> str:
    """The value of dictionary member `label` of a Signature/Signature-Input field (the test's
    own minimal reading: certadmin sends one member)."""
    prefix = f"{label}="
    assert field.startswith(prefix), field
    return field[len(prefix) :]


def signature_base(got: Received, host: str) -> tuple[bytes, str]:
    """(base, alg) rebuilt from RFC 9421 section 2.5 without the signing library."""
    headers = {k.lower(): v for k, v in got.headers.items()}
    params = _member(headers["signature-input"], "certadmin")
    covered = re.findall(r'"([^"]+)"', params.split(")")[0])
    values = {
        "@method": got.method,
        "@authority": host,
        "@target-uri": f"https://{host}{got.path}",
    }
    lines = [f'"{c}": {values[c] if c.startswith("@") else headers[c].strip()}' for c in covered]
    lines.append(f'"@signature-params": {params}')
    alg = re.search(r'alg="([^"]+)"', params)
    assert alg is not None
    return "\n".join(lines).encode(), alg.group(1)


def openssl_verify(base: bytes, signature: bytes, alg: str, cert_pem: bytes, tmp: Path) -> bool:
    (tmp / "cert.pem").write_bytes(cert_pem)
    pub = subprocess.run(
        ["openssl", "x509", "-in", "cert.pem", "-pubkey", "-noout"],
        cwd=tmp,
        capture_output=True,
        check=True,
    ).stdout
    (tmp / "pub.pem").write_bytes(pub)
    (tmp / "base.txt").write_bytes(base)
    if alg.startswith("ecdsa"):
        size = len(signature) // 2
        r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        signature = encode_dss_signature(r, s)
        args = ["-sha256" if alg == "ecdsa-p256-sha256" else "-sha384"]
    else:
        assert alg == "rsa-pss-sha512"
        args = ["-sha512", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:64"]
    (tmp / "sig.bin").write_bytes(signature)
    result = subprocess.run(
        ["openssl", "dgst", *args, "-verify", "pub.pem", "-signature", "sig.bin", "base.txt"],
        cwd=tmp,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0 and b"Verified OK" in result.stdout


@pytest.mark.parametrize("key_type", ["EC-P256", "RSA-2048", "EC-P384"])
@pytest.mark.usefixtures("fast_rsa")
def test_openssl_verifies_the_signature_with_the_downloaded_certificate(
    alice_client: Client,
    acme: Organization,
    client_ca: Pki,
    server_ca: Pki,
    peer: Peer,
    tmp_path: Path,
    key_type: str,
) -> None:
    cert, got = signed_request(acme, client_ca, server_ca, peer, key_type)
    pem = downloaded_certificate(alice_client, acme, cert)
    host = peer.url.split("/")[2]
    headers = {k.lower(): v for k, v in got.headers.items()}
    signature = base64.b64decode(_member(headers["signature"], "certadmin").strip(":"))

    base, alg = signature_base(got, host)

    assert f'keyid="sha256:{cert.fingerprint_sha256}"' in base.decode()
    assert '"content-digest": sha-256=:' in base.decode()
    assert openssl_verify(base, signature, alg, pem, tmp_path)
    # The body is the one digested.
    digest = base64.b64encode(hashlib.sha256(got.body).digest()).decode()
    assert headers["content-digest"] == f"sha-256=:{digest}:"
    # A request sent elsewhere (another path) does not verify.
    tampered = base.replace(b"/hook?since=2026-01-01", b"/admin?since=2026-01-01")
    assert not openssl_verify(tampered, signature, alg, pem, tmp_path)


# --- the documented receiver ------------------------------------------------------------------


def doc_example(name: str) -> dict[str, Any]:
    found = {n: code for n, lang, code in EXAMPLE.findall(DOC.read_text())}
    namespace: dict[str, Any] = {}
    exec(compile(found[name], str(DOC), "exec"), namespace)  # noqa: S102
    return namespace


def test_the_documented_receiver_verifies_and_refuses_tampering(
    alice_client: Client, acme: Organization, client_ca: Pki, server_ca: Pki, peer: Peer
) -> None:
    verify = doc_example("verify-python")["verify_certadmin_request"]
    cert, got = signed_request(acme, client_ca, server_ca, peer, "EC-P256")
    pem = downloaded_certificate(alice_client, acme, cert)
    url = f"https://{got.headers['Host']}{got.path}"

    assert verify(got.method, url, got.headers, got.body, pem) is True

    with pytest.raises(hms.InvalidSignature):
        verify(got.method, url, got.headers, got.body.replace(b"30", b"90"), pem)
    with pytest.raises(hms.InvalidSignature):
        verify("DELETE", url, got.headers, got.body, pem)
    other = org_certificate(acme, client_ca, name="Someone_Else")
    with pytest.raises(hms.InvalidSignature):
        verify(
            got.method,
            url,
            got.headers,
            got.body,
            downloaded_certificate(alice_client, acme, other),
        )


def test_unsigned_credentials_send_no_signature(
    acme: Organization, client_ca: Pki, server_ca: Pki, peer: Peer
) -> None:
    cert = org_certificate(acme, client_ca)
    cred = credential(acme, cert, peer.url, trust_pem=server_ca.pem.decode(), sign=False)
    callout.send(cred, "POST", content=b"{}")
    assert "Signature" not in peer.received[-1].headers
