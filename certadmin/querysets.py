"""Named reads of the certificates app: the one home of every model's queryset.

The two kinds of certificate (Certificate, MutualAuthCertificate) share their expiry reads
through CertificateBaseQuerySet, as their models share CertificateBase.
"""

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Literal, Self, TypeVar

from django.db import models
from django.db.models import F
from django.utils import timezone

from orgs import clock

if TYPE_CHECKING:
    # The type arguments of the querysets.
    from certadmin.models import (  # noqa: F401
        ApiToken,
        Certificate,
        MutualAuthCertificate,
        SamlSsoConfig,
    )
    from certadmin.models.certificate import CertificateBase
    from orgs.models import Organization

M = TypeVar("M", bound="CertificateBase")


Ordering = Literal[
    "expires", "-expires", "unique_name", "-unique_name", "label", "-label", "created", "-created"
]
# Soonest expiry first; certificates awaiting a signature (no expiry yet) last either way.
ORDERINGS: dict[str, tuple[str | models.OrderBy, ...]] = {
    "expires": (F("not_after").asc(nulls_last=True), "unique_name"),
    "-expires": (F("not_after").desc(nulls_last=True), "unique_name"),
    "unique_name": ("unique_name",),
    "-unique_name": ("-unique_name",),
    "label": ("label", "unique_name"),
    "-label": ("-label", "unique_name"),
    "created": ("created_at", "unique_name"),
    "-created": ("-created_at", "unique_name"),
}


@dataclass(frozen=True)
class CertificateFilter:
    """What a certificate list is narrowed to: the filter links of the Certificate and Key
    Management page and the query parameters of the API's list are both read into one."""

    kind: str | None = None
    status: Literal["active", "awaiting_signature"] | None = None
    expired: bool | None = None
    expiring_within_days: int | None = None
    expires_after: datetime | None = None
    expires_before: datetime | None = None
    search: str = ""


class CertificateBaseQuerySet(models.QuerySet[M]):
    """Reads every kind of certificate answers (its model derives from CertificateBase)."""

    def for_org(self, org: "Organization") -> Self:
        return self.filter(organization=org)

    def expired(self, *, now: datetime | None = None) -> Self:
        return self.filter(not_after__lte=now or timezone.now())

    def expiring_within(
        self, days: int, *, now: datetime | None = None, tz: tzinfo | None = None
    ) -> Self:
        """Not yet expired, with at most `days` days left (orgs.clock: calendar days in `tz`,
        default the current zone; 0 = expiring later today). An indexed range on the column."""
        now = now or timezone.now()
        end = clock.day_end(days, tz or timezone.get_current_timezone(), now)
        return self.filter(not_after__gt=now, not_after__lt=end)

    def expiring_between(self, start: datetime, end: datetime) -> Self:
        """Expiring in [start, end): an indexed range on `not_after`, for the expiry notices.

        Bounds are datetimes computed by the caller (e.g. the start and end of a day in the
        org's time zone), never a function on the column.
        """
        return self.filter(not_after__gte=start, not_after__lt=end)


class CertificateQuerySet(CertificateBaseQuerySet["Certificate"]):
    def awaiting_signature(self) -> Self:
        """CA-signed certificates whose signed chain has not been uploaded yet."""
        return self.filter(not_after__isnull=True)

    def usable(self) -> Self:
        """Certificates with a chain: the ones that may be chosen where certificates are used."""
        return self.filter(not_after__isnull=False)

    def not_replaced(self) -> Self:
        """Certificates no replacement has taken over (`Certificate.replaced_at`), and
        replaced ones that something uses again (an SSO configuration pointed back at one):
        a certificate in use is never left without expiration notices."""
        from certadmin import usage

        return self.filter(models.Q(replaced_at__isnull=True) | usage.in_use(self.model))

    def of_kind(self, kind: str) -> Self:
        return self.filter(kind=kind)

    def filtered(
        self, criteria: CertificateFilter, *, now: datetime | None = None, tz: tzinfo | None = None
    ) -> Self:
        """The certificates matching every criterion given (the list page and the API); days
        are counted in `tz` (default: the current zone, the org's on its pages)."""
        now = now or timezone.now()
        qs = self
        if criteria.kind:
            qs = qs.of_kind(criteria.kind)
        if criteria.status == "active":
            qs = qs.usable()
        elif criteria.status == "awaiting_signature":
            qs = qs.awaiting_signature()
        if criteria.expired is True:
            qs = qs.expired(now=now)
        elif criteria.expired is False:
            qs = qs.usable().exclude(not_after__lte=now)
        if criteria.expiring_within_days is not None:
            qs = qs.expiring_within(criteria.expiring_within_days, now=now, tz=tz)
        if criteria.expires_after is not None:
            qs = qs.filter(not_after__gte=criteria.expires_after)
        if criteria.expires_before is not None:
            qs = qs.filter(not_after__lt=criteria.expires_before)
        if criteria.search:
            qs = qs.filter(
                models.Q(unique_name__icontains=criteria.search)
                | models.Q(label__icontains=criteria.search)
            )
        return qs

    def sorted_by(self, key: str) -> Self:
        """Ordered by one of ORDERINGS (an unknown key: soonest expiry first)."""
        return self.order_by(*ORDERINGS.get(key, ORDERINGS["expires"]))


class MutualAuthCertificateQuerySet(CertificateBaseQuerySet["MutualAuthCertificate"]):
    def with_fingerprint(self, fingerprint: str) -> Self:
        """The (at most one, across all orgs) certificate with this SHA-256 hex fingerprint."""
        return self.filter(fingerprint_sha256=fingerprint.lower())

    def validity_of(self, fingerprint: str) -> tuple[int, datetime, datetime] | None:
        """(organization id, not_before, not_after) of the certificate with this fingerprint.

        The mutual-TLS check of every API request of an enforced user asks this: one query
        on the unique index.
        """
        return (
            self.with_fingerprint(fingerprint)
            .values_list("organization_id", "not_before", "not_after")
            .first()
        )

    def current(self, *, now: datetime | None = None) -> Self:
        """Certificates valid at `now`: the ones a client may authenticate with."""
        now = now or timezone.now()
        return self.filter(not_before__lte=now, not_after__gt=now)


class SamlSsoConfigQuerySet(models.QuerySet["SamlSsoConfig"]):
    def for_org(self, org: "Organization") -> Self:
        return self.filter(organization=org)

    def using_retired_proxy(self) -> Self:
        """Configurations that still sign requests with the retired default proxy certificate."""
        return self.filter(proxy_certificate__isnull=False)


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def for_org(self, org: "Organization") -> Self:
        return self.filter(organization=org)

    def active(self, *, now: datetime | None = None) -> Self:
        """Not revoked and not expired at `now`."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )
