"""Requests through a named credential against the floor of the same requests made with a bare
httpx client and a prebuilt SSL context reused.

A local HTTPS server (Python's ssl, in this process, HTTP/1.1 keep-alive) requires a client
certificate from a test CA; the org's certificate (key made and sealed by certadmin) is signed
by it. Each round sends `--requests` GETs both ways, alternating which goes first:

- named credential: `certadmin.services.callout.send(credential)` for each request, as the
  webhook channels do (the cached TLS context, client and signer of the credential);
- floor: `httpx.Client(verify=context)` with the same certificate and key loaded once from
  files, the same requests.

The ratio is the median of the rounds' (credential / floor). Goal: <= 1.2 (the key is not
unsealed per request). A third figure, signed requests (RFC 9421), is printed for information.

    .venv/bin/python bench/callout.py [--rounds 5] [--requests 1000]
"""

import argparse
import ssl
import statistics
import tempfile
import time
from pathlib import Path

import _django

_django.setup("callout")

import httpx  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

from certadmin.models import NamedCredential  # noqa: E402
from certadmin.services import callout  # noqa: E402
from certadmin.services import certificates as cert_services  # noqa: E402
from orgs.models import Organization  # noqa: E402
from tests.callout_peers import Pki, https_server  # noqa: E402

GOAL = 1.2


def make_credential(
    org: Organization, url: str, client_ca: Pki, server_ca: Pki, *, sign: bool, name: str
) -> NamedCredential:
    cert = cert_services.create_ca_signed(
        org=org,
        label=name,
        unique_name=name,
        key_type="EC-P256",
        subject=cert_services.SubjectFields(common_name="bench.acme.test"),
        acting_user=None,
    )
    cert_services.upload_signed_certificate(
        certificate=cert, data=client_ca.sign_csr(cert.csr_pem), acting_user=None
    )
    cert.refresh_from_db()
    return callout.create_named_credential(
        org=org,
        data=callout.CredentialSettings(
            label=name,
            name=name,
            url=url,
            certificate=cert,
            trust=NamedCredential.Trust.UPLOADED,
            trust_pem=server_ca.pem.decode(),
            sign_requests=sign,
        ),
        acting_user=None,
    )


def floor_client(credential: NamedCredential, folder: Path, server_ca: Pki) -> httpx.Client:
    """A bare httpx client: the same certificate and key, loaded once from files."""
    key = cert_services.load_private_key(credential.certificate)
    (folder / "client.pem").write_text(credential.certificate.chain_pem)
    (folder / "client.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=server_ca.pem.decode())
    context.load_cert_chain(folder / "client.pem", folder / "client.key")
    return httpx.Client(verify=context)


def timed(send: object, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        response = send()  # type: ignore[operator]
        assert response.status_code == 200, response.status_code
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    org = Organization.objects.create(name="Bench")
    client_ca, server_ca = Pki("Bench Client CA"), Pki("Bench Server CA")
    with (
        tempfile.TemporaryDirectory() as tmp,
        https_server(Path(tmp), server_pki=server_ca, client_ca=client_ca, keep_alive=True) as peer,
    ):
        plain = make_credential(org, peer.url, client_ca, server_ca, sign=False, name="Bench_Mtls")
        signed = make_credential(
            org, peer.url, client_ca, server_ca, sign=True, name="Bench_Signed"
        )
        bare = floor_client(plain, Path(tmp), server_ca)
        ways = {
            "credential": lambda: callout.send(plain),
            "floor": lambda: bare.get(peer.url),
            "signed": lambda: callout.send(signed),
        }
        for send in ways.values():  # warm up: contexts built, connections open
            timed(send, 20)
        ratios, figures = [], {name: [] for name in ways}
        for round_ in range(args.rounds):
            order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
            seconds = {name: timed(ways[name], args.requests) for name in order}
            for name, value in seconds.items():
                figures[name].append(value)
            ratios.append(seconds["credential"] / seconds["floor"])
            ms = {name: value * 1000 / args.requests for name, value in seconds.items()}
            print(
                f"round {round_ + 1}: credential {ms['credential']:.3f} ms/req, "
                f"floor {ms['floor']:.3f} ms/req, signed {ms['signed']:.3f} ms/req, "
                f"ratio {ratios[-1]:.2f}"
            )
    per = {name: statistics.median(v) * 1000 / args.requests for name, v in figures.items()}
    ratio = statistics.median(ratios)
    print(
        f"{args.requests} GETs x {args.rounds} rounds, medians: named credential "
        f"{per['credential']:.3f} ms/req, bare httpx + prebuilt context {per['floor']:.3f} ms/req, "
        f"signed (RFC 9421) {per['signed']:.3f} ms/req; goal ratio <= {GOAL}"
    )
    print(f"RESULT name=callout floor={per['floor']:.3f} ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
