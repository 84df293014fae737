"""The other listener shipped: gunicorn terminating mutual TLS itself
(CERTADMIN_MTLS_DIRECT=True, --cert-reqs 1), the certificate read from its socket."""

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from deploy.mtls_stack import GUNICORN_CONF, ROOT, Stack, free_port
from tests.client_certs import ClientCa
from tests.mtls.conftest import World, curl


@pytest.fixture(scope="module")
def direct_url(stack: Stack, client_ca: ClientCa) -> Iterator[str]:
    assert stack.tls is not None
    port = free_port()
    env = stack.gunicorn_env()
    env.update(
        GUNICORN_BIND=f"127.0.0.1:{port}",
        CERTADMIN_MTLS_DIRECT="True",
        CERTADMIN_MTLS_TRUSTED_PROXIES="",
        GUNICORN_CERTFILE=str(stack.tls.cert),
        GUNICORN_KEYFILE=str(stack.tls.key),
        # Python's ssl module checks client certificates against this file in the handshake.
        GUNICORN_CA_CERTS=str(client_ca.bundle()),
    )
    log = (stack.workdir / "gunicorn-direct.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "certadmin.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the teardown stops master and workers
    )
    try:
        _wait_for_tls(port, stack.tls.ca, proc)
        yield f"https://127.0.0.1:{port}"
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """gunicorn's quick shutdown (SIGQUIT); a worker stuck in a TLS handshake may ignore it
    under load, so the whole group is killed if it is not gone after a grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGQUIT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait_for_tls(port: int, ca: object, proc: subprocess.Popen[bytes]) -> None:
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gunicorn exited"
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1"),
            ):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn with TLS did not start")


def test_matching_certificate_from_gunicorns_socket_is_let_in(
    world: World, direct_url: str
) -> None:
    answer = curl(
        direct_url + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        cert=world.certs["acme"],
    )

    assert answer.status == 200, answer.body


def test_without_a_certificate_gunicorn_says_so(world: World, direct_url: str) -> None:
    answer = curl(direct_url + world.path(), ca=world.stack.tls.ca, token=world.tokens["alice"])

    assert answer.status == 401
    assert answer.json()["error"] == "no_client_certificate"


def test_headers_are_ignored_in_direct_mode(world: World, direct_url: str) -> None:
    answer = curl(
        direct_url + world.path(),
        ca=world.stack.tls.ca,
        token=world.tokens["alice"],
        cert=world.certs["unknown"],
        headers={"X-Certadmin-Listener": "mtls", "X-Certadmin-Client-Cert": "x"},
    )

    assert answer.json()["error"] == "unknown_certificate"
