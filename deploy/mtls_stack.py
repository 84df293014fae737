"""certadmin behind nginx with its mutual-TLS listener, on this machine.

    python deploy/mtls_stack.py run      # what `make run-mtls` runs (after migrate + demo data)
    python deploy/mtls_stack.py render --upstream 10.0.0.5:8000 --server-name certs.example.com \\
        --cert /etc/ssl/certs/certs.pem --key /etc/ssl/private/certs.key [--secret S] \\
        [--tls-listen 443] [--mtls-listen 8443]   # nginx server blocks for production

`Stack` is also what tests/mtls and bench/mtls_api.py start. No Django in this module: gunicorn
runs the app in its own processes, configured by environment variables (docs/mtls.md).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ipaddress
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>
NGINX_TEMPLATES = ROOT / "deploy" / "nginx"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel's choice, so parallel runs differ)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --- certificates for the local listener ------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA that clients trust (--cacert)
    cert: Path
    key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _ca(common_name: str, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    *,
    common_name: str,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    usage: x509.ObjectIdentifier,
    now: datetime,
    names: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=397))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if names or ips:
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _still_good(path: Path, days: int = 7) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=days)


def make_server_certificate(
    directory: Path,
    *,
    names: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1", "::1"),
) -> TlsFiles:
    """A self-made CA and a server certificate for `names`/`ips` in `directory` (kept if valid)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    if files.key.exists() and _still_good(files.cert) and _still_good(files.ca):
        return files
    now = datetime.now(UTC)
    ca, ca_key = _ca("certadmin local server CA", now)
    cert, key = _leaf(
        common_name=names[0] if names else ips[0],
        ca=ca,
        ca_key=ca_key,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        now=now,
        names=names,
        ips=ips,
    )
    files.ca.write_bytes(_pem(ca))
    files.cert.write_bytes(_pem(cert) + _pem(ca))
    _write_key(files.key, key)
    return files


def make_demo_client(directory: Path) -> TlsFiles:
    """A local client CA and a client certificate (clientAuth) signed by it, for `make run-mtls`.

    `ca` is the client CA (add it to the trust bundle), `cert` the client certificate followed
    by the CA (what a client presents and what Setup's upload takes), `key` its key.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        directory / "client-ca.pem", directory / "client.pem", directory / "client.key"
    )
    if files.key.exists() and _still_good(files.cert) and _still_good(files.ca):
        return files
    now = datetime.now(UTC)
    ca, ca_key = _ca("certadmin local client CA", now)
    cert, key = _leaf(
        common_name="demo-api-client",
        ca=ca,
        ca_key=ca_key,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        now=now,
    )
    files.ca.write_bytes(_pem(ca))
    files.cert.write_bytes(_pem(cert) + _pem(ca))
    _write_key(files.key, key)
    return files


# --- nginx configuration ----------------------------------------------------------------------


def render(template: str, **values: str) -> str:
    """deploy/nginx/<template> with every @KEY@ replaced (nginx's own $variables stay)."""
    text = (NGINX_TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key.upper()}@", value)
    leftover = [
        line
        for line in text.splitlines()
        if re.search(r"@[A-Z_]+@", line) and not line.lstrip().startswith("#")
    ]
    if leftover:
        raise ValueError(f"unfilled placeholders in {template}: {leftover}")
    return text


def server_blocks(
    *,
    upstream: str,
    tls_listen: str,
    mtls_listen: str,
    server_name: str,
    cert: Path | str,
    key: Path | str,
    proxy_bind: str = "",
    proxy_secret: str = "",
) -> str:
    if any(ch in proxy_secret for ch in '"\\$;\n'):
        raise ValueError("the proxy secret may not contain quotes, backslashes, $, ; or newlines")
    return render(
        "certadmin.conf.in",
        upstream=upstream,
        tls_listen=tls_listen,
        mtls_listen=mtls_listen,
        server_name=server_name,
        server_cert=str(cert),
        server_key=str(key),
        proxy_bind=f"proxy_bind {proxy_bind};" if proxy_bind else "",
        proxy_secret=proxy_secret,
    )


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if not found:
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx-light)")
    return found


# --- the stack --------------------------------------------------------------------------------


