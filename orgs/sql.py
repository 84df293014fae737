"""Model rows read with a statement written once from the models' metadata.

Only for reads that run on every request (the org gate) or on every list page, where the
ORM took ten times longer to compose and compile the statement than the database took to
answer it (the gate's membership read: 0.35 ms against 0.03 ms on SQLite). The statement is
written once per process from `_meta` (tables, columns, quoting), so it follows the models;
rows become instances the way the ORM makes them: each field's database converters (the
backend's and the field's `from_db_value`), then `Model.from_db`.

Narrower than the ORM, on purpose: the default database only (no routers), the model's
table as it is (not its default manager: a manager that filters rows would be bypassed),
plain columns (no `select_format`), ascending orders. Fine for the models it reads today;
check those points before using it for another.
"""

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

M = TypeVar("M", bound=Model)


def qn(name: str) -> str:
    """`name` quoted for the current database."""
    return connection.ops.quote_name(name)


class Table(Generic[M]):
    """One model's table under `alias`, read with every concrete column except `defer`."""

    def __init__(self, model: type[M], alias: str, *, defer: Iterable[str] = ()) -> None:
        skipped = set(defer)
        self.model = model
        self.alias = alias
        self.fields = [
            f
            for f in model._meta.concrete_fields
            if f.name not in skipped and f.attname not in skipped
        ]
        self.attnames = [f.attname for f in self.fields]
        self._loaders: WeakKeyDictionary[Any, Loader[M]] = WeakKeyDictionary()

    def __len__(self) -> int:
        """The number of columns `select()` lists."""
        return len(self.fields)

    @property
    def table(self) -> str:
        """`"table" alias`, for FROM and JOIN."""
        return f"{qn(self.model._meta.db_table)} {self.alias}"

    def column(self, field: str) -> str:
        """`alias."column"` of the model field named `field` (a name or the pk's "pk")."""
        meta = self.model._meta
        column = meta.pk.column if field == "pk" else meta.get_field(field).column  # type: ignore[union-attr]
        return f"{self.alias}.{qn(column)}"

    def select(self) -> str:
        """The columns read, in the order `load()` expects them."""
        return ", ".join(f"{self.alias}.{qn(f.column)}" for f in self.fields)

    def loader(self) -> "Loader[M]":
        """Turns rows (or slices of rows) of this table's columns into instances. One per
        database connection (the converters are the connection's): looking them up for the
        gate's three tables cost 0.07 ms, half its read."""
        wrapper = connections[DEFAULT_DB_ALIAS]
        found = self._loaders.get(wrapper)
        if found is None:
            found = self._loaders[wrapper] = Loader(self)
        return found


class Loader(Generic[M]):
    def __init__(self, table: Table[M]) -> None:
        self.table = table
        self.converters: list[tuple[int, list[Any], Any]] = []
        for i, field in enumerate(table.fields):
            col = field.get_col(table.alias)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                self.converters.append((i, found, col))

    def __call__(self, values: Sequence[Any]) -> M:
        row = list(values)
        for i, converters, col in self.converters:
            for convert in converters:
                row[i] = convert(row[i], col, connection)
        return self.table.model.from_db(connection.alias, self.table.attnames, row)
