"""Named reads of the certificates app: the one home of every model's queryset.

The two kinds of certificate (Certificate, MutualAuthCertificate) share their expiry reads
through CertificateBaseQuerySet, as their models share CertificateBase.
"""

import re
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
        AcmeCertificate,
        ApiToken,
        Certificate,
        MutualAuthCertificate,
        SamlSsoConfig,
    )
    from certadmin.models.certificate import CertificateBase
    from orgs.models import Organization

M = TypeVar("M", bound="CertificateBase")


# The sortable columns of the certificate lists (page and API): a key sorts ascending, the
# key with a leading `-` descending. Ties go by Unique Name (in the same direction, so a
# descending list is the ascending one read backwards); certificates awaiting a signature
# (no expiry yet) sort last by expiry either way.
SORT_COLUMNS = ("label", "unique_name", "type", "key", "exportable", "expires", "status", "used")
Ordering = Literal[
    "label",
    "-label",
    "unique_name",
    "-unique_name",
    "type",
    "-type",
    "key",
    "-key",
    "exportable",
    "-exportable",
    "expires",
    "-expires",
    "status",
    "-status",
    "used",
    "-used",
    "created",
    "-created",
]
ORDERINGS: frozenset[str] = frozenset(
    key for column in (*SORT_COLUMNS, "created") for key in (column, f"-{column}")
)
# CertificateFilter.used_by: the model (app_label.ModelName) whose uses it means.
USED_BY = {"sso": "certadmin.SamlSsoConfig", "idp": "certadmin.IdentityProvider"}
MUTUAL_AUTH_COLUMNS = ("label", "unique_name", "subject", "issuer", "expires")
_SORT_FIELDS = {
    "label": "label",
    "type": "kind",
    "key": "key_type",
    "exportable": "exportable",
    "created": "created_at",
}


def search_q(text: str) -> models.Q:
    """Certificates whose Label, Unique Name, subject or issuer contain `text`, or whose serial
    number or SHA-256 fingerprint contain it as hex (colons and spaces ignored, as the detail
    page prints them with colons). Case-insensitive; an empty text matches everything. A NUL
    character (which no stored value holds, and PostgreSQL refuses in a query) is dropped."""
    text = text.replace("\x00", "").strip()
    if not text:
        return models.Q()
    q = (
        models.Q(label__icontains=text)
        | models.Q(unique_name__icontains=text)
        | models.Q(subject__icontains=text)
        | models.Q(issuer__icontains=text)
    )
    digits = re.sub(r"[\s:]", "", text)
    if digits and re.fullmatch(r"[0-9A-Fa-f]+", digits):
        # Serials are stored as upper-case hex without leading zeros, fingerprints lower-case.
        serial = digits.lstrip("0").upper()
        if serial:
            q |= models.Q(serial__contains=serial)
        q |= models.Q(fingerprint_sha256__contains=digits.lower())
    return q


def expired_q(now: datetime) -> models.Q:
    return models.Q(not_after__lte=now)


def expiring_within_q(days: int, now: datetime, tz: tzinfo | None = None) -> models.Q:
    """Not yet expired, with at most `days` days left (orgs.clock: calendar days in `tz`,
    default the current zone)."""
    end = clock.day_end(days, tz or timezone.get_current_timezone(), now)
    return models.Q(not_after__gt=now, not_after__lt=end)


@dataclass(frozen=True)
class CertificateFilter:
    """What a certificate list is narrowed to: the filter links of the Certificate and Key
    Management page and the query parameters of the API's list are both read into one."""

    kind: str | None = None
    status: Literal["active", "expired", "awaiting_signature"] | None = None
    expired: bool | None = None
    expiring_within_days: int | None = None
    expires_after: datetime | None = None
    expires_before: datetime | None = None
    search: str = ""
    # In use by a kind of user: "sso" (SAML SSO configurations) or "idp" (the Identity Provider).
    used_by: Literal["sso", "idp"] | None = None

    def q(self, now: datetime, tz: tzinfo | None = None) -> models.Q:
        """The criteria as one condition: the list's filter and Setup Home's filtered counts
        (`Count(filter=...)`) are the same condition, so they cannot disagree."""
        q = models.Q()
        if self.kind:
            q &= models.Q(kind=self.kind)
        if self.status == "active":
            q &= models.Q(not_after__gt=now)
        elif self.status == "expired":
            q &= expired_q(now)
        elif self.status == "awaiting_signature":
            q &= models.Q(not_after__isnull=True)
        if self.expired is True:
            q &= expired_q(now)
        elif self.expired is False:
            q &= models.Q(not_after__gt=now)
        if self.expiring_within_days is not None:
            q &= expiring_within_q(self.expiring_within_days, now, tz)
        if self.expires_after is not None:
            q &= models.Q(not_after__gte=self.expires_after)
        if self.expires_before is not None:
            q &= models.Q(not_after__lt=self.expires_before)
        if self.search:
            q &= search_q(self.search)
        if self.used_by:
            from certadmin import kinds, usage

            certificate = kinds.get(kinds.CERTIFICATE).model
            q &= usage.in_use_by(certificate, USED_BY[self.used_by])
        return q


