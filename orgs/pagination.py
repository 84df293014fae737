"""Pages of long sorted lists (the certificate list of an org with thousands of certificates).

Django's Paginator reads a page as `ORDER BY ... LIMIT 50 OFFSET n`. For a deep page PostgreSQL
then reads every row of the org and sorts it (its planner prefers that to walking the sort
index in heap order): page 150 of 10,000 certificates cost 1.5-2x page 1 (docs/benchmarks.md,
issue 14). Reading the page's primary keys first lets it answer from the sort index alone (an
index-only scan: the indexes carry the id), and the 50 rows are then fetched by key.
"""

from typing import TypeVar

from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


class KeysFirstPaginator(Paginator[M]):
    """A Paginator over a QuerySet that reads each page's primary keys, then their rows."""

    object_list: QuerySet[M]

    def page(self, number: int | str) -> Page[M]:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        found = {row.pk: row for row in self.object_list.filter(pk__in=keys)}
        return Page([found[key] for key in keys if key in found], number, self)
