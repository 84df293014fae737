"""The examples of docs/api-clients.md, run as written against the real stack, as a user who
holds Enforce SSL/TLS Mutual Authentication (so each one presents its client certificate)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.mtls_stack import ROOT
from tests.mtls.conftest import World

DOC = ROOT / "docs" / "api-clients.md"
EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\n```(\w+)\n(.*?)```", re.DOTALL)


def examples() -> dict[str, tuple[str, str]]:
    return {name: (lang, code) for name, lang, code in EXAMPLE.findall(DOC.read_text())}


def test_the_doc_has_every_kind_of_example() -> None:
    assert set(examples()) == {
        "curl",
        "curl-pem",
        "python-requests",
        "python-httpx",
        "java-keystores",
        "java",
    }


@pytest.fixture
def client_dir(world: World, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The files and variables the doc asks for, for alice (Acme, Enforce)."""
    assert world.stack.tls is not None
    shutil.copy(world.certs["acme"].chain, tmp_path / "client.pem")
    shutil.copy(world.certs["acme"].key, tmp_path / "client.key")
    shutil.copy(world.stack.tls.ca, tmp_path / "server-ca.pem")
    env = {
        **os.environ,
        "CERTADMIN_URL": world.stack.mtls_url,
        "CERTADMIN_ORG": world.acme.public_id,
        "CERTADMIN_TOKEN": world.tokens["alice"],
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    return tmp_path, env


def run(name: str, folder: Path, env: dict[str, str]) -> str:
    lang, code = examples()[name]
    if lang == "sh":
        command = ["bash", "-euo", "pipefail", "-c", code]
    elif lang == "python":
        command = [sys.executable, "-c", code]
    elif lang == "java":
        (folder / "ListCertificates.java").write_text(code)
        command = ["java", "ListCertificates.java"]
    else:
        raise AssertionError(f"no runner for {lang}")
    done = subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_curl_example(world: World, client_dir: tuple[Path, dict[str, str]]) -> None:
    output = run("curl", *client_dir)

    assert '"unique_name": "Payments_Signing"' in output


def test_curl_pem_example(world: World, client_dir: tuple[Path, dict[str, str]]) -> None:
    output = run("curl-pem", *client_dir)

    assert output.strip() == "-----BEGIN CERTIFICATE-----"


def test_python_requests_example(world: World, client_dir: tuple[Path, dict[str, str]]) -> None:
    output = run("python-requests", *client_dir)

    assert output.startswith("Payments_Signing ")


def test_python_httpx_example(world: World, client_dir: tuple[Path, dict[str, str]]) -> None:
    output = run("python-httpx", *client_dir)

    assert output.strip() == "1 self-signed certificate(s)"


def test_python_httpx_example_says_why_without_the_certificate(
    world: World, client_dir: tuple[Path, dict[str, str]]
) -> None:
    folder, env = client_dir
    _, code = examples()["python-httpx"]
    code = code.replace('context.load_cert_chain("client.pem", "client.key")', "")

    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert "refused: no_client_certificate" in done.stderr


@pytest.mark.skipif(not shutil.which("java"), reason="no Java runtime (make system-deps)")
def test_java_example_with_a_pkcs12_keystore(
    world: World, client_dir: tuple[Path, dict[str, str]]
) -> None:
    """Slowest of the set (keytool and the JVM compiling the source: a few seconds)."""
    folder, env = client_dir
    run("java-keystores", folder, env)

    output = run("java", folder, env)

    assert output.startswith("200 ")
    assert "Payments_Signing" in output
