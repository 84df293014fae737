"""The Setup tree (SPEC 10): every app adds its own pages, in one order, locked without the
permission that opens them."""

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from orgs import setup_tree
from orgs.models import Organization

EXPECTED = [
    (
        "Security",
        [
            "Certificate and Key Management",
            "ACME",
            "Expired Certificates",
            "Expiration Notifications",
            "Master Encryption Keys",
            "Single Sign-On",
            "Identity Provider",
            "Named Credentials",
            "Setup Audit Trail",
        ],
    ),
    ("Contacts", ["Contacts", "Encrypted Fields"]),
    ("Users", ["Users", "Profiles and Permission Sets"]),
    ("My Settings", ["API Tokens"]),
]


def test_the_tree_shows_every_apps_pages_in_order(alice_client: Client, acme: Organization) -> None:
    response = alice_client.get(reverse("orgs:setup-home", args=[acme.public_id]))

    tree = response.context["setup_tree"]
    assert [(s["heading"], [link["label"] for link in s["links"]]) for s in tree] == EXPECTED


def test_a_page_without_its_permission_is_shown_locked(
    client: Client, bob: User, acme: Organization
) -> None:
    client.force_login(bob)

    response = client.get(reverse("orgs:setup-home", args=[acme.public_id]))

    links = {link["label"]: link for s in response.context["setup_tree"] for link in s["links"]}
    assert links["API Tokens"]["allowed"] is True
    assert links["Master Encryption Keys"]["allowed"] is False
    assert links["Certificate and Key Management"]["url"] == reverse(
        "certadmin:certificate-list", args=[acme.public_id]
    )


def test_declaring_an_entry_twice_adds_it_once() -> None:
    before = setup_tree.sections()

    setup_tree.add("My Settings", "API Tokens", "certadmin:token-list", None, order=10)

    assert setup_tree.sections() == before
