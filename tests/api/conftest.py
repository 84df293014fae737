"""Helpers of the API tests: tokens made by the real service, JSON requests."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certadmin.services import tokens
from orgs.models import Organization
from tests.client_certs import client_ca, client_certs, trust_client_ca  # noqa: F401 (fixtures)


def make_token(org: Organization, user: User, name: str = "Test client") -> str:
    return tokens.create_api_token(
        org=org, user=user, name=name, expires_in_days=None, acting_user=user
    ).plaintext


def api_get(client: Client, url: str, token: str | None = None, **extra: Any) -> Any:
    """GET `url` as an API client would (no session), with `token` as the bearer token."""
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(url, **extra)


@pytest.fixture
def alice_token(acme: Organization, alice: User) -> str:
    return make_token(acme, alice)


@pytest.fixture
def bob_token(acme: Organization, bob: User) -> str:
    return make_token(acme, bob)


@pytest.fixture
def carol_token(globex: Organization, carol: User) -> str:
    return make_token(globex, carol)
