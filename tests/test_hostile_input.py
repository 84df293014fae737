"""Hostile input, as the URL matrix is for tenancy: every form a member can fill gets hostile
strings in its inputs, then every page, CSV, admin page and API answer that shows the data is
fetched and checked: no markup injected, template syntax printed as text, spreadsheet formulas
neutralised, never a 500.

Forms are found, not listed: every URL pattern is opened (with the URL matrix's sample objects)
by an admin who holds every permission, and each <form> on the page is parsed. A new page with
a form is covered the day it is added; the lists below say, with a reason, what is not posted.
Pages that show the data are found the same way: the Setup pages themselves and every page
they link to, as the admin and as a member without View Encrypted Data; the admin's lists and
newest rows as a superuser; the API's certificates.
"""

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import BaseForm
from django.http import HttpResponse
from django.test import Client
from django.urls import Resolver404, resolve, reverse

from certadmin.services import tokens
from keys.services import master_keys
from orgs import permissions
from orgs.models import Organization
from tests.certadmin.sso_helpers import fast_rsa, idp_certificate_pem
from tests.client_certs import ClientCa, client_ca, trust_client_ca
from tests.conftest import grant, make_member
from tests.test_url_matrix import (
    ALL_URLS,
    OPEN_TO_MEMBERS,
    ORG_URLS,
    PUBLIC,
    _kwargs_of,
    outside_org_url,
)
from tests.url_samples import SAMPLES

__all__ = ["client_ca", "fast_rsa", "trust_client_ca"]  # fixtures, used by name

# One test per case. Every typed input of every form gets the case's string; a case with
# several strings deals them out (input i of form j gets string i + j), so each string reaches
# many inputs and every input gets the markup cases.
HOSTILE: dict[str, tuple[str, ...]] = {
    "html": ("<img src=x onerror=alert(1)>",),
    "attribute": ("\"'><svg onload=alert(1)>",),
    "script-template": ("</textarea></title><script>alert(1)</script>", "t-{{7*7}}-t {% debug %}"),
    "formula": ("=cmd|' /C calc'!A0", "+1", "-2+3+cmd", "@SUM(1)", "\t=1+1", "\r=1+1"),
    "odd": ("x" * 10_000, "\x00\x1b[31m", "\u202etxt.exe"),
}
# What the template case would print had it been evaluated (Jinja2's 49, {% debug %}'s dump).
# "-" is not in base64: a PEM or fingerprint on the page cannot hold "t-49-t" by chance (the
# former "t49t" once appeared inside a certificate's PEM and failed the attribute case).
EVALUATED = ("t-49-t", "'False': False")
# A cell starting with one of these is run as a formula by a spreadsheet (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The admin who fills the forms has a username a spreadsheet would run (a valid Django
# username): it is the User column of every audit row the matrix writes.
ACTOR = "-2+3+cmd"

