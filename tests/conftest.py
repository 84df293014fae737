"""Personas and shared fixtures.

alice: System Administrator of Acme. bob: Standard User of Acme (no permissions).
carol: System Administrator of Globex, who must never see anything of Acme's.
"""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from orgs import permissions
from orgs.models import Membership, Organization, PermissionSet
from orgs.services import members, organizations, permission_sets, profiles
from tests.factories import UserFactory
from tests.pem import OpenSslCa

PASSWORD = "correct horse battery staple"


def make_org(name: str) -> Organization:
    return organizations.create_organization(name=name, acting_user=None)


def make_member(org: Organization, username: str, profile: str = permissions.STANDARD_USER) -> User:
    user = UserFactory(username=username)
    members.add_member(
        org=org, user=user, profile=profiles.standard_profile(org, profile), acting_user=None
    )
    return user


def grant(org: Organization, user: User, *codenames: str) -> PermissionSet:
    """Give `user` extra permissions in `org` the production way: a permission set."""
    pset = permission_sets.create_permission_set(
        org=org,
        label=f"Extra for {user.username}",
        api_name=f"Extra_{user.username}_{PermissionSet.objects.count()}",
        permission_codes=list(codenames),
        acting_user=None,
    )
    membership = Membership.objects.get(organization=org, user=user)
    permission_sets.assign_permission_set(membership=membership, pset=pset, acting_user=None)
    return pset


@pytest.fixture(scope="session")
def openssl_ca(tmp_path_factory: pytest.TempPathFactory) -> OpenSslCa:
    """A root and an intermediate CA made by the openssl command."""
    return OpenSslCa.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def acme(db: None) -> Organization:
    return make_org("Acme")


@pytest.fixture
def globex(db: None) -> Organization:
    return make_org("Globex")


@pytest.fixture
def alice(acme: Organization) -> User:
    """System Administrator of Acme."""
    return make_member(acme, "alice", permissions.SYSTEM_ADMINISTRATOR)


@pytest.fixture
def bob(acme: Organization) -> User:
    """Standard User of Acme: a member without any permission."""
    return make_member(acme, "bob")


@pytest.fixture
def carol(globex: Organization) -> User:
    """System Administrator of Globex."""
    return make_member(globex, "carol", permissions.SYSTEM_ADMINISTRATOR)


@pytest.fixture
def alice_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client
