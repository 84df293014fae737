"""Real peers of the Named Credential tests: a small PKI made with `cryptography`, and an HTTPS
server on 127.0.0.1 (Python's ssl) that requires client certificates and records what it got."""

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Peer Test"),
        ]
    )


class Pki:
    """A root CA that issues leaves with chosen dates."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=3650))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        public_key: Any,
        cn: str,
        *,
        server: bool = False,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> x509.Certificate:
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
                ),
                critical=False,
            )
        return builder.sign(self.key, hashes.SHA256())

    def sign_csr(self, csr_pem: str, **kw: Any) -> bytes:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        cn = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        leaf = self.issue(csr.public_key(), str(cn), **kw)
        return leaf.public_bytes(serialization.Encoding.PEM) + self.pem


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_subject: str
    client_serial: int | None = None


@dataclass
class Peer:
    """A running HTTPS server: its URL and what it received."""

    url: str
    received: list[Received] = field(default_factory=list)
    # (method, path, body) -> (status, body); the default answers 200 with the client subject.
    answer: Callable[[Received], tuple[int, bytes]] | None = None


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        peer_cert = (
            self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        )
        subject = ""
        if peer_cert:
            subject = ",".join(f"{k}={v}" for rdn in peer_cert["subject"] for k, v in rdn)
        serial = int(peer_cert["serialNumber"], 16) if peer_cert else None
        got = Received(self.command, self.path, dict(self.headers.items()), body, subject, serial)
        self.server.peer.received.append(got)
        status, out = (
            self.server.peer.answer(got)
            if self.server.peer.answer
            else (200, json.dumps({"client": subject}).encode())
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    peer: Peer


@contextmanager
def https_server(
    tmp_path: Path,
    *,
    server_pki: Pki,
    client_ca: Pki | None,
    server_not_after: datetime | None = None,
    server_not_before: datetime | None = None,
    keep_alive: bool = False,
) -> Iterator[Peer]:
    """An HTTPS server on 127.0.0.1 with a certificate from `server_pki`; requires a client
    certificate from `client_ca` (None: asks for none)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = server_pki.issue(
        key.public_key(),
        "localhost",
        server=True,
        not_before=server_not_before,
        not_after=server_not_after,
    )
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + server_pki.pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=client_ca.pem.decode())
    handler = (
        # HTTP/1.1 keep-alive, without Nagle (headers and body are two writes: with Nagle and
        # delayed ACKs each answer would wait 40 ms).
        type(
            "Handler",
            (_Handler,),
            {"protocol_version": "HTTP/1.1", "disable_nagle_algorithm": True},
        )
        if keep_alive
        else _Handler
    )
    httpd = _Server(("127.0.0.1", 0), handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.peer = Peer(url=f"https://127.0.0.1:{httpd.server_address[1]}/hook")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.peer
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (for timeouts)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


class WebhookReceiver:
    """A local HTTP webhook receiver that counts deliveries, and can fail, be slow or be down.

    `mode`: "ok" (200), "fail" (500 for the next `failures` requests, then 200), "slow" (sleeps
    `delay` seconds, then 200). `stop()` takes it down (connection refused), `start()` brings it
    back on the same port. `accepted` holds what it answered 2xx to: (Idempotency-Key, JSON).
    `on_request(n)`, if set, is called in the request's thread before it is answered (n: the
    request's number, from 1): a test holds a sender there, or does something meanwhile.
    """

    def __init__(self) -> None:
        self.mode = "ok"
        self.failures = 0
        self.delay = 0.0
        self.on_request: Callable[[int], None] | None = None
        self.requests: list[Received] = []
        self.accepted: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self.port = closed_port()
        self.httpd: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                got = Received("POST", self.path, dict(self.headers.items()), body, "")
                with receiver._lock:
                    receiver.requests.append(got)
                    number = len(receiver.requests)
                    failing = receiver.mode == "fail" and receiver.failures > 0
                    if failing:
                        receiver.failures -= 1
                if receiver.on_request is not None:
                    receiver.on_request(number)
                if receiver.mode == "slow":
                    time.sleep(receiver.delay)
                status = 500 if failing else 200
                if not failing:
                    with receiver._lock:
                        receiver.accepted.append(
                            (self.headers.get("Idempotency-Key", ""), json.loads(body))
                        )
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (the timeout test)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def unique(self) -> dict[str, Any]:
        """What a receiver that drops repeats (by Idempotency-Key) keeps."""
        return dict(self.accepted)
