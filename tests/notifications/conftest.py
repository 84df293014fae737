"""Helpers of the notification tests: certificates that expire when a test says, a real SMTP
server on 127.0.0.1, and a database that real `manage.py` processes can share with a test."""

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth.models import User
from django.db import connection

from certadmin.crypto import keypairs
from certadmin.models import Certificate
from certadmin.services import certificates as cert_services
from orgs import permissions
from orgs.models import Organization
from tests.certadmin.conftest import ca_signed, self_signed
from tests.conftest import grant
from tests.pem import sign_with_key

ROOT = Path(__file__).resolve().parents[2]
# 06:00 UTC: the same calendar day in UTC and in America/Los_Angeles (23:00 the day before
# is what Los Angeles sees at 06:00 UTC, which the time-zone tests rely on).
NOW = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)
NOON = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
RECEIVE = permissions.RECEIVE_EXPIRATION_NOTIFICATIONS.codename
ISSUER_KEY = ec.generate_private_key(ec.SECP256R1())


def expected_line(label: str, kind: str, day: str, days_left: int) -> str:
    """A digest's line for one certificate, as SPEC 4 words it with the pages' wording
    (issue 15): "expires in 4 days", "expires tomorrow", "expires today"."""
    words = {0: "expires today", 1: "expires tomorrow"}.get(
        days_left, f"expires in {days_left} days"
    )
    warning = f"This certificate {words}."
    return f"{label}, {kind}, expires on {day}. Warning: {warning}"


def warning_lines(message: Any) -> list[str]:
    """The certificate lines of a digest's plain-text part."""
    return [line for line in message.body.splitlines() if "Warning:" in line]


def in_days(days: int, *, at: datetime = NOON) -> datetime:
    return at + timedelta(days=days)


def expiring(org: Organization, name: str, at: datetime) -> Certificate:
    """A real self-signed certificate of `org` whose notAfter is `at` (whole seconds)."""
    return self_signed(org, name, now=at - timedelta(days=keypairs.validity_days("EC-P256")))


def ca_signed_expiring(org: Organization, name: str, at: datetime) -> Certificate:
    """A CA-signed certificate whose uploaded leaf expires at `at`."""
    certificate = ca_signed(org, name)
    renew(certificate, at)
    return certificate


def renew(certificate: Certificate, at: datetime) -> None:
    """Upload a (new) signed certificate for the same key that expires at `at`."""
    pem = sign_with_key(
        certificate.csr_pem,
        issuer_key=ISSUER_KEY,
        issuer_name="Test Issuing CA",
        not_before=at - timedelta(days=365),
        not_after=at,
    )
    cert_services.upload_signed_certificate(
        certificate=certificate, data=pem, acting_user=None, now=at - timedelta(days=365)
    )
    certificate.refresh_from_db()


def holder(org: Organization, user: User) -> User:
    """Give `user` Receive Certificate Expiration Notifications in `org`."""
    grant(org, user, RECEIVE)
    return user


def admin_holder(org: Organization, user: User) -> User:
    """Make `user` an admin (Modify All Data) who holds Receive Certificate Expiration
    Notifications in `org`: the holder that limits the other admins to the urgent notices."""
    grant(org, user, RECEIVE, permissions.MODIFY_ALL_DATA.codename)
    return user


@pytest.fixture
def mailoutbox(db: None, mailoutbox: list[Any]) -> list[Any]:
    """pytest-django's outbox, taken after the database fixture: its test-case setup
    replaces `django.core.mail.outbox`, so a test naming `mailoutbox` first would hold
    the old, never-filled list."""
    return mailoutbox


# --- a real SMTP server ------------------------------------------------------------------


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode(part.get_content_charset() or "utf-8")
        raise AssertionError(f"no {content_type} part")


@dataclass
class Collector:
    """aiosmtpd handler that keeps every message (optionally slowly, or refusing DATA)."""

    delay: float = 0.0
    hang: bool = False
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550
    received: list[Received] = field(default_factory=list)
    # Set when a client has sent a whole message and waits for the answer to its DATA.
    data_started: threading.Event = field(default_factory=threading.Event)
    # While set and closed (not is_set()), DATA waits: a test holds a sender mid-batch.
    gate: threading.Event | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_started.set()
        if self.hang:
            await asyncio.sleep(3600)
        while self.gate is not None and not self.gate.is_set():
            await asyncio.sleep(0.01)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.received.append(
            Received(
                envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)
            )
        )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    handler: Collector

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def wait_until_sending(self, process: subprocess.Popen[str]) -> None:
        """Return once `process` is inside an email (the server holds its DATA), or fail with
        its stderr if it ended first: an event, not a time limit, so a slow start is fine."""
        while not self.handler.data_started.wait(0.05):
            if process.poll() is not None:
                _, err = process.communicate()
                raise AssertionError(f"the job ended before sending an email:\n{err}")

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)


def free_port() -> int:
    """A TCP port nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    """Django's real SMTP backend, pointed at the test server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


# --- a database real processes can share --------------------------------------------------


@dataclass
class SharedDatabase:
    """The test database, reachable from `manage.py` subprocesses.

    PostgreSQL: the test database itself (tests using it commit: transactional_db).
    SQLite: the test database lives in memory, so `push()` copies it to a file the
    subprocesses open, and `pull()` copies their results back.
    """

    url: str
    push: Callable[[], None]
    pull: Callable[[], None]

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.url,
            "DJANGO_SETTINGS_MODULE": "tests.notifications.subprocess_settings",
            "PYTHONPATH": str(ROOT),
            **extra,
        }

    def manage(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def shared_db(transactional_db: None, tmp_path: Path) -> SharedDatabase:
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        user, password = settings_dict["USER"], settings_dict["PASSWORD"]
        auth = f"{user}:{password}@" if password else f"{user}@"
        url = f"postgres://{auth}{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
        return SharedDatabase(url, push=lambda: None, pull=lambda: None)
    if connection.vendor != "sqlite":
        pytest.skip(f"no shared-database recipe for {connection.vendor}")
    path = tmp_path / f"shared-{uuid.uuid4().hex}.sqlite3"

    def push() -> None:
        connection.ensure_connection()
        target = sqlite3.connect(path)
        connection.connection.backup(target)
        target.close()

    def pull() -> None:
        source = sqlite3.connect(path)
        source.backup(connection.connection)
        source.close()

    return SharedDatabase(f"sqlite:///{path}", push=push, pull=pull)
