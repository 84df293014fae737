"""The state of a list page (search, sort, direction, page size, page) read from its URL.

Everything a list shows is in its query string, so a list can be bookmarked, shared and
reloaded, and every link the page builds (column headers, page sizes, pages, filters)
carries the rest of the state along. Two lists on one page keep apart by a `prefix` on their
sort, direction and page parameters; the search box (`q`) and the page size are shared.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Self

from django.core.paginator import Page
from django.http import QueryDict

if TYPE_CHECKING:
    from orgs.forms import ListSearchForm

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_SEARCH = 100  # characters of `q` taken into account


@dataclass(frozen=True)
class Header:
    """A sortable column heading: its link sorts by the column, the other way if it already
    does; `aria_sort` is what the <th> tells assistive technology."""

    label: str
    url: str
    aria_sort: Literal["ascending", "descending", "none"]

    @property
    def action(self) -> str:
        """What following the link does, in words (for screen readers)."""
        if self.aria_sort == "ascending":
            return "sort descending"
        if self.aria_sort == "descending":
            return "sort ascending"
        return f"sort by {self.label.lower()}"

    @property
    def arrow(self) -> str:
        return {"ascending": "\u25b2", "descending": "\u25bc"}.get(self.aria_sort, "")


@dataclass(frozen=True)
class SizeChoice:
    size: int
    url: str
    current: bool


@dataclass(frozen=True)
class PageLinks:
    """The pagination bar of a list: where Previous and Next lead ("" when there is none)."""

    number: int
    num_pages: int
    count: int
    previous_url: str
    next_url: str


@dataclass(frozen=True)
class ListState:
    params: QueryDict
    q: str
    sort: str  # a column key
    descending: bool
    size: int
    prefix: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)  # column key -> heading

    @classmethod
    def read(
        cls,
        params: QueryDict,
        *,
        columns: Mapping[str, str],
        default_sort: str,
        prefix: str = "",
    ) -> Self:
        """The state in `params` (request.GET); anything unknown falls back to the default.

        `sort` takes a column key; `dir` is `asc` or `desc`. A sort key with a leading `-`
        (the API's form, and older links) means descending too.
        """
        sort = params.get(f"{prefix}sort", "")
        descending = sort.startswith("-")
        sort = sort.removeprefix("-")
        if sort not in columns:
            sort, descending = default_sort, False
        direction = params.get(f"{prefix}dir", "")
        if direction in ("asc", "desc"):
            descending = direction == "desc"
        size_text = params.get("size", "")
        size = int(size_text) if size_text in {str(s) for s in PAGE_SIZES} else DEFAULT_PAGE_SIZE
        q = " ".join(params.get("q", "").replace("\x00", "").split())[:MAX_SEARCH]
        return cls(params, q, sort, descending, size, prefix, dict(columns))

    @property
    def ordering(self) -> str:
        """The sort as the querysets take it: the column key, `-` first when descending."""
        return f"-{self.sort}" if self.descending else self.sort

    @property
    def page_param(self) -> str:
        return f"{self.prefix}page"

    def url(self, changes: Mapping[str, str | int | None], *, first_page: bool = False) -> str:
        """This page's query string with `changes` made (None removes a parameter);
        `first_page`: every list of the page back to its first page."""
        params = self.params.copy()
        if first_page:
            for name in [name for name in params if name.endswith("page")]:
                del params[name]
        for name, value in changes.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = str(value)
        return f"?{params.urlencode()}" if params else "?"

    def page_url(self, number: int) -> str:
        return self.url({self.page_param: number})

    def links(self, page: Page[Any]) -> PageLinks:
        """The pagination bar of `page` (a page of this list)."""
        return PageLinks(
            number=page.number,
            num_pages=page.paginator.num_pages,
            count=page.paginator.count,
            previous_url=self.page_url(page.previous_page_number()) if page.has_previous() else "",
            next_url=self.page_url(page.next_page_number()) if page.has_next() else "",
        )

    def headers(self) -> dict[str, Header]:
        """{column key: its heading}, each linking to the list sorted by it (first page)."""
        found = {}
        for column, label in self.columns.items():
            current = column == self.sort
            flip = "asc" if current and self.descending else "desc" if current else "asc"
            aria: Literal["ascending", "descending", "none"] = (
                ("descending" if self.descending else "ascending") if current else "none"
            )
            url = self.url(
                {f"{self.prefix}sort": column, f"{self.prefix}dir": flip, self.page_param: None}
            )
            found[column] = Header(label, url, aria)
        return found

    def sizes(self) -> list[SizeChoice]:
        """The page sizes to choose from, each linking to the first page at that size."""
        return [
            SizeChoice(size, self.url({"size": size}, first_page=True), size == self.size)
            for size in PAGE_SIZES
        ]

    def search_form(self) -> "ListSearchForm":
        """The search box, showing the current search."""
        from orgs.forms import ListSearchForm

        return ListSearchForm(initial={"q": self.q}, auto_id="list-search-%s")

    def hidden_fields(self, *, exclude: Sequence[str] = ("q",)) -> list[tuple[str, str]]:
        """The state as (name, value) pairs for the hidden inputs of a GET form (the search
        box), leaving out `exclude` and every page number (a new search starts at page 1)."""
        return [
            (name, value)
            for name, values in self.params.lists()
            if name not in exclude and not name.endswith("page")
            for value in values
        ]
