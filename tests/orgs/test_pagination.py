"""KeysFirstPaginator gives the pages Django's Paginator gives, in two queries a page."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.paginator import Paginator

from orgs.models import Organization
from orgs.pagination import KeysFirstPaginator
from tests.conftest import make_org


@pytest.mark.parametrize("orphans", [0, 1])
def test_every_page_is_the_one_djangos_paginator_gives(db: None, orphans: int) -> None:
    for name in ["Kilo", "Alpha", "Echo", "Golf", "Bravo", "India", "Delta"]:
        make_org(name)
    ordered = Organization.objects.order_by("-name")

    ours = KeysFirstPaginator(ordered, 3, orphans=orphans)
    django = Paginator(ordered, 3, orphans=orphans)

    assert ours.num_pages == django.num_pages
    for number in django.page_range:
        assert list(ours.page(number)) == list(django.page(number))
    assert list(ours.get_page("99")) == list(django.get_page("99"))  # out of range: the last


def test_a_page_costs_two_queries(db: None, django_assert_num_queries: Callable[..., Any]) -> None:
    for n in range(5):
        make_org(f"Org {n}")
    paginator = KeysFirstPaginator(Organization.objects.order_by("name"), 2)
    paginator.count  # noqa: B018 (the count is read once, as Django's paginator does)

    with django_assert_num_queries(2):
        page = list(paginator.page(2))

    assert [org.name for org in page] == ["Org 2", "Org 3"]
