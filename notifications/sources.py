"""The kinds of certificate that get expiration notices (SPEC 4: "every certificate with a chain
and every mutual-authentication certificate").

Each kind is a `Source`: which rows are covered, how the email names their type, and where
their page is, read from certadmin.kinds (the one registry of kinds of certificate). The job,
the Setup page preview and the admin read only this list, so a new kind of certificate is one
more kind registered by certadmin, with no migration here: notices identify
their certificate by (source key, object id), and keep a copy of its label, type and uuid so
the history stays readable after the certificate is deleted.

A kind's model needs `organization`, `label`, `uuid` and an indexed `not_after` (the due
query is a range on it): certadmin.models.certificate.CertificateBase has them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID

from django.db import models

from certadmin import kinds


@dataclass(frozen=True)
class Source:
    key: str  # stored in ExpiryNotice.source; never change it once notices exist
    covered: Callable[[], models.QuerySet[Any]]  # rows that get notices (e.g. have a chain)
    kind: Any  # SQL expression giving the type named in the email ("Self-Signed", ...)
    url: Callable[[str, UUID], str]  # (org public id, object uuid) -> detail page path
    # A nullable ForeignKey of ExpiryNotice to this model (on_delete=SET_NULL), if any: set
    # on new notices so the certificate's page can list them (`certificate.expiry_notices`).
    fk_field: str | None = None

    @property
    def model(self) -> type[models.Model]:
        return self.covered().model


# The nullable ForeignKeys of ExpiryNotice, by kind key.
_FK_FIELDS = {kinds.CERTIFICATE: "certificate"}


@cache
def sources() -> tuple[Source, ...]:
    """Every kind of certificate covered by expiration notices: the kinds certadmin registers
    (certadmin.kinds)."""
    return tuple(
        Source(
            key=kind.key,
            covered=kind.notified,
            kind=kind.kind_label,
            url=kind.url,
            fk_field=_FK_FIELDS.get(kind.key),
        )
        for kind in kinds.registered()
    )


def source(key: str) -> Source | None:
    return next((s for s in sources() if s.key == key), None)