@dataclass
class Stack:
    """gunicorn on 127.0.0.1 behind nginx's TLS and mutual-TLS listeners.

    nginx connects to gunicorn from `proxy_address` (another loopback address), the only
    address the app trusts for the client-certificate headers and X-Forwarded-For: a local
    client that talks to gunicorn directly comes from 127.0.0.1 and is not believed. Any local
    process can bind 127.0.0.2 too, so nginx also sends a secret made for this run
    (CERTADMIN_MTLS_PROXY_SECRET), without which the certificate headers are not believed.
    """

    workdir: Path
    app_env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    proxy_address: str = "127.0.0.2"
    app_port: int = 0
    tls_port: int = 0
    mtls_port: int = 0
    workers: int = 1
    threads: int = 4
    proxy_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    access_log: bool = False
    tls: TlsFiles | None = None
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    @property
    def mtls_url(self) -> str:
        return f"https://{self.host}:{self.mtls_port}"

    @property
    def tls_url(self) -> str:
        return f"https://{self.host}:{self.tls_port}"

    @property
    def app_url(self) -> str:
        return f"http://{self.host}:{self.app_port}"

    def gunicorn_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="certadmin.settings",
            GUNICORN_BIND=f"{self.host}:{self.app_port}",
            GUNICORN_WORKERS=str(self.workers),
            GUNICORN_THREADS=str(self.threads),
            CERTADMIN_MTLS_TRUSTED_PROXIES=self.proxy_address,
            CERTADMIN_TRUSTED_PROXIES=self.proxy_address,
            CERTADMIN_MTLS_PROXY_SECRET=self.proxy_secret,
            CERTADMIN_MTLS_URL=self.mtls_url,
            PYTHONPATH=str(ROOT),
        )
        env.update(self.app_env)
        return env

    def start(self, timeout: float = 30) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.app_port = self.app_port or free_port(self.host)
        self.tls_port = self.tls_port or free_port(self.host)
        self.mtls_port = self.mtls_port or free_port(self.host)
        self.tls = self.tls or make_server_certificate(self.workdir / "server")
        try:
            self._start_gunicorn()
            self._start_nginx()
            deadline = time.monotonic() + timeout
            self._wait(self._healthy, deadline, "gunicorn")
            for port in (self.tls_port, self.mtls_port):
                self._wait(lambda port=port: self._listening(port), deadline, "nginx")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_gunicorn(self) -> None:
        log = (self.workdir / "gunicorn.log").open("ab")
        self._procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "certadmin.wsgi"],
                cwd=ROOT,
                env=self.gunicorn_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads run at this point)
            )
        )

    def _start_nginx(self) -> None:
        prefix = self.workdir / "nginx"
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        assert self.tls is not None
        blocks = prefix / "certadmin.conf"
        blocks.write_text(
            server_blocks(
                upstream=f"{self.host}:{self.app_port}",
                tls_listen=f"{self.host}:{self.tls_port}",
                mtls_listen=f"{self.host}:{self.mtls_port}",
                server_name="localhost",
                cert=self.tls.cert,
                key=self.tls.key,
                proxy_bind=self.proxy_address,
                proxy_secret=self.proxy_secret,
            )
        )
        conf = prefix / "nginx.conf"
        conf.write_text(
            render(
                "nginx-local.conf.in",
                prefix=str(prefix),
                server_blocks=str(blocks),
                access_log=str(prefix / "access.log") if self.access_log else "off",
            )
        )
        self._procs.append(
            subprocess.Popen(
                [nginx_binary(), "-p", prefix, "-e", prefix / "error.log", "-c", conf],
                stdout=subprocess.DEVNULL,
                stderr=(prefix / "stderr.log").open("ab"),
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )
        )

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.app_url}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def _listening(self, port: int) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((self.host, port), timeout=1):
            return True
        return False

    def _wait(self, ready: Callable[[], bool], deadline: float, what: str) -> None:
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{what} exited early:\n{self.logs()}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{what} did not start in time:\n{self.logs()}")

    def logs(self) -> str:
        parts = []
        for name in ("gunicorn.log", "nginx/error.log", "nginx/stderr.log"):
            path = self.workdir / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        # gunicorn: SIGQUIT is its quick shutdown; nginx: SIGTERM is its fast shutdown. Each
        # runs in its own process group, so the signal reaches the workers too, and a master
        # that has to be killed cannot leave orphaned workers behind.
        for proc in reversed(self._procs):
            _signal_group(proc, signal.SIGQUIT if _is_gunicorn(proc) else signal.SIGTERM)
        for proc in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        self._procs.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _is_gunicorn(proc: subprocess.Popen[bytes]) -> bool:
    return "gunicorn" in " ".join(map(str, proc.args))  # type: ignore[arg-type]


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the process that started us dies (Linux), so a
    killed test run or benchmark does not leave servers behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# --- command line -----------------------------------------------------------------------------


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds `with stack:`, which stops nginx and gunicorn


