"""orgs.links builds Setup links without reverse() per link: the strings must be reverse()'s."""

import uuid
from collections.abc import Iterator

import pytest
from django.urls import get_script_prefix, reverse, set_script_prefix

from orgs.links import object_link, org_url, path_builder

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


def test_path_builder_gives_what_the_builder_gives_and_calls_it_once() -> None:
    """The one helper where-used and the expiry digests build their links with."""
    calls: list[tuple[str, uuid.UUID]] = []

    def detail(org: str, ref: uuid.UUID) -> str:
        calls.append((org, ref))
        return reverse("certadmin:certificate-detail", args=[org, ref])

    def org_page(org: str, ref: uuid.UUID) -> str:  # a singleton per org: no uuid in it
        return reverse("orgs:setup-home", args=[org])

    refs = [uuid.uuid4() for _ in range(3)]

    links = [path_builder(detail)(ORG, ref) for ref in refs]

    assert links == [reverse("certadmin:certificate-detail", args=[ORG, ref]) for ref in refs]
    assert len(calls) == 1
    assert path_builder(org_page)("00DOther0000000001", refs[0]) == reverse(
        "orgs:setup-home", args=["00DOther0000000001"]
    )
