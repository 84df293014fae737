"""Help for this page (issue 15, as Salesforce Setup has): every Setup page links to the part
of the docs that explains it, served by the app (orgs.views.home.help_page).

Each app declares its pages' topics from its AppConfig.ready(), as it does its Setup-tree
entries, so orgs never names another app's URLs: `add("certadmin:certificate-", "certificates",
"create-a-certificate")`. A URL name is matched by its longest declared prefix; a test walks
every Setup URL and fails for a page without a topic.
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils.text import slugify
from markdown_it import MarkdownIt
from markdown_it.token import Token

DOCS_DIR = Path(settings.BASE_DIR) / "docs"


@dataclass(frozen=True)
class Topic:
    page: str  # a docs/<page>.md file
    anchor: str  # a heading's id on that page ("" for the top)


_TOPICS: dict[str, Topic] = {}


def add(url_name_prefix: str, page: str, anchor: str = "") -> None:
    """Declare the help of the pages whose URL name starts with `url_name_prefix`."""
    if page not in pages():
        raise ValueError(f"No docs/{page}.md for the help of {url_name_prefix!r}.")
    _TOPICS[url_name_prefix] = Topic(page, anchor)


def topic_for(url_name: str) -> Topic | None:
    """The topic of the longest prefix declared for `url_name`, or None."""
    prefixes = [p for p in _TOPICS if url_name.startswith(p)]
    return _TOPICS[max(prefixes, key=len)] if prefixes else None


@cache
def pages() -> frozenset[str]:
    """The help pages there are: the Markdown files of docs/, by name without ".md"."""
    return frozenset(path.stem for path in DOCS_DIR.glob("*.md"))


@dataclass(frozen=True)
class Rendered:
    title: str
    html: str
    anchors: frozenset[str]


_MD_LINK = re.compile(r"^(?:\.\./)?(?:docs/)?(?P<page>[\w-]+)\.md(?P<anchor>#[\w-]*)?$")


def render(page: str, link_to: "dict[str, str]") -> Rendered:
    """docs/<page>.md as HTML: raw HTML in the file is shown as text, headings get ids (the
    anchors topics point at), links to other docs go to their help pages (`link_to`: page ->
    URL), images become their alt text (the screenshots live in the repository only)."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse((DOCS_DIR / f"{page}.md").read_text(encoding="utf-8"))
    anchors: set[str] = set()
    title = page
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            text = tokens[index + 1].content
            anchor = slugify(text.replace("`", ""))
            token.attrSet("id", anchor)
            anchors.add(anchor)
            if token.tag == "h1" and title == page:
                title = text.replace("`", "")
        if token.type == "inline":
            _rewrite_inline(token, link_to)
    html = md.renderer.render(tokens, md.options, {})
    return Rendered(title=title, html=html, anchors=frozenset(anchors))


def _rewrite_inline(token: Token, link_to: "dict[str, str]") -> None:
    for child in token.children or []:
        if child.type == "link_open":
            href = str(child.attrGet("href") or "")
            match = _MD_LINK.match(href)
            if match and match["page"] in link_to:
                child.attrSet("href", link_to[match["page"]] + (match["anchor"] or ""))
        elif child.type == "image":
            child.type, child.tag, child.children = "text", "", None
            child.content = f"[picture: {child.content}]"
