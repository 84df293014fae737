"""Reflow (WCAG 1.4.10, issue 15 item 3, issue 19): no Setup page is wider than the window at
1400, 800 and 320 px, with 64-character labels without spaces and a three-certificate chain;
at 1400 and 800 px no panel's content overflows it either. Below 800 px the Setup tree
collapses behind a button and Log out stays on screen."""

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from orgs.models import Organization
from tests.browser.conftest import log_in
from tests.browser.setup_pages import LONG_LABEL, html_pages, populate, url_pattern_pages
from tests.pem import OpenSslCa

WIDTHS = (1400, 800, 320)

# How much wider than the window the page is, and which panels (cards, the page header) have
# content sticking out of them.
MEASURE = """() => ({
  page: document.documentElement.scrollWidth - window.innerWidth,
  panels: [...document.querySelectorAll('.card, .page-header, .setup-tree, .topbar')]
    .filter(el => el.scrollWidth > el.clientWidth + 1)
    .map(el => (el.id || el.className) + ' ' + (el.scrollWidth - el.clientWidth) + 'px'),
})"""


def test_no_setup_page_is_wider_than_the_window(
    page: Page, acme: Organization, alice: User, openssl_ca: OpenSslCa
) -> None:
    extra = populate(acme, alice, openssl_ca)
    log_in(page, alice)
    too_wide: list[str] = []
    visited = 0
    for setup_page in html_pages(page.context, [*url_pattern_pages(acme), *extra]):
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        page.goto(setup_page.url)
        visited += 1
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            measured = page.evaluate(MEASURE)
            if measured["page"] > 0:
                too_wide.append(f"{setup_page.name} at {width}px: {measured['page']}px too wide")
            if width >= 800 and measured["panels"]:
                too_wide.append(f"{setup_page.name} at {width}px overflows {measured['panels']}")

    assert visited > 40
    assert not too_wide, "\n".join(too_wide)


def test_long_label_and_chain_wrap_inside_their_panels(
    page: Page, acme: Organization, alice: User, openssl_ca: OpenSslCa
) -> None:
    """The two values of the report (a 64-character label on the list, fingerprints in the
    chain table) are on the page, whole, and inside the window."""
    extra = {p.name: p.url for p in populate(acme, alice, openssl_ca)}
    log_in(page, alice)
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(extra["chain detail"])
    chain = page.get_by_role("table", name="Certificate chain of Web_Server, leaf first")
    expect(chain.get_by_role("row")).to_have_count(4)  # header + leaf, intermediate, root
    box = chain.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 800

    page.get_by_role("link", name="Certificate and Key Management").click()
    label = page.get_by_role("link", name=LONG_LABEL, exact=True)
    expect(label).to_be_visible()
    status = page.get_by_role("table", name="Certificates of Acme").get_by_role(
        "columnheader", name="Used By"
    )
    box = status.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 800


def test_at_320_px_the_tree_collapses_and_log_out_stays_on_screen(
    page: Page, acme: Organization, alice: User
) -> None:
    log_in(page, alice)
    page.set_viewport_size({"width": 320, "height": 640})
    page.reload()
    toggle = page.get_by_role("button", name="Setup menu")
    users = page.get_by_role("link", name="Users", exact=True)

    expect(users).to_be_hidden()
    log_out = page.get_by_role("button", name="Log out")
    box = log_out.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 320
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(users).to_be_visible()

    page.set_viewport_size({"width": 1400, "height": 900})
    expect(toggle).to_be_hidden()
    expect(page.get_by_role("link", name="Setup Audit Trail")).to_be_visible()
