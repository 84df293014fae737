"""Help for this page (issue 15): every Setup page links to the docs section about it, served
by the app. A page without a topic, or a topic pointing at a heading that is gone, fails here."""

from pathlib import Path

import lxml.html
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from orgs import help, permissions
from orgs.models import Organization
from tests.conftest import grant
from tests.test_url_matrix import ALL_URLS, ORG_URLS, _url

# The Setup pages: an org's URLs under /o/<org>/setup/ (not its protocol endpoints, such as the
# Identity Provider's /o/<org>/idp/sso).
SETUP_PAGES = [name for name in ORG_URLS if "/setup/" in dict(ALL_URLS)[name]]


@pytest.mark.parametrize("name", SETUP_PAGES)
def test_every_setup_url_has_a_topic_that_exists(name: str) -> None:
    topic = help.topic_for(name)

    assert topic is not None, f"declare the help of {name} with orgs.help.add() in its app"
    links = {page: f"/help/{page}/" for page in help.pages()}
    assert topic.anchor == "" or topic.anchor in help.render(topic.page, links).anchors


def test_every_setup_page_shows_its_help_link(
    alice_client: Client, alice: User, acme: Organization
) -> None:
    grant(acme, alice, permissions.CUSTOMIZE_APPLICATION.codename)
    seen = []

    for name in SETUP_PAGES:
        response = alice_client.get(_url(name, acme))
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue  # downloads, POST-only actions, redirects
        topic = help.topic_for(name)
        assert topic is not None
        links = lxml.html.document_fromstring(response.content).xpath(
            '//div[@class="page-header"]//a[normalize-space()="Help for this page"]/@href'
        )
        expected = reverse("help", args=[topic.page]) + (f"#{topic.anchor}" if topic.anchor else "")
        assert links == [expected], name
        seen.append(name)

    assert len(seen) > 40  # the walk reached the pages, so the asserts above meant something


def test_help_page_shows_the_section_the_link_points_at(alice_client: Client) -> None:
    response = alice_client.get(reverse("help", args=["users"]))

    assertContains(response, '<h2 id="permission-sets">Permission sets</h2>', html=True)


def test_unknown_help_page_is_404(alice_client: Client) -> None:
    assert alice_client.get(reverse("help", args=["no-such-page"])).status_code == 404


def test_markdown_is_rendered_safely_and_links_between_docs_work(
    alice_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "one.md").write_text(
        "# One\n\n<script>alert(1)</script>\n\nSee [two](two.md#later) and "
        "![a chart](screenshots/chart.png).\n",
        encoding="utf-8",
    )
    (tmp_path / "two.md").write_text("# Two\n\n## Later\n", encoding="utf-8")
    monkeypatch.setattr(help, "DOCS_DIR", tmp_path)
    help.pages.cache_clear()
    try:
        response = alice_client.get(reverse("help", args=["one"]))
    finally:
        help.pages.cache_clear()

    doc = lxml.html.document_fromstring(response.content)
    assert doc.xpath("//script[contains(., 'alert(1)')]") == []
    assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")
    assert doc.xpath('//a[normalize-space()="two"]/@href') == [
        reverse("help", args=["two"]) + "#later"
    ]
    assertContains(response, "[picture: a chart]")
