"""Where is a certificate used? The one registry every referencing feature goes through.

A feature that points at certificates registers its foreign key here (`register(...)`); the
detail page lists the uses, Delete is refused while any exists (services, admin, API and the
database's on_delete=PROTECT alike), and list pages ask for many certificates at once.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class Use:
    kind: str  # e.g. "SAML SSO configuration (Request Signing Certificate)"
    name: str  # the using object's name
    url: str  # where an admin can see or change it


@dataclass(frozen=True)
class UseKind:
    model: type[models.Model]
    field: str
    kind: str
    describe: Callable[[models.Model], tuple[str, str]]  # obj -> (name, url)


_KINDS: list[UseKind] = []


def register(
    model: type[models.Model],
    field: str,
    kind: str,
    describe: Callable[[models.Model], tuple[str, str]],
) -> None:
    """Declare that `model.field` (a ForeignKey to Certificate) is a use."""
    if not any(k.model is model and k.field == field for k in _KINDS):
        _KINDS.append(UseKind(model, field, kind, describe))


def uses_by_certificate(certificate_ids: Iterable[int]) -> dict[int, list[Use]]:
    """{certificate id: its uses} for many certificates: one indexed query per kind of use."""
    ids = list(certificate_ids)
    found: dict[int, list[Use]] = defaultdict(list)
    if not ids:
        return found
    for use_kind in _KINDS:
        rows = use_kind.model._default_manager.filter(**{f"{use_kind.field}__in": ids})
        for obj in rows:
            name, url = use_kind.describe(obj)
            found[getattr(obj, f"{use_kind.field}_id")].append(Use(use_kind.kind, name, url))
    return found


def uses_of(certificate: models.Model) -> list[Use]:
    return uses_by_certificate([certificate.pk]).get(certificate.pk, [])
