"""Mutual authentication (client) certificates of an org (SPEC 5).

A client presents one of these over the mutual-TLS listener; the API matches it by its
SHA-256 fingerprint. The certificate (and its chain) is public: no private key is ever stored.
"""

import uuid
from datetime import datetime

from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from certadmin.models.certificate import CertificateBase
from certadmin.querysets import MutualAuthCertificateQuerySet


class MutualAuthCertificate(CertificateBase):
    # How expiry notices and lists name this kind (SPEC 4: "<Label>, Mutual Authentication, ...").
    KIND_LABEL = "Mutual Authentication"
    NAME_TAKEN = "A mutual authentication certificate named {name} already exists."
    # A client cannot authenticate with it yet (SPEC 5).
    BADGE_NOT_YET_VALID = True

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="mutual_auth_certificates"
    )
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

    def get_absolute_url(self) -> str:
        # Callers load these through orgs.access, which select_related()s the organization.
        return mutual_auth_url(self.organization.public_id, self.uuid)

    @property
    def kind_label(self) -> str:
        return self.KIND_LABEL

    def is_current(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.not_before <= now < self.not_after


def mutual_auth_url(org: str, ref: uuid.UUID) -> str:
    """The page of a Mutual Authentication Certificate (its org's public id, its uuid)."""
    return reverse("certadmin:mutual-auth-detail", args=[org, ref])