# Pages whose GET redirects for the sample objects, so no form is seen there: why that is fine.
REDIRECTS = {
    "certadmin:certificate-download": "a download; the sample awaits its signed certificate",
    "certadmin:certificate-renew": "renewing is a confirmation on the certificate's page",
    "certadmin:acme-renewal": "renewal settings exist for certificates obtained from ACME; the "
    "sample awaits its signed certificate (tests/acme posts the form against pebble)",
    "certadmin:acme-revoke": "only a certificate obtained from ACME is revoked here",
    "certadmin:idp-metadata": "an XML download once the Identity Provider is enabled",
    "keys:key-import": "only for a destroyed key: a key file and its password, nothing typed "
    "is stored (crafted files are the hostile-file matrix's)",
}
# POST-only URLs whose button the sample objects never show, and why nothing typed reaches them.
NOT_SHOWN = {
    "orgs:user-reactivate": "the button of a deactivated user (the sample member is active); "
    "a bare POST, nothing typed",
    "certadmin:acme-order-continue": "the button of a manual dns-01 order waiting for its TXT "
    "records (the sample order failed); a bare POST, nothing typed",
}
# Forms that are found but not posted.
NOT_POSTED = {
    "certadmin:keystore-import": "a keystore file and its password: nothing typed is stored "
    "(crafted files are the hostile-file matrix's)",
}
# Forms whose typed text is checked against something and never stored, so no post of them is
# accepted here.
NOT_STORED = {
    "keys:key-destroy": "the typed confirmation is compared with the phrase, never stored",
    "login": "a failed login stores nothing (the username is echoed on the form)",
    "certadmin:acme-order-create": "an order needs a registered ACME account, so a CA: the "
    "matrix has none (tests/acme posts it against pebble, and an order's names are checked "
    "against a strict domain-name pattern before anything is stored)",
    "certadmin:acme-order-csr": "the same order, for an existing CSR: nothing typed",
}
# File inputs of posted forms get a valid file, so the text beside it is stored.
FILES: dict[str, Callable[["Matrix"], bytes]] = {
    "certificate": lambda m: m.client_ca.issue(f"hostile-{next(m.counter)}").chain_pem,
    "idp_certificate": lambda m: idp_certificate_pem(),
    "trust_bundle": lambda m: m.client_ca.root_pem,
}
TYPED = {"text", "email", "url", "password", "search", "tel", "number"}
CHOICE = {"checkbox", "radio"}
NOT_DATA = {"submit", "button", "image", "reset"}
ROUTES = dict(ALL_URLS)


@dataclass
class FoundForm:
    page: str  # URL name of the page that shows it
    action: str  # the path it posts to
    defaults: dict[str, Any]  # hidden inputs and chosen options, as a browser sends them
    typed: dict[str, str]  # input name -> type ("textarea" for a textarea)
    choices: list[str]  # select, checkbox and radio names
    files: list[str]

    @property
    def key(self) -> str:
        target = resolve(self.action).view_name
        return self.page if target == self.page else f"{self.page} -> {target}"


@dataclass
class Matrix:
    case: str
    org: Organization
    admin_client: Client  # ACTOR: System Administrator with every other Setup permission
    viewer_client: Client  # bob: a member without any permission
    root_client: Client  # a superuser, for the admin
    anonymous: Client
    api_token: str
    client_ca: ClientCa
    samples: dict[str, str] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    problems: list[str] = field(default_factory=list)
    actions: set[str | None] = field(default_factory=set)  # URL names forms post to

    def url(self, name: str) -> str:
        """`name` with one sample object per URL kwarg, shared by every page."""
        if name in PUBLIC:
            return outside_org_url(name)
        kwargs = {"org": self.org.public_id}
        for kwarg in _kwargs_of(ROUTES[name]):
            if kwarg != "org":
                if kwarg not in self.samples:
                    self.samples[kwarg] = SAMPLES[kwarg](self.org)
                kwargs[kwarg] = self.samples[kwarg]
        return reverse(name, kwargs=kwargs)

    def client_for(self, name: str) -> Client:
        return self.anonymous if name in PUBLIC else self.admin_client

    def hostile(self, form_index: int, input_index: int) -> str:
        strings = HOSTILE[self.case]
        return strings[(form_index + input_index) % len(strings)]


# --- checking an answer ---------------------------------------------------------------------


def _check(m: Matrix, what: str, response: HttpResponse) -> None:
    """Record what is wrong with one answer. (A 500 has already raised in the test client.)"""
    where = f"[{m.case}] {what} ({response.status_code})"
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    text = body.decode("utf-8", "replace")
    ctype = response.get("Content-Type", "")
    if any(marker in text for marker in EVALUATED):
        m.problems.append(f"{where}: template syntax from input was evaluated")
    if not text:
        return
    if ctype.startswith("text/html"):
        m.problems.extend(f"{where}: {p}" for p in _injected(text))
    elif ctype.startswith("text/csv"):
        cells = list(_formulas(text))
        if cells:
            m.problems.append(f"{where}: {len(cells)} cell(s) run as formulas, e.g. {cells[0]}")
    elif ctype.startswith("application/json"):
        json.loads(text)
        if response.get("X-Content-Type-Options") != "nosniff":
            m.problems.append(f"{where}: JSON without X-Content-Type-Options: nosniff")


