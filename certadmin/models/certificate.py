"""Certificates of an org (SPEC 2)."""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from certadmin import crypto
from certadmin.querysets import CertificateQuerySet
from keys.fields import SealedBinaryField

# Certificates expiring within this many days get an "expires in N days" badge.
EXPIRY_BADGE_DAYS = 60


class Certificate(models.Model):
    class Kind(models.TextChoices):
        SELF_SIGNED = "self_signed", "Self-Signed"
        CA_SIGNED = "ca_signed", "CA-Signed"

    KEY_TYPE_CHOICES = [(code, crypto.key_type_label(code)) for code in crypto.KEY_TYPES]

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="certificates"
    )
    label = models.CharField(max_length=64)
    unique_name = models.CharField("Unique Name", max_length=80)
    kind = models.CharField("Type", max_length=16, choices=Kind.choices)
    key_type = models.CharField("Key", max_length=16, choices=KEY_TYPE_CHOICES)
    exportable = models.BooleanField("Exportable Private Key", default=True)
    # PKCS#8 DER of the private key, sealed under the KEK (keys.envelope). Never plaintext.
    private_key = SealedBinaryField()
    # The CA-signed request's subject as entered (for the CSR page and Renew).
    subject_fields = models.JSONField(default=dict, blank=True)
    csr_pem = models.TextField(blank=True)
    # Leaf first, then each issuer; empty while awaiting the signed certificate.
    chain_pem = models.TextField(blank=True)
    subject = models.CharField(max_length=1000, blank=True)
    issuer = models.CharField(max_length=1000, blank=True)
    serial = models.CharField(max_length=80, blank=True)
    fingerprint_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    not_before = models.DateTimeField(null=True, blank=True)
    # Null while awaiting the signed certificate (then it is not "usable").
    not_after = models.DateTimeField("Expiration Date", null=True, blank=True)
    # Set when a replacement took over every use of this certificate (Renew, Replace): it
    # then gets no more expiration notices (SPEC 4) while nothing uses it again. replaced_at
    # is the mark (replaced_by only links to the replacement, and is emptied if that one
    # is deleted). Cleared when Replace moves uses back to it.
    replaced_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaced",
        db_index=False,  # the partial index below
    )
    replaced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    modified_at = models.DateTimeField(default=timezone.now)
    modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CertificateQuerySet.as_manager()

    class Meta:
        ordering = ["not_after", "unique_name"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("unique_name"),
                name="certadmin_certificate_unique_name_per_org",
                violation_error_message="A certificate with this Unique Name already exists.",
            ),
        ]
        indexes = [
            # The list page's two sorts and Expired Certificates, with their tie-breaker: the
            # database reads a page (even page 150) in index order instead of sorting the
            # org's every row (issue 14). The expiry one also serves the notice selection.
            models.Index(
                fields=["organization", "not_after", "unique_name"],
                name="certadmin_cert_org_expiry_name",
            ),
            models.Index(
                fields=["organization", "label", "unique_name"], name="certadmin_cert_org_label"
            ),
            models.Index(fields=["not_after"], name="certadmin_cert_expiry"),
            # Only the few replaced rows: a full index on the column would be chosen by
            # SQLite for "replaced_by IS NULL" in the expiry notices' range query, turning
            # it into a scan of every certificate.
            models.Index(
                fields=["replaced_by"],
                name="certadmin_cert_replaced",
                condition=models.Q(replaced_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse(
            "certadmin:certificate-detail", args=[self.organization.public_id, self.uuid]
        )

    @property
    def is_awaiting_signature(self) -> bool:
        return self.not_after is None

    @property
    def status(self) -> str:
        return "Awaiting signed certificate" if self.is_awaiting_signature else "Active"

    @property
    def key_label(self) -> str:
        return crypto.key_type_label(self.key_type)

    def days_until_expiry(self, now: datetime | None = None) -> int | None:
        if self.not_after is None:
            return None
        return (self.not_after - (now or timezone.now())).days

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.not_after is not None and self.not_after <= (now or timezone.now())

    def badge(self, now: datetime | None = None) -> tuple[str, str] | None:
        """(css class, text) of the list and detail badge, or None when nothing is due."""
        if self.not_after is None:
            return ("awaiting", "awaiting signed certificate")
        now = now or timezone.now()
        if self.not_after <= now:
            return ("expired", "expired")
        days = (self.not_after - now).days
        if days > EXPIRY_BADGE_DAYS:
            return None
        if days == 0:
            return ("soon", "expires today")
        return ("soon", f"expires in {days} day{'s' if days != 1 else ''}")

    @property
    def download_name(self) -> str:
        return f"{self.unique_name}.crt"

    @property
    def csr_download_name(self) -> str:
        return f"{self.unique_name}.csr"
