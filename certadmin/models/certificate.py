"""Certificates of an org (SPEC 2), and what every kind of certificate shares.

CertificateBase is to Certificate and MutualAuthCertificate what django-ca's X509CertMixin is
to its CertificateAuthority and Certificate: the fields and derived values of any X.509
certificate an org holds (names, dates, chain facts, the badge of the list pages, the names
check). It is abstract, so each kind keeps its own table.
"""

import uuid
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar

from cryptography import x509
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from certadmin import naming
from certadmin.crypto import display, keypairs
from certadmin.querysets import CertificateQuerySet
from keys.fields import SealedBinaryField
from orgs import clock

if TYPE_CHECKING:
    from orgs.models import Organization

# Certificates with at most this many days left (orgs.clock) get an "expires in N days" badge.
EXPIRY_BADGE_DAYS = 60


class CertificateBase(models.Model):
    """An X.509 certificate (with its chain) of an org; one subclass per kind of certificate.

    Subclasses declare `organization` (each with its own related name) and the chain facts
    below, whose options differ: a Certificate has no chain while it awaits its signature.
    """

    # How a "name taken" error names this kind ({name}: the Unique Name).
    NAME_TAKEN: ClassVar[str] = "A certificate with the Unique Name {name} already exists."
    # Whether a certificate that is not valid yet gets a badge saying so.
    BADGE_NOT_YET_VALID: ClassVar[bool] = False

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    label = models.CharField(max_length=naming.MAX_LABEL)
    unique_name = models.CharField("Unique Name", max_length=naming.MAX_UNIQUE_NAME)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Fields of every subclass (declared there: their null/blank/verbose options differ).
    organization_id: int
    chain_pem: str  # leaf first, then each issuer
    subject: str
    issuer: str
    serial: str
    fingerprint_sha256: str  # 64 lowercase hex characters
    not_before: datetime | None
    not_after: datetime | None

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label

    @property
    def kind_label(self) -> str:
        """The type lists and expiration notices name this certificate by."""
        raise NotImplementedError

    @property
    def download_name(self) -> str:
        return f"{self.unique_name}.crt"

    def days_left(self, now: datetime | None = None, tz: tzinfo | None = None) -> int | None:
        """Calendar days from today to the expiration date in `tz` (default: the current
        zone, the org's on its pages): orgs.clock.days_left; None while awaiting the chain."""
        if self.not_after is None:
            return None
        return clock.days_left(self.not_after, tz or timezone.get_current_timezone(), now)

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.not_after is not None and self.not_after <= (now or timezone.now())

    def badge(
        self, now: datetime | None = None, tz: tzinfo | None = None
    ) -> tuple[str, str] | None:
        """(css class, text) of the list and detail badge, or None when nothing is due.

        The text is orgs.clock's wording of the days left in `tz` (default: the current zone):
        "expires in 4 days", "expires tomorrow", "expires today", "expired 3 days ago"."""
        if self.not_after is None:
            return ("awaiting", "awaiting signed certificate")
        now = now or timezone.now()
        tz = tz or timezone.get_current_timezone()
        if self.not_after <= now:
            return ("expired", clock.expiry_phrase(self.not_after, tz, now))
        if self.BADGE_NOT_YET_VALID and self.not_before is not None and self.not_before > now:
            return ("soon", "not yet valid")
        days = clock.days_left(self.not_after, tz, now)
        if days > EXPIRY_BADGE_DAYS:
            return None
        return ("soon", clock.phrase(days))

    def expiry_cells(self, now: datetime, tz: tzinfo) -> tuple[str, str, str]:
        """The Expiration Date cell of a table row: the day in the time zone `tz` ("" while
        awaiting the chain), and the badge's css class and text ("" when no badge is due)."""
        badge_class, badge_text = self.badge(now, tz) or ("", "")
        if self.not_after is None:
            return "", badge_class, badge_text
        return clock.day(self.not_after, tz), badge_class, badge_text

    def apply_chain(self, chain: list[x509.Certificate]) -> None:
        """Take the chain (leaf first, then each issuer) and its leaf's facts into the fields."""
        facts = display.describe(chain[0])
        self.chain_pem = display.chain_pem(chain)
        self.subject = facts.subject[:1000]
        self.issuer = facts.issuer[:1000]
        self.serial = facts.serial[:80]
        self.fingerprint_sha256 = display.fingerprint_hex(chain[0])
        self.not_before = facts.not_before
        self.not_after = facts.not_after

    @classmethod
    def check_names(
        cls,
        *,
        org: "Organization",
        label: str,
        unique_name: str,
        exclude_pk: int | None = None,
    ) -> None:
        """Raise ValidationError naming every broken Label / Unique Name rule (SPEC 2), and a
        Unique Name the org already gives a certificate of this kind."""
        errors: dict[str, list[str]] = {}
        if not label.strip():
            errors["label"] = ["The Label is required."]
        elif len(label) > naming.MAX_LABEL:
            errors["label"] = [
                f"The Label can have at most {naming.MAX_LABEL} characters (it has {len(label)})."
            ]
        problems = naming.unique_name_problems(unique_name)
        if not problems:
            # Lower() matches the functional unique index, so this is an index lookup.
            # Any: each subclass declares the `organization` this filters on.
            of_kind: models.QuerySet[Any] = cls._default_manager.all()
            taken = (
                of_kind.filter(organization=org)
                .alias(unique_name_lower=Lower("unique_name"))
                .filter(unique_name_lower=unique_name.lower())
            )
            if exclude_pk is not None:
                taken = taken.exclude(pk=exclude_pk)
            if taken.exists():
                problems = [cls.NAME_TAKEN.format(name=unique_name)]
        if problems:
            errors["unique_name"] = problems
        if errors:
            raise ValidationError(errors)


class Certificate(CertificateBase):
    class Kind(models.TextChoices):
        SELF_SIGNED = "self_signed", "Self-Signed"
        CA_SIGNED = "ca_signed", "CA-Signed"

    KEY_TYPE_CHOICES = [(code, keypairs.key_type_label(code)) for code in keypairs.KEY_TYPES]

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="certificates"
    )
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
            # The list's sorts; the id rides along so a page's keys come from the index alone
            # (orgs.pagination; PostgreSQL: INCLUDE, SQLite indexes hold the rowid anyway).
            models.Index(
                fields=["organization", "not_after", "unique_name"],
                name="certadmin_cert_org_expiry_name",
                include=["id"],
            ),
            models.Index(
                fields=["organization", "label", "unique_name"],
                name="certadmin_cert_org_label",
                include=["id"],
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

    def get_absolute_url(self) -> str:
        return certificate_url(self.organization.public_id, self.uuid)

    @property
    def is_awaiting_signature(self) -> bool:
        return self.not_after is None

    @property
    def status(self) -> str:
        """ "Awaiting signed certificate", "Expired" or "Active" (issue 15: never "Active"
        for an expired certificate)."""
        if self.is_awaiting_signature:
            return "Awaiting signed certificate"
        return "Expired" if self.is_expired() else "Active"

    @property
    def key_label(self) -> str:
        return keypairs.key_type_label(self.key_type)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def csr_download_name(self) -> str:
        return f"{self.unique_name}.csr"


# get_kind_display() rebuilds its choices dict on every call.
KIND_LABELS: dict[str, str] = dict(Certificate.Kind.choices)


def certificate_url(org: str, ref: uuid.UUID) -> str:
    """The page of a Certificate, from its org's public id and its uuid."""
    return reverse("certadmin:certificate-detail", args=[org, ref])
