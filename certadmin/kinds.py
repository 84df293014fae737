"""The kinds of certificate an org holds: ONE registry, read by where-used and by the
expiration notices.

Each kind (a model derived from CertificateBase) is registered once, in
CertadminConfig.ready(): its stable key, which of its rows get expiration notices, how a row's
type is named, and where its page is. notifications builds its sources from this list and
certadmin.usage finds the certificates that can be used through it, so a new kind of
certificate is one more `register()` here, not an edit in every app.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import models
from django.db.models import Case, Value, When

if TYPE_CHECKING:
    # Only a type: the models' querysets ask certadmin.usage, which reads this registry.
    from certadmin.models.certificate import CertificateBase

# Keys of the two kinds of this app; notifications stores them (ExpiryNotice.source).
CERTIFICATE = "certificate"
MUTUAL_AUTH = "mutual_auth"


@dataclass(frozen=True)
class CertificateKind:
    key: str  # stable: stored with every expiration notice; never change it once used
    model: type["CertificateBase"]
    # The rows that get expiration notices (e.g. only those with a chain).
    notified: Callable[[], models.QuerySet[Any]]
    # SQL expression naming a row's type as lists and emails do ("Self-Signed", ...); the
    # rows' `kind_label` says the same for one object.
    kind_label: models.Expression
    # (org public id, uuid) -> the path of the certificate's page. One function per kind,
    # so orgs.links.path_builder reverses it once per process.
    url: Callable[[str, UUID], str]


_KINDS: dict[str, CertificateKind] = {}


def register(kind: CertificateKind) -> None:
    """Declare a kind of certificate (in an AppConfig.ready(); registering twice is harmless)."""
    _KINDS.setdefault(kind.key, kind)


def registered() -> tuple[CertificateKind, ...]:
    """Every kind of certificate, in the order registered."""
    return tuple(_KINDS.values())


def get(key: str) -> CertificateKind:
    return _KINDS[key]


def choices_label(field: str, choices: Iterable[tuple[str, str]]) -> models.Expression:
    """SQL giving the label of the choice a row's `field` holds (e.g. "Self-Signed")."""
    return Case(
        *[When(**{field: value}, then=Value(str(label))) for value, label in choices],
        default=Value(""),
        output_field=models.CharField(),
    )
