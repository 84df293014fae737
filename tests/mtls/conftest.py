"""The real stack for end-to-end tests: nginx (TLS and mutual-TLS listeners) in front of
gunicorn, which reads the test database.

The rows the tests need (the `world`) are committed once per module, outside any test
transaction, published to gunicorn, and deleted when the module ends; the tests only make
requests. On PostgreSQL gunicorn reads the test database itself; on SQLite, whose test database
lives in this process's memory, a copy is written to a file (sqlite3's backup API) that gunicorn
reads. Nothing here flushes the database, so the ids Django caches per process (content types,
which guardian's permission checks use) stay right in gunicorn. All of it runs on one xdist
worker (group "mtls"), so the stack starts once per session; ports are the kernel's free ones.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import override_settings

from certadmin.models import Certificate
from certadmin.services.mutual_auth import upload_mutual_auth_certificate
from deploy.mtls_stack import Stack
from orgs import permissions
from orgs.models import Organization
from tests.api.conftest import make_token
from tests.certadmin.conftest import self_signed
from tests.client_certs import (  # noqa: F401 (fixtures)
    ClientCa,
    ClientCertificate,
    client_ca,
    client_certs,
    register_expired,
)
from tests.conftest import grant, make_member, make_org


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/mtls/" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("mtls"))
            # So pytest-django sets up the test database even when only these tests run.
            item.add_marker(pytest.mark.django_db)


@dataclass
class LiveDatabase:
    url: str
    sqlite_file: Path | None = None

    def publish(self) -> None:
        """Make the committed rows visible to gunicorn."""
        if self.sqlite_file is None:
            return  # PostgreSQL: gunicorn reads the test database itself
        connection.ensure_connection()
        target = sqlite3.connect(self.sqlite_file)
        try:
            connection.connection.backup(target)
        finally:
            target.close()


@pytest.fixture(scope="session")
def live_database(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> LiveDatabase:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        path = tmp_path_factory.mktemp("live-db") / "live.sqlite3"
        return LiveDatabase(f"sqlite:///{path}", path)
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "127.0.0.1"
        return LiveDatabase(f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}")
    pytest.skip(f"no live database for {connection.vendor}")


@pytest.fixture(scope="session")
def stack(live_database: LiveDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not shutil.which("curl"):
        pytest.fail("curl is missing (Debian: apt-get install curl)")
    # Pages (the login form) need the static files as production serves them: collected, with
    # whitenoise's manifest.
    static_root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=Path(__file__).resolve().parents[2],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "certadmin.settings",
            "STATIC_ROOT": str(static_root),
        },
        check=True,
        timeout=120,
    )
    running = Stack(
        workdir=tmp_path_factory.mktemp("stack"),
        app_env={
            "DATABASE_URL": live_database.url,
            "CONN_MAX_AGE": "0",
            "STATIC_ROOT": str(static_root),
        },
    )
    running.start()
    yield running
    running.stop()


@dataclass
class World:
    """Acme and Globex, their people, tokens and registered client certificates."""

    stack: Stack
    acme: Organization
    globex: Organization
    certs: dict[str, ClientCertificate]
    tokens: dict[str, str]
    acme_certificate: Certificate
    globex_certificate: Certificate

    def path(self, org: Organization | None = None) -> str:
        return f"/api/v1/orgs/{(org or self.acme).public_id}/certificates/"


def _build_world(stack: Stack, ca: ClientCa, certs: dict[str, ClientCertificate]) -> World:
    acme, globex = make_org("Acme"), make_org("Globex")
    users = {
        "alice": make_member(acme, "alice", permissions.SYSTEM_ADMINISTRATOR),
        "dave": make_member(acme, "dave", permissions.SYSTEM_ADMINISTRATOR),
        "carol": make_member(globex, "carol", permissions.SYSTEM_ADMINISTRATOR),
    }
    grant(acme, users["alice"], "enforce_mutual_authentication")
    grant(globex, users["carol"], "enforce_mutual_authentication")
    with override_settings(CERTADMIN_MTLS_TRUST_BUNDLE=str(ca.bundle())):
        for org, key in [(acme, "acme"), (globex, "globex")]:
            upload_mutual_auth_certificate(
                org=org,
                label=key,
                unique_name=f"Client_{key}",
                data=certs[key].chain_pem,
                acting_user=None,
            )
    register_expired(acme, certs["expired"], "expired")
    return World(
        stack=stack,
        acme=acme,
        globex=globex,
        certs=certs,
        tokens={
            "alice": make_token(acme, users["alice"]),
            "dave": make_token(acme, users["dave"]),
            "carol": make_token(globex, users["carol"]),
        },
        acme_certificate=self_signed(acme, "Payments_Signing"),
        globex_certificate=self_signed(globex, "Globex_Signing"),
    )


@pytest.fixture(scope="module")
def world(
    stack: Stack,
    live_database: LiveDatabase,
    django_db_blocker: Any,
    client_ca: ClientCa,  # noqa: F811
    client_certs: dict[str, ClientCertificate],  # noqa: F811
) -> Iterator[World]:
    """alice: Acme admin who holds Enforce; dave: Acme admin who does not; carol: Globex admin
    who holds Enforce. Acme registered acme-client and expired-client (registered in 2020);
    Globex registered globex-client; unknown-client is registered nowhere."""
    with django_db_blocker.unblock():
        try:
            world = _build_world(stack, client_ca, client_certs)
            live_database.publish()
            yield world
        finally:
            # Committed rows would be seen by the next tests of this worker: remove them all.
            User.objects.filter(username__in=["alice", "dave", "carol"]).delete()
            Organization.objects.filter(name__in=["Acme", "Globex"]).delete()


# --- clients ----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def curl(
    url: str,
    *,
    ca: Path | None = None,
    token: str | None = None,
    cert: ClientCertificate | None = None,
    headers: dict[str, str] | None = None,
    interface: str | None = None,
) -> Answer:
    """GET `url` with the curl command line, presenting `cert` (and its chain) if given."""
    args = ["curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}"]
    if ca is not None:
        args += ["--cacert", str(ca)]
    if cert is not None:
        args += ["--cert", str(cert.chain), "--key", str(cert.key)]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    if interface is not None:  # the source address, e.g. the proxy's own 127.0.0.2
        args += ["--interface", interface]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    done = subprocess.run([*args, url], capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    return Answer(int(status), body)


def escaped(cert: ClientCertificate) -> str:
    """The certificate as nginx's $ssl_client_escaped_cert writes it."""
    return quote(cert.cert.read_text(), safe="")
