"""The org gate reads the membership with one statement of its own (orgs.sql): what it loads
must be what the ORM loads, converted values included."""

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from orgs.access import _MEMBERSHIP, _membership
from orgs.models import Membership, Organization


def test_the_membership_is_the_one_the_orm_reads(
    acme: Organization, alice: User, django_assert_num_queries: Callable[..., Any]
) -> None:
    expected = Membership.objects.select_related("organization", "profile").get(
        organization=acme, user=alice
    )

    with django_assert_num_queries(1):  # organization and profile come with it
        found = _membership(acme.public_id, alice.pk)
        assert found is not None
        assert (found.organization.name, found.profile.name) == (acme.name, expected.profile.name)

    assert found.pk == expected.pk
    assert isinstance(found.uuid, uuid.UUID)
    assert found.uuid == expected.uuid
    assert found.created_at == expected.created_at
    assert isinstance(found.created_at, datetime)
    assert found.created_at.tzinfo is not None
    assert found.organization.public_id == acme.public_id
    assert found.organization.created_at == expected.organization.created_at
    assert found.profile.name == expected.profile.name
    assert found.profile.permissions == expected.profile.permissions  # JSON, decoded
    assert found.profile.is_standard is expected.profile.is_standard
    assert found._state.adding is False
    assert found.organization._state.adding is False


def test_no_membership_in_an_org_one_is_not_a_member_of(
    acme: Organization, globex: Organization, carol: User
) -> None:
    assert _membership(acme.public_id, carol.pk) is None
    assert _membership("00DNoSuchOrganizat", carol.pk) is None
    assert _membership(globex.public_id, carol.pk) is not None


def test_each_database_connection_has_its_own_loader() -> None:
    """Converters belong to a connection: a thread (another connection) gets its own."""
    first = _MEMBERSHIP.loader()
    elsewhere: list[object] = []
    thread = threading.Thread(target=lambda: elsewhere.append(_MEMBERSHIP.loader()))

    thread.start()
    thread.join()

    assert _MEMBERSHIP.loader() is first
    assert elsewhere[0] is not first
