"""axe-core (WCAG 2.0/2.1 A and AA) over every Setup page, with data so that badges, tables
and errors show, and over every form submitted empty (issue 19). One browser, one page; the
violations of all pages are reported together."""

from django.contrib.auth.models import User
from playwright.sync_api import Page

from orgs.models import Organization
from tests.browser.conftest import log_in
from tests.browser.setup_pages import (
    FILLABLE_FORMS,
    html_pages,
    populate,
    run_axe,
    submit_empty,
    url_pattern_pages,
)
from tests.pem import OpenSslCa


def _check(page: Page, where: str, found: dict[str, list[str]]) -> None:
    if violations := run_axe(page):
        found[where] = violations


def test_axe_finds_no_wcag_violation_on_any_setup_page(
    page: Page, acme: Organization, alice: User, bob: User, openssl_ca: OpenSslCa
) -> None:
    found: dict[str, list[str]] = {}
    extra = populate(acme, alice, openssl_ca)
    page.goto("/accounts/login/")
    _check(page, "login", found)
    submit_empty(page, 0)
    _check(page, "login, submitted empty", found)
    log_in(page, alice)
    page.goto("/")
    _check(page, "org switcher", found)

    visited = 0
    for setup_page in html_pages(page.context, [*url_pattern_pages(acme), *extra]):
        page.goto(setup_page.url)
        _check(page, setup_page.name, found)
        visited += 1
        for form_index in page.evaluate(FILLABLE_FORMS):
            page.goto(setup_page.url)
            submit_empty(page, form_index)
            _check(page, f"{setup_page.name}, form {form_index + 1} submitted empty", found)

    page.goto(f"/o/{acme.public_id}/setup/certificates/00000000-0000-0000-0000-000000000000/")
    _check(page, "not found", found)
    page.get_by_role("button", name="Log out").click()
    log_in(page, bob)
    page.goto(f"/o/{acme.public_id}/setup/master-keys/")
    _check(page, "insufficient privileges (a member without the permission)", found)

    assert visited > 40  # the walk did reach the Setup tree
    report = "\n".join(f"{where}:\n  " + "\n  ".join(v) for where, v in found.items())
    assert not found, f"axe-core found WCAG violations:\n{report}"
