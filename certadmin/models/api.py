"""API tokens (SPEC 5): per user and org, shown once, stored as a SHA-256 hash.

A token reads `cka_<key id>_<secret>`. The key id (12 hex characters) is stored in clear and
finds the row with one index probe; the secret (256 random bits) is stored only as its
SHA-256 digest and compared in constant time. A slow password hash (PBKDF2, argon2) would
buy nothing here: nobody can guess 256 random bits, and it would cost every API request
tens of milliseconds.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from certadmin.querysets import ApiTokenQuerySet

TOKEN_PREFIX = "cka"


class ApiToken(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # A token works in one org only: the one it was created in.
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="api_tokens"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_id = models.CharField("Token ID", max_length=16, unique=True, editable=False)
    secret_sha256 = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    # Updated at most once a minute (certadmin.services.tokens), not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "user"], name="certadmin_apitoken_org_user")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_prefix(self) -> str:
        """What lists show of a token: enough to recognise it, useless to an attacker."""
        return f"{TOKEN_PREFIX}_{self.key_id}_…"

    def status(self, now: datetime | None = None) -> str:
        if self.revoked_at is not None:
            return "Revoked"
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return "Expired"
        return "Active"

    def is_active(self, now: datetime | None = None) -> bool:
        return self.status(now) == "Active"

    def revoke(self, *, now: datetime | None = None) -> None:
        self.revoked_at = now or timezone.now()
        self.save(update_fields=["revoked_at"])