def _injected(html: str) -> Iterator[str]:
    """Markup the hostile strings add when they are printed unescaped."""
    for el in lxml.html.document_fromstring(html).iter():
        if not isinstance(el.tag, str):
            continue  # comments, processing instructions
        for name, value in el.attrib.items():
            if name.lower().startswith("on"):
                yield f"<{el.tag} {name}={value!r}>: an event handler from input"
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith(
                "javascript:"
            ):
                yield f"<{el.tag} {name}={value!r}>: a javascript: URL from input"
        if el.tag == "img" and el.get("src") == "x":
            yield "<img src=x>: an element from input"
        if el.tag == "script" and "alert(1)" in (el.text or ""):
            yield "<script>alert(1)</script>: a script from input"


def _formulas(text: str) -> Iterator[str]:
    for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                yield f"row {number}: {cell[:30]!r}"


# --- finding and filling forms --------------------------------------------------------------


def _forms(page: str, url: str, html: str) -> Iterator[FoundForm]:
    """The POST forms of a page (the logout button's form is left out)."""
    for form in lxml.html.document_fromstring(html).forms:
        target = urlsplit(urljoin(url, form.get("action") or url))
        action = target.path
        if action == reverse("logout") or (form.get("method") or "get").lower() != "post":
            continue
        if target.netloc not in ("", "testserver"):
            continue  # posts to another application (the Identity Provider's answer)
        found = FoundForm(page, action, {}, {}, [], [])
        for el in form.inputs:
            name = el.get("name")
            kind = "textarea" if el.tag == "textarea" else (el.get("type") or "text").lower()
            if not name or kind in NOT_DATA:
                continue
            if el.tag == "select":
                found.choices.append(name)
                options = [v for v in el.value_options if v]
                # What a person picks: the selected option, else the first real one.
                found.defaults[name] = (
                    list(el.value) if el.multiple else el.value or next(iter(options), "")
                )
            elif kind == "hidden":
                found.defaults[name] = el.get("value", "")
            elif kind in CHOICE:
                found.choices.append(name)
                if el.checked:
                    found.defaults.setdefault(name, []).append(el.get("value", "on"))
            elif kind == "file":
                found.files.append(name)
            elif kind in TYPED or kind == "textarea":
                found.typed[name] = kind
                found.defaults[name] = el.get("value", "") if el.tag == "input" else el.text
        found.choices = sorted(set(found.choices))
        yield found  # buttons only (delete, rotate) included: they account for POST-only URLs


def _discover(m: Matrix, names: list[str]) -> tuple[list[FoundForm], dict[str, int]]:
    """The forms on the pages `names` (opened with the sample objects), and each GET's status."""
    forms: list[FoundForm] = []
    status: dict[str, int] = {}
    for name in names:
        url = m.url(name)
        response = m.client_for(name).get(url)
        status[name] = response.status_code
        _check(m, f"GET {name}", response)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            forms.extend(_forms(name, url, response.content.decode()))
    return forms, status


def _form_errors(response: HttpResponse) -> tuple[set[str], bool]:
    """Input names with an error on the answered page, and whether there is any error."""
    context = getattr(response, "context", None) or []
    names: set[str] = set()
    any_error = False
    for ctx in context if isinstance(context, list) else [context]:
        for form in ctx.flatten().values():
            if not isinstance(form, BaseForm) or not form.is_bound:
                continue
            for name in form.errors:
                any_error = True
                if name != "__all__":
                    names.add(form.add_prefix(name))
    return names, any_error


def _valid_values(kind: str, initial: str, n: int) -> list[str]:
    """Values to try in an input whose hostile value was refused, so the others are stored."""
    if kind == "email":
        return [f"hostile{n}@example.test"]
    if kind == "url":
        return [f"https://idp{n}.example.test/sso"]
    if kind == "password":
        return [f"Hostile-pass-{n}-correct-horse"]
    if kind == "number":
        return [initial or "1"]
    return list(dict.fromkeys(v for v in (initial, f"Hostile_{n}", "DE") if v))


