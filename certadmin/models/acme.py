"""Certificates from an ACME certificate authority (issue 18; docs/acme.md).

AcmeAccount: an org's account at one ACME directory (Let's Encrypt, ZeroSSL, step-ca...), its
key sealed like every private key. AcmeOrder: one order being worked through (its challenges
answered by certadmin). AcmeChallenge: an http-01 token or dns-01 TXT record of a pending
order. AcmeCertificate: how a certificate obtained from ACME is renewed, and how renewal fares.
"""

import uuid
from datetime import datetime, timedelta
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from certadmin.querysets import AcmeCertificateQuerySet
from keys.fields import SealedBinaryField

# Renew when this part of the lifetime is left (Let's Encrypt's own advice: a third).
DEFAULT_RENEW_FRACTION = 1 / 3


class Challenge(models.TextChoices):
    HTTP_01 = "http-01", "http-01 (answered by certadmin at /.well-known/acme-challenge/)"
    DNS_01_RFC2136 = "dns-01", "dns-01 through RFC 2136 dynamic DNS update"
    DNS_01_MANUAL = "dns-01-manual", "dns-01, TXT record created by hand"


class AcmeAccount(models.Model):
    class Status(models.TextChoices):
        UNREGISTERED = "unregistered", "Not registered"
        VALID = "valid", "Registered"
        DEACTIVATED = "deactivated", "Deactivated"

    class TsigAlgorithm(models.TextChoices):
        HMAC_SHA256 = "hmac-sha256", "HMAC-SHA256"
        HMAC_SHA512 = "hmac-sha512", "HMAC-SHA512"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="acme_accounts"
    )
    label = models.CharField(max_length=80)
    directory_url = models.URLField("Directory URL", max_length=500)
    contact_email = models.EmailField("Contact email", blank=True)
    terms_agreed = models.BooleanField("I agree to the CA's terms of service", default=False)
    eab_kid = models.CharField("EAB key ID", max_length=200, blank=True)
    # The CA's EAB HMAC key (base64url text, as CAs hand it out), sealed; null: none given.
    eab_hmac_key = SealedBinaryField(null=True, blank=True)
    key_type = models.CharField("Account key", max_length=16, default="EC-P256")
    # PKCS#8 DER of the account key, sealed like certificates' private keys. Never plaintext.
    account_key = SealedBinaryField()
    account_url = models.CharField("Account URL", max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNREGISTERED)
    last_error = models.TextField(blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    key_rolled_at = models.DateTimeField(null=True, blank=True)
    # dns-01 through RFC 2136: the primary name server that takes signed updates.
    dns_server = models.CharField("DNS update server", max_length=255, blank=True)
    dns_zone = models.CharField(
        "DNS zone", max_length=255, blank=True, help_text="The zone the TXT records go into."
    )
    dns_port = models.PositiveIntegerField(
        "DNS port", default=53, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    tsig_key_name = models.CharField("TSIG key name", max_length=255, blank=True)
    tsig_algorithm = models.CharField(
        "TSIG algorithm",
        max_length=16,
        choices=TsigAlgorithm.choices,
        default=TsigAlgorithm.HMAC_SHA256,
    )
    # The TSIG secret (base64, as BIND's tsig-keygen prints it), sealed.
    tsig_secret = SealedBinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "label"],
                name="certadmin_acme_account_label_per_org",
                violation_error_message="An ACME account with this label already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("certadmin:acme-account", args=[self.organization.public_id, self.uuid])

    @property
    def has_eab(self) -> bool:
        return bool(self.eab_kid)

    @property
    def has_rfc2136(self) -> bool:
        return bool(self.dns_server and self.tsig_key_name and self.tsig_secret)

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.VALID


class AcmeOrder(models.Model):
    """One order at the CA: created, its challenges answered, then finalized (or failed)."""

    class Purpose(models.TextChoices):
        NEW = "new", "New certificate"
        CSR = "csr", "Existing certificate signing request"
        RENEWAL = "renewal", "Renewal"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        ORDERING = "ordering", "Contacting the CA"
        VALIDATING = "validating", "Waiting for the CA to validate"
        FINALIZING = "finalizing", "Finalizing"
        AWAITING_DNS = "awaiting_dns", "Waiting for the TXT records"
        ISSUED = "issued", "Issued"
        FAILED = "failed", "Failed"

    # A background worker has these orders, or will (services/acme/runs.py): they count as
    # stopped once `deadline` has passed.
    WORKING: ClassVar[tuple[str, ...]] = (
        Status.QUEUED,
        Status.ORDERING,
        Status.VALIDATING,
        Status.FINALIZING,
    )
    # Orders in these states have challenges that may be answered.
    OPEN: ClassVar[tuple[str, ...]] = (*WORKING, Status.AWAITING_DNS)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="acme_orders"
    )
    account = models.ForeignKey(AcmeAccount, on_delete=models.CASCADE, related_name="orders")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    # The certificate whose CSR is fulfilled, or which is renewed.
    certificate = models.ForeignKey(
        "certadmin.Certificate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="acme_orders",
    )
    label = models.CharField(max_length=80, blank=True)
    unique_name = models.CharField(max_length=80, blank=True)
    domains = models.JSONField(default=list)
    key_type = models.CharField(max_length=16, blank=True)
    exportable = models.BooleanField(default=True)
    challenge = models.CharField(max_length=16, choices=Challenge.choices)
    # The key of the certificate to be (sealed); null when the order fulfils an existing CSR.
    private_key = SealedBinaryField(null=True, blank=True)
    csr_pem = models.TextField(blank=True)
    # The acme library's OrderResource as JSON, so a manual dns-01 order resumes later.
    order_json = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    # AcmeProblem.code of the failure, for the advice shown with the CA's words.
    error_code = models.CharField(max_length=32, blank=True)
    # The worker running the order (host:pid:random), and when a working order counts as
    # stopped: set when it is queued and renewed at every step, so a killed worker is noticed.
    claimed_by = models.CharField(max_length=100, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The certificate the order produced.
    result = models.ForeignKey(
        "certadmin.Certificate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {', '.join(self.domains)}"

    def get_absolute_url(self) -> str:
        return reverse("certadmin:acme-order", args=[self.organization.public_id, self.uuid])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def is_stalled(self, now: datetime | None = None) -> bool:
        """Working, but past its deadline: its worker died, timed out, or never started it."""
        if self.status not in self.WORKING:
            return False
        return self.deadline is None or self.deadline <= (now or timezone.now())

    def is_running(self, now: datetime | None = None) -> bool:
        """A worker has it (or will soon): the page keeps watching it."""
        return self.status in self.WORKING and not self.is_stalled(now)

    def can_retry(self, now: datetime | None = None) -> bool:
        """Try again is offered for failed or stopped orders; renewals retry on their own."""
        if self.purpose == self.Purpose.RENEWAL:
            return False
        return self.status == self.Status.FAILED or self.is_stalled(now)


class AcmeChallenge(models.Model):
    """A challenge of an open order: the http-01 answer certadmin serves, or the TXT record a
    dns-01 challenge needs."""

    order = models.ForeignKey(AcmeOrder, on_delete=models.CASCADE, related_name="challenges")
    domain = models.CharField(max_length=255)
    # http-01: the token (the last path segment the CA fetches); dns-01: empty.
    token = models.CharField(max_length=255, blank=True, db_index=True)
    # http-01: the key authorization served; dns-01: the TXT value.
    validation = models.TextField()
    txt_name = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class AcmeCertificate(models.Model):
    """How a certificate obtained from ACME is renewed: it moves to each renewal."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="acme_certificates"
    )
    certificate = models.OneToOneField(
        "certadmin.Certificate", on_delete=models.CASCADE, related_name="acme"
    )
    account = models.ForeignKey(AcmeAccount, on_delete=models.PROTECT, related_name="certificates")
    domains = models.JSONField(default=list)
    challenge = models.CharField(max_length=16, choices=Challenge.choices)
    auto_renew = models.BooleanField("Renew automatically", default=True)
    renew_fraction = models.FloatField(
        "Renew when this part of the lifetime is left",
        default=DEFAULT_RENEW_FRACTION,
        validators=[MinValueValidator(0.05), MaxValueValidator(0.9)],
    )
    new_key = models.BooleanField("New key pair on every renewal", default=True)
    # When renewal is due (not_after - renew_fraction x lifetime); kept by the services.
    renew_after = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_renewed_at = models.DateTimeField(null=True, blank=True)
    # The last renewal-failure email (recipients hear of a failure once a day at most).
    alerted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = AcmeCertificateQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["renew_after"],
                name="certadmin_acme_renew_after",
                condition=models.Q(auto_renew=True),
            )
        ]

    def __str__(self) -> str:
        return ", ".join(self.domains)

    @property
    def is_failing(self) -> bool:
        return self.failing_since is not None

    def plan(self, not_before: datetime, not_after: datetime) -> None:
        """Set renew_after from the certificate's lifetime and renew_fraction."""
        lifetime = (not_after - not_before).total_seconds()
        self.renew_after = not_after - timedelta(seconds=lifetime * self.renew_fraction)
