"""Mutual authentication (client) certificates of an org (SPEC 5).

A client presents one of these over the mutual-TLS listener; the API matches it by its
SHA-256 fingerprint. The certificate (and its chain) is public: no private key is ever stored.
"""

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

if TYPE_CHECKING:
    from orgs.models import Organization

# Certificates expiring within this many days get an "expires in N days" badge.
EXPIRY_BADGE_DAYS = 60


class MutualAuthCertificateQuerySet(models.QuerySet["MutualAuthCertificate"]):
    def for_org(self, org: "Organization") -> Self:
        return self.filter(organization=org)

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

    def expired(self, *, now: datetime | None = None) -> Self:
        return self.filter(not_after__lte=now or timezone.now())

    def expiring_within(self, days: int, *, now: datetime | None = None) -> Self:
        """Not yet expired, expiring within `days` days of `now`."""
        now = now or timezone.now()
        return self.filter(not_after__gt=now, not_after__lte=now + timedelta(days=days))

    def expiring_between(self, start: datetime, end: datetime) -> Self:
        """Expiring in [start, end): an indexed range on `not_after`, for the expiry notices.

        Bounds are datetimes computed by the caller (e.g. the start and end of a day in the
        org's time zone), never a function on the column.
        """
        return self.filter(not_after__gte=start, not_after__lt=end)


class MutualAuthCertificate(models.Model):
    # How expiry notices and lists name this kind (SPEC 4: "<Label>, Mutual Authentication, ...").
    KIND_LABEL = "Mutual Authentication"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="mutual_auth_certificates"
    )
    label = models.CharField(max_length=64)
    unique_name = models.CharField("Unique Name", max_length=80)
    # Client certificate first, then each issuer up to (and maybe including) the root.
    chain_pem = models.TextField()
    subject = models.CharField(max_length=1000)
    issuer = models.CharField(max_length=1000)
    serial = models.CharField(max_length=80)
    # 64 lowercase hex characters. Unique across all orgs (SPEC 5: "used only in one org"),
    # which also makes the per-request lookup of a presented certificate one index probe.
    fingerprint_sha256 = models.CharField("SHA-256 Fingerprint", max_length=64)
    not_before = models.DateTimeField("Valid From")
    not_after = models.DateTimeField("Expiration Date")
    # Also valid for server authentication: accepted, with a warning on upload and detail.
    server_auth = models.BooleanField("Also valid for server authentication", default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = MutualAuthCertificateQuerySet.as_manager()

    class Meta:
        verbose_name = "mutual authentication certificate"
        ordering = ["not_after", "unique_name"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("unique_name"),
                name="certadmin_mutualauth_unique_name_per_org",
                violation_error_message="A mutual authentication certificate with this Unique "
                "Name already exists.",
            ),
            models.UniqueConstraint(
                fields=["fingerprint_sha256"],
                name="certadmin_mutualauth_fingerprint_unique",
                violation_error_message="This certificate is already registered: a mutual "
                "authentication certificate must be used only in one org.",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "not_after"], name="certadmin_mutualauth_org_exp"),
            models.Index(fields=["not_after"], name="certadmin_mutualauth_expiry"),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        # Callers load these through orgs.access, which select_related()s the organization.
        return reverse(
            "certadmin:mutual-auth-detail", args=[self.organization.public_id, self.uuid]
        )

    @property
    def kind_label(self) -> str:
        return self.KIND_LABEL

    @property
    def download_name(self) -> str:
        return f"{self.unique_name}.crt"

    def days_until_expiry(self, now: datetime | None = None) -> int:
        return (self.not_after - (now or timezone.now())).days

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.not_after <= (now or timezone.now())

    def is_current(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.not_before <= now < self.not_after

    def badge(self, now: datetime | None = None) -> tuple[str, str] | None:
        """(css class, text) of the list and detail badge, or None when nothing is due."""
        now = now or timezone.now()
        if self.not_after <= now:
            return ("expired", "expired")
        if self.not_before > now:
            return ("soon", "not yet valid")
        days = (self.not_after - now).days
        if days > EXPIRY_BADGE_DAYS:
            return None
        if days == 0:
            return ("soon", "expires today")
        return ("soon", f"expires in {days} day{'s' if days != 1 else ''}")