def _post(m: Matrix, form: FoundForm, data: dict[str, Any]) -> HttpResponse:
    payload = dict(data)
    for name in form.files:
        if name in FILES:
            payload[name] = SimpleUploadedFile(f"{name}.pem", FILES[name](m))
    response = m.client_for(form.page).post(form.action, payload)
    _check(m, f"POST {form.key}", response)
    return response


def _fill(m: Matrix, form: FoundForm, index: int) -> bool:
    """Post `form` with a hostile string in every typed input. Inputs the form refuses get
    valid values, one after the other, until the rest is accepted (then stored); a refusal of
    the whole form ("this name already exists") is retried once with a number added.
    Returns whether a post was accepted."""
    # The password inputs of a form (password, confirmation) always hold the same value.
    slots = {name: "password" if kind == "password" else name for name, kind in form.typed.items()}
    order = list(dict.fromkeys(slots.values()))
    value = {slot: m.hostile(index, i) for i, slot in enumerate(order)}
    replacements: dict[str, list[str]] = {}
    numbered = False
    for _ in range(5):
        response = _post(m, form, {**form.defaults, **{n: value[s] for n, s in slots.items()}})
        bad, any_error = _form_errors(response)
        if not any_error and response.status_code < 400:
            return True
        progress = False
        if not bad and not numbered:
            numbered = progress = True
            for slot in order:
                if slot not in replacements:
                    value[slot] = f"{value[slot]} {next(m.counter)}"
        for slot in {slots[name] for name in bad & set(slots)}:
            if slot not in replacements:
                name = next(n for n, s in slots.items() if s == slot)
                initial = str(form.defaults.get(name) or "")
                replacements[slot] = _valid_values(form.typed[name], initial, next(m.counter))
            if replacements[slot]:
                value[slot] = replacements[slot].pop(0)
                progress = True
        if not progress:
            return False
    return False


def _fill_choices(m: Matrix, form: FoundForm, index: int) -> None:
    """Post `form` with a hostile string as every option chosen: refused, and said so."""
    if not form.typed:  # first as a person would (assign, enable): more for the pages to show
        _post(m, form, form.defaults)
    data = dict(form.defaults)
    for i, name in enumerate([*form.typed, *form.choices]):
        data[name] = m.hostile(index, i)
    _post(m, form, data)


# --- fetching what shows the data -----------------------------------------------------------


def _crawl(
    m: Matrix, client: Client, seeds: list[str], follow: Callable[[str], bool], **headers: str
) -> None:
    """GET `seeds` and every page they link to (transitively) that `follow` accepts."""
    queue = list(dict.fromkeys(seeds))
    seen = set(queue)
    while queue:
        url = queue.pop(0)
        response = client.get(url, **headers)
        _check(m, f"GET {url}", response)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        doc = lxml.html.document_fromstring(response.content)
        m.actions.update(
            _view_name(urlsplit(urljoin(url, f.get("action") or url)).path) for f in doc.forms
        )
        for href in doc.xpath("//a/@href"):
            parts = urlsplit(urljoin(url, href))
            link = parts.path
            if parts.query or parts.netloc not in ("", "testserver") or link in seen:
                continue
            if follow(link):
                seen.add(link)
                queue.append(link)


def _view_name(path: str) -> str | None:
    try:
        return resolve(path).view_name
    except Resolver404:
        return None


def _admin_pages() -> list[str]:
    """The admin's index, each registered model's list and the change page of its newest row."""
    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{prefix}_changelist"))
        newest = model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
        if newest is not None:
            pages.append(reverse(f"{prefix}_change", args=[newest]))
    return pages


def _api_pages(m: Matrix) -> list[str]:
    """The certificate list of the API and each certificate's detail and PEM."""
    base = reverse("api:certificate-list", args=[m.org.public_id])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {m.api_token}"}
    response = m.admin_client.get(base, {"page_size": 200}, **auth)  # type: ignore[arg-type]
    _check(m, "GET api:certificate-list", response)
    items = response.json()["results"]
    return [base] + [item["url"] for item in items] + [i["pem_url"] for i in items if i["pem_url"]]


