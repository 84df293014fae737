"""Named Credentials (issue 17): an outbound HTTPS endpoint that certadmin calls presenting one
of the org's certificates (mutual TLS), optionally signing every request with its key (RFC 9421).

The certificate is a use in certadmin.usage (registered in certadmin.apps): delete is refused
while a credential points at it, Renew and Replace switch it, where-used lists it.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from certadmin import naming


class NamedCredential(models.Model):
    class Trust(models.TextChoices):
        SYSTEM = "system", "The system's trusted CAs"
        CERTIFI = "certifi", "Mozilla's CA bundle (certifi)"
        UPLOADED = "uploaded", "Only the CA certificates uploaded for this credential"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="named_credentials"
    )
    label = models.CharField(max_length=naming.MAX_LABEL)
    name = models.CharField("Name", max_length=naming.MAX_UNIQUE_NAME)
    url = models.URLField("URL", max_length=500)
    certificate = models.ForeignKey(
        "certadmin.Certificate", on_delete=models.PROTECT, related_name="named_credentials"
    )
    trust = models.CharField(
        "Server Trust", max_length=16, choices=Trust.choices, default=Trust.SYSTEM
    )
    # The CA certificates (PEM) the server's certificate must chain to, for Trust.UPLOADED.
    trust_pem = models.TextField("Trusted CA Certificates", blank=True)
    sign_requests = models.BooleanField("Sign Requests (HTTP Message Signatures)", default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    modified_at = models.DateTimeField(default=timezone.now)
    modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "named credential"
        ordering = ["label", "name"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("name"),
                name="certadmin_named_credential_name_per_org",
                violation_error_message="A named credential with this Name already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return named_credential_url(self.organization.public_id, self.uuid)


def named_credential_url(org: str, ref: uuid.UUID) -> str:
    return reverse("certadmin:named-credential-detail", args=[org, ref])
