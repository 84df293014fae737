"""pebble on 127.0.0.1, validating http-01 against certadmin's live test server, with
challtestsrv as its DNS (tests/acme_peers.py). One pebble per test session (per xdist
worker); the tests that need another configuration start their own."""

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django_q import tasks
from django_q.brokers import get_broker
from django_q.conf import Conf
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from certadmin.models import AcmeAccount
from certadmin.services.acme import accounts
from orgs.models import Organization
from tests.acme_peers import Pebble

DOMAIN = "acme.test"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/acme/" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("acme-pebble"))


def start_pebble(workdir: Path, live_server: LiveServer, **kw: object) -> Pebble:
    port = urlsplit(live_server.url).port
    assert port is not None
    return Pebble(workdir, http_port=port, **kw).start()  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pebble(tmp_path_factory: pytest.TempPathFactory, live_server: LiveServer) -> Iterator[Pebble]:
    server = start_pebble(tmp_path_factory.mktemp("pebble"), live_server)
    yield server
    server.stop()


@pytest.fixture
def acme_settings(settings: SettingsWrapper, pebble: Pebble) -> SettingsWrapper:
    """certadmin trusts pebble's listener, and answers http-01 for the test names."""
    settings.CERTADMIN_ACME_CA_BUNDLE = pebble.ca_bundle
    settings.CERTADMIN_ACME_TIMEOUT = 10
    settings.CERTADMIN_ACME_DNS_RESOLVERS = [f"127.0.0.1:{pebble.dns_port}"]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, f".{DOMAIN}"]
    return settings


@pytest.fixture
def task_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[str]]]:
    """Tasks go to django-q2's broker, as in production, instead of running inline (the
    tests' Q_CLUSTER sync). The function it gives runs what is queued through django-q2's own
    worker and monitor, as a qcluster does, and returns the tasks' summaries."""
    monkeypatch.setattr(Conf, "SYNC", False)
    # A queue of this test process's own: a Redis broker (REDIS_URL) is shared by the xdist
    # workers, which would take each other's tasks.
    monkeypatch.setattr(Conf, "CLUSTER_NAME", f"certadmin-test-{os.getpid()}")
    broker = get_broker()

    def run_queued() -> list[str]:
        summaries = []
        while batch := broker.dequeue():  # empty: None (after a short poll)
            for queued_id, payload in batch:
                task_id = tasks._sync(payload)  # the worker's code path, in this process
                broker.acknowledge(queued_id)
                summaries.append(str(tasks.result(task_id)))
        return summaries

    yield run_queued
    broker.purge_queue()


def register(
    org: Organization, directory_url: str, label: str = "Pebble", **kw: str
) -> AcmeAccount:
    account = accounts.create_account(
        org=org,
        label=label,
        directory_url=directory_url,
        contact_email="pki@acme.test",
        terms_agreed=True,
        acting_user=None,
        **kw,  # type: ignore[arg-type]
    )
    return accounts.register_account(account=account, acting_user=None)


@pytest.fixture
def account(
    transactional_db: None, acme: Organization, acme_settings: SettingsWrapper, pebble: Pebble
) -> AcmeAccount:
    return register(acme, pebble.directory_url)


def verify_with_openssl(chain_pem: str, root_pem: str, workdir: Path) -> str:
    """`openssl verify` of the leaf against pebble's root, the rest of the chain untrusted."""
    blocks = chain_pem.split("-----END CERTIFICATE-----")
    leaf = blocks[0] + "-----END CERTIFICATE-----\n"
    rest = "-----END CERTIFICATE-----".join(blocks[1:])
    (workdir / "leaf.pem").write_text(leaf)
    (workdir / "untrusted.pem").write_text(rest)
    (workdir / "root.pem").write_text(root_pem)
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "untrusted.pem", "leaf.pem"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout + result.stderr


__all__ = ["User"]
