from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from orgs.models import Organization
from tests.conftest import PASSWORD, grant


def _login(client: Client, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(reverse("login"), {"username": username, "password": password})


def test_member_logs_in_and_lands_in_setup(client: Client, acme: Organization, alice: User) -> None:
    response = _login(client, "alice")

    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_api_only_user_cannot_log_in_to_setup(
    client: Client, acme: Organization, bob: User
) -> None:
    grant(acme, bob, "api_only_user")

    response = _login(client, "bob")

    assertContains(response, "API Only user")
    assert "_auth_user_id" not in client.session


def test_api_only_user_with_a_session_is_refused_setup_pages(
    client: Client, acme: Organization, bob: User
) -> None:
    grant(acme, bob, "api_only_user")
    client.force_login(bob)

    response = client.get(reverse("orgs:setup-home", args=[acme.public_id]))

    assertContains(response, "API Only", status_code=403)


def test_repeated_failed_logins_lock_the_account(
    client: Client, acme: Organization, alice: User
) -> None:
    for _ in range(5):
        _login(client, "alice", "wrong password")

    response = _login(client, "alice")

    assert response.status_code == 429
    assertContains(response, "Too many failed logins", status_code=429)


def test_csrf_is_enforced_on_login(acme: Organization, alice: User) -> None:
    client = Client(enforce_csrf_checks=True)

    response = _login(client, "alice")

    assert response.status_code == 403


def test_an_over_long_username_is_a_form_error_not_a_500(client: Client, db: None) -> None:
    """django-axes records failed logins in a 255-character column (PostgreSQL refuses more)."""
    response = _login(client, "a" * 10_000)

    assertContains(response, "at most 150 characters", status_code=200)
