"""Login throttling behind the shipped nginx (issue 13, item 5): django-axes sees each real
client's address, not the proxy's, so one client's bad passwords lock only that client.

Two clients on this machine stand for two hosts: they connect to nginx from two loopback
source addresses (127.0.0.10 and 127.0.0.11), and nginx connects to gunicorn from 127.0.0.2.
"""

import re
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User

from deploy.mtls_stack import Stack
from orgs import permissions
from orgs.models import Organization
from tests.conftest import PASSWORD, make_member, make_org
from tests.mtls.conftest import LiveDatabase

ATTACKER, VICTIM = "127.0.0.10", "127.0.0.11"


@pytest.fixture(scope="module")
def erin(stack: Stack, live_database: LiveDatabase, django_db_blocker: Any) -> Iterator[str]:
    """An admin of Initech who logs in with a password."""
    with django_db_blocker.unblock():
        try:
            user = make_member(make_org("Initech"), "erin", permissions.SYSTEM_ADMINISTRATOR)
            # gunicorn runs the production hashers, not the tests' MD5 (few iterations: fast).
            user.password = PBKDF2PasswordHasher().encode(PASSWORD, "initech-salt", 1000)
            user.save(update_fields=["password"])
            live_database.publish()
            yield "erin"
        finally:
            AccessAttempt.objects.filter(username="erin").delete()
            User.objects.filter(username="erin").delete()
            Organization.objects.filter(name="Initech").delete()


def log_in(stack: Stack, source: str, username: str, password: str, **headers: str) -> int:
    """Post the Setup login form through nginx's TLS listener from `source`; the status."""
    assert stack.tls is not None
    trust = ssl.create_default_context(cafile=str(stack.tls.ca))
    transport = httpx.HTTPTransport(local_address=source, verify=trust)
    with httpx.Client(transport=transport, base_url=stack.tls_url, timeout=20) as client:
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token is not None, page.text
        answer = client.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": username,
                "password": password,
            },
            headers={"Referer": f"{stack.tls_url}/accounts/login/", **headers},
        )
    return answer.status_code


def test_one_clients_bad_passwords_do_not_lock_out_another_client(stack: Stack, erin: str) -> None:
    failures = [log_in(stack, ATTACKER, erin, "wrong password") for _ in range(5)]

    from_attacker = log_in(stack, ATTACKER, erin, PASSWORD)
    from_erins_desk = log_in(stack, VICTIM, erin, PASSWORD)

    assert failures == [200, 200, 200, 200, 429]  # the fifth failure locks
    assert from_attacker == 429  # the guessing client is locked out
    assert from_erins_desk == 302  # erin, elsewhere, logs in


def test_a_forged_forwarded_for_does_not_move_the_lock(stack: Stack, erin: str) -> None:
    """nginx replaces X-Forwarded-For, so a client cannot spread its guesses over addresses."""
    statuses = [
        log_in(stack, ATTACKER, erin, "wrong password", **{"X-Forwarded-For": f"203.0.113.{n}"})
        for n in range(6)
    ]

    assert statuses[-1] == 429
