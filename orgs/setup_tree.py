"""The Setup tree: the left-hand navigation of every Setup page (SPEC 10).

Each app adds its own pages from its AppConfig.ready(), so orgs never names another app's
URLs: `add(section, label, url_name, perm, order=...)`. The tree is declared by code at start-up
and never changes afterwards.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orgs.http import OrgRequest

# The headings, in the order the tree shows them.
SECTIONS = ("Security", "Contacts", "Users", "My Settings")


@dataclass(frozen=True)
class Entry:
    section: str
    label: str
    url_name: str  # a URL taking the org's public id
    perm: str | None  # the codename that opens it; None: every member
    order: int  # position within its section


_ENTRIES: list[Entry] = []


def add(section: str, label: str, url_name: str, perm: str | None, *, order: int) -> None:
    """Declare a Setup page (from an AppConfig.ready()); declaring it again changes nothing."""
    if section not in SECTIONS:
        raise ValueError(f"Unknown Setup section {section!r}: one of {SECTIONS}.")
    entry = Entry(section, label, url_name, perm, order)
    if entry not in _ENTRIES:
        _ENTRIES.append(entry)


def sections() -> list[tuple[str, list[Entry]]]:
    """[(heading, its entries in order)], headings without entries left out."""
    ordered = sorted(_ENTRIES, key=lambda entry: (entry.order, entry.label))
    tree = [(name, [e for e in ordered if e.section == name]) for name in SECTIONS]
    return [(name, entries) for name, entries in tree if entries]


@dataclass(frozen=True)
class Notice:
    """A warning another app puts on Setup Home (e.g. the retired proxy certificate's
    deadline): a sentence and the page that deals with it."""

    text: str
    url: str
    link_label: str


_NOTICES: list[Callable[["OrgRequest"], list[Notice]]] = []


def add_home_notices(source: Callable[["OrgRequest"], list[Notice]]) -> None:
    """Declare a source of Setup Home notices (from an AppConfig.ready())."""
    if source not in _NOTICES:
        _NOTICES.append(source)


def home_notices(request: "OrgRequest") -> list[Notice]:
    return [notice for source in _NOTICES for notice in source(request)]