def _run(args: argparse.Namespace) -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGHUP, _stop_on_sigterm)
    var = ROOT / "var" / "mtls"
    demo = make_demo_client(var / "demo-client")
    bundle = var / "trust-bundle.pem"
    import certifi

    bundle.write_bytes(Path(certifi.where()).read_bytes() + demo.ca.read_bytes())
    stack = Stack(
        workdir=var,
        app_port=args.app_port,
        tls_port=args.tls_port,
        mtls_port=args.mtls_port,
        workers=args.workers,
        access_log=True,
        app_env={
            "CERTADMIN_MTLS_TRUST_BUNDLE": str(bundle),
            # The Setup login form is posted over https through nginx.
            "CSRF_TRUSTED_ORIGINS": ",".join(
                f"https://{host}:{port}"
                for host in ("127.0.0.1", "localhost")
                for port in (args.tls_port, args.mtls_port)
            ),
        },
    )
    with stack:
        assert stack.tls is not None
        print(
            f"""
certadmin behind nginx
  TLS (Setup, token-only API)   {stack.tls_url}/
  mutual-TLS listener (API)     {stack.mtls_url}/
  gunicorn (for nginx only)     {stack.app_url}/
                                (believes nginx's headers from {stack.proxy_address} only,
                                 and its certificate headers only with this run's secret)
Server CA for your clients:     {stack.tls.ca}
Demo client certificate:        {demo.cert} (key {demo.key}; its CA is in {bundle})

Try it: log in at {stack.tls_url}/, upload {demo.cert} under Certificate and Key Management >
Mutual Authentication Certificates, create a token under My Settings > API Tokens, then

  curl --cacert {stack.tls.ca} --cert {demo.cert} --key {demo.key} \\
       -H "Authorization: Bearer $CERTADMIN_TOKEN" \\
       {stack.mtls_url}/api/v1/orgs/<org id>/certificates/

Logs in {var}. Ctrl-C stops.""",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while all(proc.poll() is None for proc in stack._procs):
                time.sleep(0.5)
            print(stack.logs(), file=sys.stderr)


def _render(args: argparse.Namespace) -> None:
    print(
        server_blocks(
            upstream=args.upstream,
            tls_listen=args.tls_listen,
            mtls_listen=args.mtls_listen,
            server_name=args.server_name,
            cert=args.cert,
            key=args.key,
            proxy_bind=args.proxy_bind,
            proxy_secret=args.secret,
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the app behind nginx here (make run-mtls)")
    run.add_argument("--app-port", type=int, default=int(os.environ.get("APP_PORT", "8001")))
    run.add_argument("--tls-port", type=int, default=int(os.environ.get("TLS_PORT", "8444")))
    run.add_argument("--mtls-port", type=int, default=int(os.environ.get("MTLS_PORT", "8443")))
    run.add_argument("--workers", type=int, default=2)
    run.set_defaults(func=_run)
    rend = sub.add_parser("render", help="print nginx server blocks for production")
    rend.add_argument("--upstream", required=True, help="gunicorn's host:port")
    rend.add_argument("--server-name", required=True)
    rend.add_argument("--cert", required=True, help="server certificate chain (PEM)")
    rend.add_argument("--key", required=True, help="server private key (PEM)")
    rend.add_argument("--tls-listen", default="443")
    rend.add_argument("--mtls-listen", default="8443")
    rend.add_argument("--proxy-bind", default="", help="source address nginx connects from")
    rend.add_argument("--secret", default="", help="CERTADMIN_MTLS_PROXY_SECRET")
    rend.set_defaults(func=_render)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