# --- the test -------------------------------------------------------------------------------


@pytest.fixture
def matrix(
    request: pytest.FixtureRequest,
    acme: Organization,
    fast_rsa: None,
    trust_client_ca: ClientCa,
    monkeypatch: pytest.MonkeyPatch,
) -> Matrix:
    monkeypatch.setattr(master_keys, "EXPORT_SCRYPT_N", 2**4)  # key export files, cheaply
    actor = make_member(acme, ACTOR, permissions.SYSTEM_ADMINISTRATOR)
    grant(
        acme,
        actor,
        permissions.CUSTOMIZE_APPLICATION.codename,
        permissions.RECEIVE_EXPIRATION_NOTIFICATIONS.codename,
    )
    viewer = make_member(acme, "bob")
    root = User.objects.create_superuser("root", "root@example.test", "unused")
    clients = [Client() for _ in range(4)]
    for client, user in zip(clients, (actor, viewer, root), strict=False):
        client.force_login(user)
    token = tokens.create_api_token(
        org=acme, user=actor, name="Matrix", expires_in_days=None, acting_user=None
    )
    return Matrix(request.param, acme, *clients, token.plaintext, trust_client_ca)


@pytest.mark.parametrize("matrix", list(HOSTILE), indirect=True)
def test_hostile_input_is_shown_escaped_and_neutralised(matrix: Matrix) -> None:
    m = matrix
    pages = [*ORG_URLS, *sorted(PUBLIC)]

    forms, status = _discover(m, pages)
    accepted: dict[str, bool] = {}
    for index, form in enumerate(forms):
        if form.typed and form.page not in NOT_POSTED:
            accepted[form.key] = _fill(m, form, index) or accepted.get(form.key, False)
    # Filling some forms changes others: an encrypted field adds an input to the contact forms,
    # a new RSA certificate becomes a choice of the SSO form. Open the form pages again.
    known = {(f.key, tuple(f.typed)) for f in forms}
    again, _ = _discover(m, list(dict.fromkeys(f.page for f in forms)))
    for index, form in enumerate(again, start=len(forms)):
        changed = (form.key, tuple(form.typed)) not in known
        if form.typed and form.page not in NOT_POSTED and (changed or not accepted[form.key]):
            accepted[form.key] = _fill(m, form, index) or accepted[form.key]
            forms.append(form)
    for index, form in enumerate(forms):
        if form.choices and form.page not in NOT_POSTED:
            _fill_choices(m, form, index)

    setup = f"/o/{m.org.public_id}/setup/"
    seeds = [m.url(name) for name, code in status.items() if code == 200]
    _crawl(m, m.admin_client, seeds, lambda p: p.startswith(setup) and bool(_view_name(p)))
    member_pages = [m.url(name) for name in OPEN_TO_MEMBERS]
    _crawl(m, m.viewer_client, member_pages, lambda p: _view_name(p) in OPEN_TO_MEMBERS)
    _crawl(m, m.root_client, _admin_pages(), lambda p: False)
    api_auth = {"HTTP_AUTHORIZATION": f"Bearer {m.api_token}"}
    _crawl(m, m.admin_client, _api_pages(m), lambda p: False, **api_auth)

    assert not m.problems, "\n".join(dict.fromkeys(m.problems))
    # The matrix saw everything: each page answered 200, or redirected for a stated reason, or
    # only takes the POST of a form found on another page; each form that stores what is typed
    # had a post accepted (else its text never reached the pages checked above).
    actions = m.actions | {resolve(f.action).view_name for f in forms}
    unexplained = {
        name: code
        for name, code in status.items()
        if code != 200
        and name not in REDIRECTS
        and not (code == 405 and (name in actions or name in NOT_SHOWN))
    }
    assert unexplained == {}, "give these pages a sample, or say in REDIRECTS why they redirect"
    assert set(NOT_POSTED) <= {f.page for f in forms}, "a skipped form is gone: unlist it"
    refused = [key for key, ok in accepted.items() if not ok and key not in NOT_STORED]
    assert refused == [], "no post of these forms was accepted: their text was never shown"
