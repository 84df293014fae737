"""The kinds of certificate that get expiration notices (SPEC 4: "every certificate with a chain
and every mutual-authentication certificate").

Each kind is a `Source`: which rows are covered, how the email names their type, and where
their page is. The job, the Setup page preview and the admin read only this list, so a new
kind of certificate is one more entry in `sources()`, with no migration: notices identify
their certificate by (source key, object id), and keep a copy of its label, type and uuid so
the history stays readable after the certificate is deleted.

A kind's model needs `organization`, `label`, `uuid` and an indexed `not_after` (the due
query is a range on it); see `_mutual_auth_source()` for the smallest entry.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID

from django.db import models
from django.db.models import Case, Value, When
from django.urls import reverse


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


def _certificate_source() -> Source:
    from certadmin.models import Certificate

    return Source(
        key="certificate",
        # SPEC 4: "every certificate with a chain"; one awaiting its signature has no expiry,
        # and one whose uses a replacement took over is done with ("a renewed certificate
        # ... or a replacement that took over all its uses ... is suppressed").
        covered=lambda: Certificate.objects.usable().not_replaced(),
        kind=Case(
            *[
                When(kind=value, then=Value(str(label)))
                for value, label in Certificate.Kind.choices
            ],
            default=Value(""),
            output_field=models.CharField(),
        ),
        url=lambda org_id, uuid: reverse("certadmin:certificate-detail", args=[org_id, uuid]),
        fk_field="certificate",
    )


def _mutual_auth_source() -> Source:
    from certadmin.models import MutualAuthCertificate

    return Source(
        key="mutual_auth",
        # SPEC 4: "every mutual-authentication certificate" (each has its expiration).
        covered=lambda: MutualAuthCertificate.objects.all(),
        kind=Value(MutualAuthCertificate.KIND_LABEL, output_field=models.CharField()),
        url=lambda org_id, uuid: reverse("certadmin:mutual-auth-detail", args=[org_id, uuid]),
    )


@cache
def sources() -> tuple[Source, ...]:
    """Every kind of certificate covered by expiration notices."""
    return (_certificate_source(), _mutual_auth_source())


def source(key: str) -> Source | None:
    return next((s for s in sources() if s.key == key), None)
