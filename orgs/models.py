"""Organizations (tenants), who belongs to them, what they may do, and what they did."""

import secrets
import uuid
import zoneinfo
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from orgs import permissions

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TIME_ZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


def new_public_id() -> str:
    """An 18-character id shown to users, Salesforce style: "00D" + 15 random characters."""
    return "00D" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(15))


class OrganizationQuerySet(models.QuerySet["Organization"]):
    def for_user(self, user: "User") -> "OrganizationQuerySet":
        """Orgs the user is a member of, by name."""
        return self.filter(memberships__user=user).order_by("name")


class Organization(models.Model):
    public_id = models.CharField(
        "Organization ID", max_length=18, unique=True, default=new_public_id, editable=False
    )
    name = models.CharField(max_length=80)
    time_zone = models.CharField(max_length=64, default="UTC", choices=TIME_ZONE_CHOICES)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The scheme and host its Setup pages were last opened on ("https://certs.example.com"):
    # the base of the links of emails sent without a request when SITE_URL is not set
    # (orgs.links.base_url; recorded by orgs.access).
    served_at_url = models.CharField(
        "Last served at", max_length=200, blank=True, default="", editable=False
    )

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # Org-wide abilities are guardian object permissions on this row (SPEC 1); never
        # granted as global model permissions, which would cross tenants.
        permissions = permissions.CHOICES
        default_permissions = ("add", "change", "delete", "view")

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"

    def get_absolute_url(self) -> str:
        return reverse("orgs:setup-home", args=[self.public_id])

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tzinfo)


class Profile(models.Model):
    """What a member may do; every membership has exactly one.

    The two standard profiles are made with the org and never change; admins make more by
    cloning one (orgs.services.profiles.create_profile), edit them and delete them while unused.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="profiles"
    )
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=255, blank=True)
    # Codenames of orgs.permissions.CATALOGUE.
    permissions = models.JSONField(default=list, blank=True)
    is_standard = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="orgs_profile_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("orgs:profile-detail", args=[self.organization.public_id, self.uuid])

    @property
    def permission_labels(self) -> list[str]:
        return [permissions.label_of(code) for code in self.permissions]


class PermissionSet(models.Model):
    """Extra permissions assigned to members on top of their profile."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="permission_sets"
    )
    label = models.CharField(max_length=80)
    api_name = models.CharField("API Name", max_length=80)
    description = models.CharField(max_length=255, blank=True)
    permissions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "api_name"], name="orgs_permset_api_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("orgs:permission-set-detail", args=[self.organization.public_id, self.uuid])

    @property
    def permission_labels(self) -> list[str]:
        return [permissions.label_of(code) for code in self.permissions]


class Membership(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="memberships")
    permission_sets = models.ManyToManyField(PermissionSet, blank=True, related_name="memberships")
    # The NameID an identity provider sends for this user (SAML single sign-on, issue 16).
    federation_id = models.CharField(
        "Federation ID",
        max_length=255,
        blank=True,
        help_text="The NameID your identity provider sends for this user (single sign-on).",
    )
    # A deactivated member keeps their row (the audit trail, tokens and assignments still name
    # them) but holds no permission and cannot open the org
    # (orgs.services.members.deactivate_member).
    is_active = models.BooleanField("Active", default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="orgs_one_membership_per_org"
            ),
            models.UniqueConstraint(
                fields=["organization", "federation_id"],
                condition=~models.Q(federation_id=""),
                name="orgs_federation_id_unique_per_org",
                violation_error_message="Another user of this org has this Federation ID.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_org(self, org: Organization) -> "AuditEventQuerySet":
        return self.filter(organization=org)

    def since(self, moment: datetime) -> "AuditEventQuerySet":
        return self.filter(created_at__gte=moment)


class AuditEvent(models.Model):
    """One line of the Setup Audit Trail. Written only by orgs.services.audit.record_audit."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_events"
    )
    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text so the trail still names the person after the account is deleted;
    # "system" for jobs and operator commands.
    actor_name = models.CharField(max_length=150)
    section = models.CharField(max_length=80)
    action = models.CharField(max_length=80)
    message = models.CharField(max_length=500)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="orgs_audit_org_time"),
        ]

    def __str__(self) -> str:
        return self.message
