"""orgs.links builds Setup links without reverse() per link: the strings must be reverse()'s."""

import uuid
from collections.abc import Iterator

import pytest
from django.urls import get_script_prefix, reverse, set_script_prefix

from orgs.links import object_link, org_url

ORG = "00DAbcdefghijklmno"


def test_org_url_is_what_reverse_gives() -> None:
    for name in ("orgs:setup-home", "certadmin:certificate-list", "keys:key-list"):
        assert org_url(name, ORG) == reverse(name, args=[ORG])


def test_object_link_is_what_reverse_gives_for_a_uuid_or_its_string() -> None:
    ref = uuid.uuid4()
    link = object_link("certadmin:certificate-detail", ORG)

    assert link(ref) == reverse("certadmin:certificate-detail", args=[ORG, ref])
    assert link(str(ref)) == link(ref)


@pytest.fixture
def script_prefix() -> Iterator[None]:
    before = get_script_prefix()
    set_script_prefix("/certadmin/")
    yield
    set_script_prefix(before)


@pytest.mark.usefixtures("script_prefix")
def test_links_follow_the_script_prefix_of_the_request() -> None:
    """An installation served under a path (SCRIPT_NAME) gets its links prefixed."""
    ref = uuid.uuid4()

    assert org_url("orgs:setup-home", ORG) == f"/certadmin/o/{ORG}/setup/"
    assert object_link("certadmin:certificate-detail", ORG)(ref) == reverse(
        "certadmin:certificate-detail", args=[ORG, ref]
    )
    assert reverse("orgs:setup-home", args=[ORG]).startswith("/certadmin/")
