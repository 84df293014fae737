"""Every URL of the project, as anonymous, as a member without the permission, and as another
org's admin: redirect to login, 403 and 404. New pages are covered without a new test."""

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from orgs.models import Organization
from tests.conftest import grant
from tests.url_samples import OUTSIDE_ORG_SAMPLES, SAMPLES

# Pages every member of the org may open (no permission needed), with the reason.
OPEN_TO_MEMBERS = {
    "orgs:setup-home": "the Setup home shows the member their own access",
    "certadmin:token-list": "every member makes and revokes their own API tokens",
    "idp-sso": "every member logs in to the org's applications through its Identity Provider "
    "(without a request: the list of them)",
    "idp-initiated": "every member may log in to an application registered by the org",
    **{
        f"keys:contact-{page}": "contacts are the org's data: every member works with them, "
        "seeing encrypted fields masked without View Encrypted Data (docs/keys.md)"
        for page in ("list", "create", "detail", "edit", "delete", "csv")
    },
}
# Pages that need a permission the System Administrator profile lacks (SPEC 1), by URL-name
# prefix: alice is refused (403) until a permission set grants it; carol is granted it in her
# own org, so her 404 proves the object lookup rather than the missing permission.
BEYOND_SYSTEM_ADMINISTRATOR = {
    "certadmin:sso-": "customize_application",
    "certadmin:idp-": "customize_application",
    "certadmin:named-credential-": "customize_application",
    "keys:field-": "customize_application",
}
# URLs outside the org tree that anonymous may open.
PUBLIC = {
    "login",
    "healthz",
    "password_reset_confirm",
    "password_reset_complete",
    "acme-challenge",
}
# URLs of an org that anonymous users open by design (single sign-on, docs/sso.md), with what
# anonymous gets for the org's own object: the login start redirects to the identity
# provider, the Assertion Consumer Service refuses an empty post with a reason. Another org's
# object in the URL is a 404 all the same (tested below).
PUBLIC_IN_ORG = {"sso-login": 302, "sso-acs": 400}


def _walk(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            if ns == "admin":
                continue  # the admin has its own gate, tested in test_admin_gate
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), full_ns)
        elif entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, prefix + str(entry.pattern)


def _kwargs_of(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route)


ALL_URLS = sorted(set(_walk(get_resolver().url_patterns)))
# The JSON API (/api/...) authenticates by token and answers JSON 401/403/404, never a login
# redirect or an HTML page: it has its own matrix, tests/api/test_api_matrix.py.
API_PREFIX = "api/"
SETUP_URLS = [(name, route) for name, route in ALL_URLS if not route.startswith(API_PREFIX)]
ORG_URLS = [
    name for name, route in SETUP_URLS if "<str:org>" in route and name not in PUBLIC_IN_ORG
]


def test_the_matrix_sees_the_setup_pages() -> None:
    assert "orgs:user-list" in ORG_URLS
    assert "orgs:audit-trail" in ORG_URLS


def outside_org_url(name: str) -> str:
    """A URL outside the org tree, its keyword arguments (if any) from OUTSIDE_ORG_SAMPLES."""
    samples = {kwarg: OUTSIDE_ORG_SAMPLES[kwarg] for kwarg in _kwargs_of(dict(ALL_URLS)[name])}
    kwargs = {k: sample() if callable(sample) else sample for k, sample in samples.items()}
    return reverse(name, kwargs=kwargs)


def _url(name: str, org: Organization, url_org: Organization | None = None) -> str:
    """`name` with sample objects of `org`; the URL names `url_org` (default: `org`)."""
    route = dict(ALL_URLS)[name]
    kwargs = {"org": (url_org or org).public_id}
    for kwarg in _kwargs_of(route):
        if kwarg == "org":
            continue
        assert kwarg in SAMPLES, f"add a sample for URL kwarg {kwarg!r} to tests/url_samples.py"
        kwargs[kwarg] = SAMPLES[kwarg](org)
    return reverse(name, kwargs=kwargs)


def _extra_permission(name: str) -> str | None:
    return next(
        (perm for prefix, perm in BEYOND_SYSTEM_ADMINISTRATOR.items() if name.startswith(prefix)),
        None,
    )


def _hit(client: Client, url: str) -> int:
    """GET, or POST when the view only answers POST; returns the status."""
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})
    return response.status_code


@pytest.mark.parametrize("name", ORG_URLS)
def test_anonymous_is_sent_to_login(client: Client, acme: Organization, name: str) -> None:
    url = _url(name, acme)

    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ORG_URLS)
def test_other_orgs_admin_gets_404(
    client: Client, acme: Organization, alice: User, carol: User, name: str
) -> None:
    url = _url(name, acme)
    client.force_login(carol)

    assert _hit(client, url) == 404


OBJECT_URLS = [name for name in ORG_URLS if len(_kwargs_of(dict(ALL_URLS)[name])) > 1]


@pytest.mark.parametrize("name", OBJECT_URLS)
def test_other_orgs_admin_guessing_ids_in_her_own_org_gets_404(
    client: Client, acme: Organization, globex: Organization, alice: User, carol: User, name: str
) -> None:
    """Carol puts Acme's object ids into a URL of her own org (Globex)."""
    url = _url(name, acme, url_org=globex)
    if extra := _extra_permission(name):
        grant(globex, carol, extra)
    client.force_login(carol)

    assert _hit(client, url) == 404


@pytest.mark.parametrize("name", ORG_URLS)
def test_member_without_permission_gets_403(
    client: Client, acme: Organization, alice: User, bob: User, name: str
) -> None:
    url = _url(name, acme)
    client.force_login(bob)

    status = _hit(client, url)

    if name in OPEN_TO_MEMBERS:
        assert status == 200
    else:
        assert status == 403


@pytest.mark.parametrize("name", ORG_URLS)
def test_admin_of_the_org_is_let_in(
    client: Client, acme: Organization, alice: User, name: str
) -> None:
    """The other side of the matrix: the pages are reachable, so the denials above mean
    something. (Pages that need a permission the System Administrator profile lacks are
    403 here too, and listed.)"""
    url = _url(name, acme)
    client.force_login(alice)
    if extra := _extra_permission(name):
        assert _hit(client, url) == 403, f"{name} opened without {extra}"
        grant(acme, alice, extra)

    status = _hit(client, url)

    assert status in (200, 302, 400), f"{name} answered {status} to its own org's admin"


@pytest.mark.parametrize("name", [n for n, r in SETUP_URLS if "<str:org>" not in r])
def test_pages_outside_an_org_need_a_login_unless_public(
    client: Client, db: None, name: str
) -> None:
    url = outside_org_url(name)

    response = client.get(url)

    if name in PUBLIC:
        assert response.status_code == 200
    else:
        assert response.status_code in (302, 405)
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", sorted(PUBLIC_IN_ORG))
def test_public_org_urls_answer_anonymous_for_their_own_org_only(
    client: Client, acme: Organization, globex: Organization, name: str
) -> None:
    assert dict(SETUP_URLS)[name].count("<") == 2, "an org and one object"

    assert _hit(client, _url(name, acme)) == PUBLIC_IN_ORG[name]
    assert _hit(client, _url(name, acme, url_org=globex)) == 404
