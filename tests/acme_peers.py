"""pebble (Let's Encrypt's ACME test server) and pebble-challtestsrv (its DNS), started on
127.0.0.1 with free ports, for the ACME tests and bench/acme_issuance.py. No Django here.

Debian's pebble package ships no TLS certificate for pebble's own listener (upstream's
test/certs/ minica files are not packaged), so a root and a 127.0.0.1/localhost certificate are
made here with `cryptography`; clients trust that root (`ca_bundle`) for the directory.
pebble's issuing root is fetched from its management API (`issuing_roots()`).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def write_tls_files(workdir: Path) -> tuple[Path, Path, Path]:
    """(root PEM, listener cert PEM, listener key PEM) for pebble's HTTPS listeners."""
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("pebble test listener root"))
        .issuer_name(_name("pebble test listener root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    paths = (workdir / "listener-root.pem", workdir / "listener.pem", workdir / "listener.key")
    paths[0].write_bytes(root.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclass
class Pebble:
    """A running pebble + challtestsrv pair. Every name resolves to 127.0.0.1 (challtestsrv's
    default) unless `add_a` says otherwise; http-01 is checked at `http_port` there."""

    workdir: Path
    http_port: int
    validity_seconds: int = 86_400
    env: dict[str, str] = field(default_factory=dict)
    eab_keys: dict[str, str] = field(default_factory=dict)
    port: int = 0
    management_port: int = 0
    dns_port: int = 0
    challtestsrv_port: int = 0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def directory_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    @property
    def ca_bundle(self) -> str:
        return str(self.workdir / "listener-root.pem")

    def start(self) -> Pebble:
        self.workdir.mkdir(parents=True, exist_ok=True)
        _root, cert, key = write_tls_files(self.workdir)
        self.port, self.management_port = free_port(), free_port()
        self.dns_port, self.challtestsrv_port = free_port(), free_port()
        self._spawn(
            "challtestsrv",
            [
                "pebble-challtestsrv",
                "-dns01", f"127.0.0.1:{self.dns_port}",
                "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-management", f"127.0.0.1:{self.challtestsrv_port}",
                "-defaultIPv6", "",
            ],
            {},
        )  # fmt: skip
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(cert),
                "privateKey": str(key),
                "httpPort": self.http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": bool(self.eab_keys),
                "externalAccountMACKeys": self.eab_keys,
                "certificateValidityPeriod": self.validity_seconds,
            }
        }
        config_path = self.workdir / "pebble-config.json"
        config_path.write_text(json.dumps(config))
        env = {
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_WFE_NONCEREJECT": "0",
            "PEBBLE_AUTHZREUSE": "0",
            **self.env,
        }
        self._spawn(
            "pebble",
            ["pebble", "-config", str(config_path), "-dnsserver", f"127.0.0.1:{self.dns_port}"],
            env,
        )
        self._wait_until_up()
        return self

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes.append(
            subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env})
        )

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_bundle)

    def _wait_until_up(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.directory_url, context=self._context(), timeout=2):
                    pass
                urllib.request.urlopen(
                    f"http://127.0.0.1:{self.challtestsrv_port}/", timeout=2
                ).close()
            except OSError as exc:
                if isinstance(exc, urllib.error.HTTPError):  # challtestsrv: 404 on "/", it is up
                    return
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                    self.stop()
                    logs = "\n".join(p.read_text() for p in self.workdir.glob("*.log"))
                    raise RuntimeError(f"pebble did not start:\n{logs}") from exc
                time.sleep(0.1)
            else:
                return

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    # --- pebble's management API ------------------------------------------------------------

    def issuing_roots(self) -> str:
        """PEM of pebble's issuing root (random at each start)."""
        url = f"https://127.0.0.1:{self.management_port}/roots/0"
        with urllib.request.urlopen(url, context=self._context(), timeout=5) as response:
            return str(response.read().decode())

    # --- challtestsrv's management API (it stands in for a DNS provider's API) ---------------

    def _challtestsrv(self, path: str, body: dict[str, object]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.challtestsrv_port}{path}",
            data=json.dumps(body).encode(),
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).close()

    def add_a(self, host: str, address: str) -> None:
        self._challtestsrv("/add-a", {"host": host, "addresses": [address]})

    def set_txt(self, host: str, value: str) -> None:
        self._challtestsrv("/set-txt", {"host": host.rstrip(".") + ".", "value": value})

    def clear_txt(self, host: str) -> None:
        self._challtestsrv("/clear-txt", {"host": host.rstrip(".") + "."})


class RateLimitingProxy:
    """pebble, except that its newOrder answers with a `rateLimited` problem document
    (RFC 8555 6.7), which pebble itself never sends: a plain-HTTP server serves pebble's
    directory with newOrder pointing at itself, and refuses every order there. All other
    requests go to pebble directly (the JWS a client signs names the URL it posts to)."""

    def __init__(self, pebble: Pebble) -> None:
        import http.server
        import threading

        self.port = free_port()
        with urllib.request.urlopen(
            pebble.directory_url, context=pebble._context(), timeout=5
        ) as response:
            directory = json.loads(response.read())
        directory["newOrder"] = f"http://127.0.0.1:{self.port}/new-order"
        directory_body = json.dumps(directory).encode()
        problem = json.dumps(
            {
                "type": "urn:ietf:params:acme:error:rateLimited",
                "detail": "too many new orders recently",
                "status": 429,
            }
        ).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(200, "application/json", directory_body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer(429, "application/problem+json", problem)

            def _answer(self, status: int, content_type: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Retry-After", "3600")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def directory_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dir"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Rfc2136Server:
    """A DNS server taking RFC 2136 updates over TCP, signed with one TSIG key (checked by
    dnspython), that publishes the TXT records it is given through challtestsrv, pebble's
    DNS. A request with a bad signature is dropped unanswered (and counted)."""

    def __init__(self, pebble: Pebble, key_name: str, secret: str) -> None:
        import socketserver
        import threading

        import dns.exception
        import dns.message
        import dns.rdataclass
        import dns.rdatatype
        import dns.tsigkeyring

        keyring = dns.tsigkeyring.from_text({key_name: secret})
        server = self
        self.refused = 0
        self.updates: list[tuple[str, str, str]] = []  # (add|delete, name, value)

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                length = int.from_bytes(self.request.recv(2), "big")
                wire = b""
                while len(wire) < length:
                    wire += self.request.recv(length - len(wire))
                try:
                    message = dns.message.from_wire(wire, keyring=keyring)
                except dns.exception.DNSException:  # a bad or missing TSIG signature
                    server.refused += 1
                    return
                for rrset in message.sections[2]:  # the update section
                    if rrset.rdtype != dns.rdatatype.TXT:
                        continue
                    for rdata in rrset:
                        value = b"".join(rdata.strings).decode()
                        name = rrset.name.to_text()
                        if rrset.deleting == dns.rdataclass.NONE:
                            server.updates.append(("delete", name, value))
                            pebble.clear_txt(name)
                        else:
                            server.updates.append(("add", name, value))
                            pebble.set_txt(name, value)
                answer = dns.message.make_response(message).to_wire()
                self.request.sendall(len(answer).to_bytes(2, "big") + answer)

        self.port = free_port()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
