"""Where an org's encrypted values are: every EncryptedTextField of every installed model,
and how many values each master key encrypts.

Read by the master key services (how many values a destroyed key makes unavailable), the
re-encryption job (which values to move) and the keys page (values per key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Count

from keys.fields import EncryptedTextField
from orgs.models import Organization


@dataclass(frozen=True)
class EncryptedColumn:
    """One EncryptedTextField of one model, with the column names raw SQL needs."""

    field: EncryptedTextField

    @property
    def model(self) -> type[models.Model]:
        return self.field.model

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def pk_column(self) -> str:
        return _column_of(self.model._meta.pk)

    @property
    def token_column(self) -> str:
        return _column_of(self.field)

    @property
    def version_name(self) -> str:
        version_field = self.field.version_field()
        if version_field is None:  # refused by the field's system check
            raise LookupError(f"{self.field.purpose} has no key version column")
        return version_field.name

    def for_org(self, org_id: int) -> models.QuerySet[Any]:
        return self.model._default_manager.filter(**{self.field.org_attname: org_id})


def _column_of(field: models.Field[Any, Any]) -> str:
    if field.column is None:  # only fields that are not stored have no column
        raise LookupError(f"{field} has no column")
    return field.column


def encrypted_columns() -> list[EncryptedColumn]:
    """Every EncryptedTextField of every installed model."""
    return [
        EncryptedColumn(field)
        for model in apps.get_models()
        for field in model._meta.local_fields
        if isinstance(field, EncryptedTextField)
    ]


def values_per_key(org: Organization) -> dict[int, int]:
    """{key version: number of values encrypted under it}, one GROUP BY per encrypted column."""
    counts: dict[int, int] = {}
    for column in encrypted_columns():
        rows = (
            column.for_org(org.pk)
            .order_by()
            .values_list(column.version_name)
            .annotate(n=Count("pk"))
        )
        for version, n in rows:
            counts[version] = counts.get(version, 0) + n
    return counts