class CertificateBaseQuerySet(models.QuerySet[M]):
    """Reads every kind of certificate answers (its model derives from CertificateBase)."""

    def for_org(self, org: "Organization") -> Self:
        return self.filter(organization=org)

    def expired(self, *, now: datetime | None = None) -> Self:
        return self.filter(expired_q(now or timezone.now()))

    def expiring_within(
        self, days: int, *, now: datetime | None = None, tz: tzinfo | None = None
    ) -> Self:
        """Not yet expired, with at most `days` days left (orgs.clock: calendar days in `tz`,
        default the current zone; 0 = expiring later today). An indexed range on the column."""
        return self.filter(expiring_within_q(days, now or timezone.now(), tz))

    def counts(self, conditions: dict[str, models.Q]) -> dict[str, int]:
        """{name: how many rows match its condition}, all in one query (filtered Counts)."""
        found: dict[str, int] = self.aggregate(
            **{name: models.Count("pk", filter=q) for name, q in conditions.items()}
        )
        return found

    def search(self, text: str) -> Self:
        """See search_q: Label, Unique Name, subject, issuer, serial, fingerprint."""
        return self.filter(search_q(text))

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

    def renewal_not_on_track(self) -> Self:
        """Leaves out certificates an automatic ACME renewal is on track to replace (issue 18:
        no expiration notices while renewal works; they resume when it fails)."""
        # The reverse one-to-one joins at most one row: NOT (automatic AND not failing).
        return self.exclude(acme__auto_renew=True, acme__failing_since__isnull=True)

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
        return self.filter(criteria.q(now or timezone.now(), tz))

    def sorted_by(self, key: str, *, now: datetime | None = None) -> Self:
        """Ordered by one of ORDERINGS (an unknown key: soonest expiry first)."""
        if key not in ORDERINGS:
            key = "expires"
        column, descending = key.lstrip("-"), key.startswith("-")
        tie = "-unique_name" if descending else "unique_name"
        primary: models.Expression | F
        if column == "unique_name":
            return self.order_by(tie)
        if column == "expires":
            expiry = F("not_after")
            first = expiry.desc(nulls_last=True) if descending else expiry.asc(nulls_last=True)
            return self.order_by(first, tie)
        if column == "status":
            # Active, Awaiting signed certificate, Expired: the Status column's words in order.
            now = now or timezone.now()
            primary = models.Case(
                models.When(not_after__isnull=True, then=models.Value(1)),
                models.When(expired_q(now), then=models.Value(2)),
                default=models.Value(0),
            )
        elif column == "used":
            from certadmin import usage

            primary = models.ExpressionWrapper(
                usage.in_use(self.model), output_field=models.BooleanField()
            )
        else:
            primary = F(_SORT_FIELDS[column])
        return self.order_by(primary.desc() if descending else primary.asc(), tie)


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

    def sorted_by(self, key: str) -> Self:
        """Ordered by a column of MUTUAL_AUTH_COLUMNS, `-` first for descending (ties by
        Unique Name the same way; an unknown key: soonest expiry first)."""
        column, descending = key.lstrip("-"), key.startswith("-")
        if column not in MUTUAL_AUTH_COLUMNS:
            column, descending = "expires", False
        field = "not_after" if column == "expires" else column
        fields = [field, "unique_name"] if field != "unique_name" else [field]
        return self.order_by(*(f"-{f}" if descending else f for f in fields))

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


class AcmeCertificateQuerySet(models.QuerySet["AcmeCertificate"]):
    def for_org(self, org: "Organization") -> Self:
        return self.filter(organization=org)

    def due(self, *, now: datetime | None = None) -> Self:
        """Renewal due at `now`: automatic, past renew_after, and not waiting out the back-off
        after a failure (an indexed range on renew_after)."""
        now = now or timezone.now()
        return self.filter(auto_renew=True, renew_after__lte=now).filter(
            models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now)
        )

    def on_track(self) -> Self:
        """Renewed automatically and not failing: expiration notices wait (issue 18)."""
        return self.filter(auto_renew=True, failing_since__isnull=True)
