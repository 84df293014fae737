"""KEK rewrap (`manage.py rotate_kek`): every sealed blob moves to the primary KEK."""

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import transaction

from keys import envelope
from keys.fields import SealedBinaryField


@dataclass
class RewrapReport:
    field: str
    rewrapped: int
    already_current: int


def sealed_fields() -> list[SealedBinaryField[Any, Any]]:
    """Every SealedBinaryField of every installed model."""
    return [
        field
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, SealedBinaryField)
    ]


def rewrap_all_secrets(*, batch_size: int = 500) -> list[RewrapReport]:
    """Rewrap every sealed blob whose data key is not wrapped by the primary KEK.

    Idempotent and resumable: each row is updated on its own, only if its blob is still the
    one that was read (a concurrent write wins and is already current).
    """
    reports = []
    for field in sealed_fields():
        model, name = field.model, field.name
        rewrapped = current = 0
        last_pk = None
        while True:
            rows = model._default_manager.exclude(**{f"{name}__isnull": True}).order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows.values_list("pk", name)[:batch_size])
            if not batch:
                break
            with transaction.atomic():
                for pk, blob in batch:
                    if envelope.is_current(blob):
                        current += 1
                        continue
                    new = envelope.rewrap(blob, purpose=field.purpose)
                    rewrapped += model._default_manager.filter(pk=pk, **{name: blob}).update(
                        **{name: new}
                    )
            last_pk = batch[-1][0]
        reports.append(RewrapReport(field.purpose, rewrapped, current))
    return reports
