"""Lists that scale and Setup Home in the browser (issue 15): select-all on a bulk page (and
the page without script), sorting by clicking headings, the state surviving a reload, Setup
Home's counts leading to the filtered list."""

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from certadmin.models import Certificate
from orgs.models import Organization
from tests.browser.conftest import log_in
from tests.certadmin.conftest import self_signed


@pytest.fixture
def expired_three(acme: Organization) -> list[str]:
    names = ["Old_One", "Old_Two", "Old_Three"]
    for days, name in enumerate(names, start=2):
        cert = self_signed(acme, name)
        Certificate.objects.filter(pk=cert.pk).update(
            not_after=timezone.now() - timedelta(days=days)
        )
    return names


def test_select_all_ticks_every_row_of_the_expired_page(
    page: Page, acme: Organization, alice: User, expired_three: list[str]
) -> None:
    log_in(page, alice)
    page.goto(f"/o/{acme.public_id}/setup/certificates/expired/")
    rows = page.locator('input[name="certificates"]')
    select_all = page.get_by_label("Select all")

    expect(rows).to_have_count(3)
    select_all.check()
    for i in range(3):
        expect(rows.nth(i)).to_be_checked()
    rows.nth(1).uncheck()
    expect(select_all).not_to_be_checked()
    assert select_all.evaluate("box => box.indeterminate") is True
    rows.nth(1).check()
    expect(select_all).to_be_checked()

    page.get_by_role("button", name="Delete Selected…").click()
    for name in expired_three:
        expect(page.get_by_text(name).first).to_be_visible()


@pytest.fixture
def no_script_page(browser: Browser, live_server: object) -> Iterator[Page]:
    context = browser.new_context(base_url=str(live_server), java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_without_script_rows_are_still_selected_one_by_one(
    no_script_page: Page, acme: Organization, alice: User, expired_three: list[str]
) -> None:
    page = no_script_page
    log_in(page, alice)
    page.goto(f"/o/{acme.public_id}/setup/certificates/expired/")

    expect(page.get_by_label("Select all")).to_be_hidden()
    expect(page.get_by_role("columnheader", name="Action")).to_be_visible()
    page.get_by_label("Select Old_Two").check()
    page.get_by_role("button", name="Delete Selected…").click()
    expect(page.get_by_text("Old_Two").first).to_be_visible()


def test_sorting_by_a_heading_and_the_state_surviving_a_reload(
    page: Page, acme: Organization, alice: User, expired_three: list[str]
) -> None:
    self_signed(acme, "Fresh_Cert")
    log_in(page, alice)
    page.goto(f"/o/{acme.public_id}/setup/certificates/")
    page.get_by_label("Search certificates").fill("old")
    page.get_by_role("button", name="Search").click()
    table = page.locator("#certificates tbody")
    expect(table.locator("tr")).to_have_count(3)

    page.get_by_role("link", name="Unique Name").first.click()
    heading = page.locator("#certificates th", has_text="Unique Name")
    expect(heading).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name="Unique Name").first.click()
    expect(heading).to_have_attribute("aria-sort", "descending")
    page.reload()

    assert re.search(r"q=old", page.url)
    assert "dir=desc" in page.url
    expect(page.get_by_label("Search certificates")).to_have_value("old")
    cells = table.locator("tr td:nth-child(3)")
    expect(cells).to_have_text(["Old_Two", "Old_Three", "Old_One"])


def test_setup_home_count_opens_the_filtered_list(
    page: Page, acme: Organization, alice: User, expired_three: list[str]
) -> None:
    self_signed(acme, "Fresh_Cert")
    log_in(page, alice)
    page.goto(f"/o/{acme.public_id}/setup/")

    expect(page.locator("#certificates-summary svg[role=img]")).to_be_visible()
    page.locator("#certificates-summary a", has_text="Expired").first.click()

    expect(page.locator("#certificates tbody tr")).to_have_count(3)
    expect(page.get_by_text("Fresh_Cert")).to_have_count(0)
