"""Master encryption keys, encrypted custom fields on Contacts, and re-encryption jobs (SPEC 6)."""

import uuid
from datetime import datetime
from typing import Self

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from keys import masks
from keys.fields import EncryptedTextField, SealedBinaryField, key_version_of

MAX_ENCRYPTED_LENGTH = 175  # SPEC 6: "Text (Encrypted)" fields hold at most 175 characters


class MasterKeyQuerySet(models.QuerySet["MasterKey"]):
    def for_org(self, org: object) -> Self:
        return self.filter(organization=org)

    def active(self) -> Self:
        return self.filter(state=MasterKey.State.ACTIVE)


class MasterKey(models.Model):
    """One numbered AES-256 master key of an org. The material is sealed under the KEK.

    Exactly one key per org is Active (the database refuses a second one; the services archive
    and create in one transaction). A Destroyed key has no material: values under it read as
    "unavailable" until its export file is imported again.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"
        DESTROYED = "destroyed", "Destroyed"

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="master_keys"
    )
    version = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    material = SealedBinaryField(null=True)
    kcv = models.CharField(
        "key check value",
        max_length=8,
        help_text="Identifies the key without revealing it; an imported file must match it.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=150)
    archived_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    objects = MasterKeyQuerySet.as_manager()

    class Meta:
        ordering = ["organization_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version"], name="keys_masterkey_version_unique_per_org"
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(state="active"),
                name="keys_masterkey_one_active_per_org",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["active", "archived", "destroyed"]),
                name="keys_masterkey_state_valid",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(state="destroyed", material__isnull=True)
                    | (~models.Q(state="destroyed") & models.Q(material__isnull=False))
                ),
                name="keys_masterkey_material_unless_destroyed",
            ),
        ]

    def __str__(self) -> str:
        return f"Key {self.version} ({self.get_state_display()})"

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE

    @property
    def is_archived(self) -> bool:
        return self.state == self.State.ARCHIVED

    @property
    def is_destroyed(self) -> bool:
        return self.state == self.State.DESTROYED

    @property
    def was_imported(self) -> bool:
        """Destroyed, then imported back from its export file (and not destroyed since): its
        state is Archived, its `destroyed_at` history, not a state."""
        return (
            not self.is_destroyed
            and self.imported_at is not None
            and (self.destroyed_at is None or self.imported_at >= self.destroyed_at)
        )


class ContactField(models.Model):
    """A "Text (Encrypted)" custom field an admin defined on the org's Contact records."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="contact_fields"
    )
    label = models.CharField(max_length=40)
    api_name = models.CharField("API Name", max_length=40)
    length = models.PositiveSmallIntegerField(
        default=MAX_ENCRYPTED_LENGTH,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_ENCRYPTED_LENGTH)],
    )
    mask_type = models.CharField(max_length=20, choices=masks.MASK_TYPES, default=masks.MASK_ALL)
    mask_char = models.CharField(
        max_length=1, choices=[(c, c) for c in masks.MASK_CHARS], default="*"
    )
    help_text = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.CharField(max_length=150, editable=False)

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("api_name"), "organization", name="keys_contactfield_api_name_unique_per_org"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("keys:field-edit", args=[self.organization.public_id, self.uuid])

    @property
    def mask_example(self) -> str:
        """How a value looks masked, for the field list ("XXX-XX-1234")."""
        return masks.mask(_MASK_SAMPLES[self.mask_type], self.mask_type, self.mask_char)


_MASK_SAMPLES = {
    masks.MASK_ALL: "secret value",
    masks.LAST_FOUR: "0123456789",
    masks.CREDIT_CARD: "4111 1111 1111 1234",
    masks.NATIONAL_INSURANCE: "QQ123456C",
    masks.SSN: "123-45-1234",
    masks.SIN: "046-454-123",
}


class Contact(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="contacts"
    )
    first_name = models.CharField(max_length=40, blank=True)
    last_name = models.CharField(max_length=80)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.CharField(max_length=150, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_by = models.CharField(max_length=150, editable=False)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["organization", "last_name"], name="keys_contact_org_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("keys:contact-detail", args=[self.organization.public_id, self.uuid])

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ContactFieldValue(models.Model):
    """One encrypted custom field value of one contact.

    `organization` is copied from the contact so the encrypted field knows whose keys to use
    without a join; `key_version` is computed by the database from the token, so it never
    disagrees with it, and is indexed with the org: the keys page counts values per key with
    one GROUP BY, and the re-encryption job walks one key's values by id.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="values")
    field = models.ForeignKey(ContactField, on_delete=models.CASCADE, related_name="values")
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+"
    )
    value = EncryptedTextField(
        max_length=MAX_ENCRYPTED_LENGTH, db_column="value_token", mask_from="field"
    )
    key_version = key_version_of("value")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "field"], name="keys_one_value_per_contact_field"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "key_version", "id"], name="keys_value_org_key_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.field_id} of contact {self.contact_id}"


class ReencryptionJob(models.Model):
    """One "Re-encrypt all data now" run of an org.

    At most one job per org is queued or running (a partial unique constraint). The worker
    that runs it holds a lease (`claimed_by`, `lease_until`) renewed with every batch; a
    crashed worker's job is taken over when the lease expires, or at once by a process on the
    same host once the claimant's process is gone.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="reencryption_jobs"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    requested_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    total = models.PositiveBigIntegerField(default=0)
    moved = models.PositiveBigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(state__in=["queued", "running"]),
                name="keys_one_unfinished_reencryption_per_org",
            ),
        ]

    def __str__(self) -> str:
        return f"Re-encryption of {self.organization_id} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    def lease_expired(self, now: datetime) -> bool:
        return self.lease_until is None or self.lease_until < now
