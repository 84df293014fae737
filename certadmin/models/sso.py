"""SAML single sign-on, the org's Identity Provider, and the retired default proxy certificate
(SPEC 7). Every certificate these models point at is a use in certadmin.usage (registered in
certadmin.apps)."""

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from certadmin.crypto import keypairs
from certadmin.querysets import SamlSsoConfigQuerySet
from keys.fields import SealedBinaryField

# The release that retired the built-in default proxy certificate. Configurations created
# before it may still sign with it (the database refuses any created since); nothing can
# choose it again. A fixed moment, not the migration's run time, so a CHECK constraint can say it.
PROXY_RETIRED_AT = datetime(2026, 11, 28, tzinfo=UTC)
# SAML's request signature methods are RSA ones, so every SAML use needs an RSA certificate.
RSA_KEY_TYPES = tuple(k for k in keypairs.KEY_TYPES if k.startswith("RSA-"))


class ProxyCertificate(models.Model):
    """The installation's built-in default proxy certificate: one row, retired.

    Made by migration 0002 (its key pair is generated at migrate time and sealed under the
    KEK). It belongs to no org, which is why it is not a Certificate: every org-scoped page,
    form and query over certificates stays unaware of it.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Always True, and unique: the table can hold one row only.
    singleton = models.BooleanField(default=True, unique=True, editable=False)
    label = models.CharField(max_length=64, default="Default proxy certificate")
    key_type = models.CharField(max_length=16, default="RSA-2048")
    private_key = SealedBinaryField()
    chain_pem = models.TextField()
    subject = models.CharField(max_length=1000)
    fingerprint_sha256 = models.CharField(max_length=64)
    not_after = models.DateTimeField("Expiration Date")
    retired_at = models.DateTimeField(default=PROXY_RETIRED_AT)

    class Meta:
        verbose_name = "default proxy certificate (retired)"
        verbose_name_plural = "default proxy certificate (retired)"
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="certadmin_proxy_singleton"),
        ]

    def __str__(self) -> str:
        return f"{self.label} (retired)"

    @property
    def unique_name(self) -> str:
        return "Default_Proxy_Certificate"


class SamlSsoConfig(models.Model):
    """One SAML SSO configuration of an org: this installation as service provider."""

    class SignatureMethod(models.TextChoices):
        RSA_SHA256 = "RSA-SHA256", "RSA-SHA256"
        RSA_SHA1 = "RSA-SHA1", "RSA-SHA1"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="saml_sso_configs"
    )
    name = models.CharField(max_length=80)
    # Our entity id as service provider: the Issuer of our AuthnRequests and the entityID of
    # our SP metadata.
    issuer = models.CharField(max_length=255)
    idp_entity_id = models.CharField("Identity Provider Entity ID", max_length=255)
    idp_login_url = models.URLField("Identity Provider Login URL", max_length=500)
    idp_certificate_pem = models.TextField("Identity Provider Certificate")
    idp_certificate_subject = models.CharField(max_length=1000, blank=True)
    idp_certificate_not_after = models.DateTimeField(null=True, blank=True)
    # Exactly one of the two signs the AuthnRequests (constraint below).
    request_signing_certificate = models.ForeignKey(
        "certadmin.Certificate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="saml_signing_configs",
    )
    proxy_certificate = models.ForeignKey(
        ProxyCertificate,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="configurations",
        verbose_name="default proxy certificate (retired)",
        db_index=False,  # the partial index in Meta.indexes
    )
    signature_method = models.CharField(
        "Request Signature Method",
        max_length=16,
        choices=SignatureMethod.choices,
        default=SignatureMethod.RSA_SHA256,
    )
    assertion_decryption_certificate = models.ForeignKey(
        "certadmin.Certificate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="saml_decryption_configs",
    )
    # The login itself (issue 16): each off by default.
    show_on_login_page = models.BooleanField(
        "Show on the login page",
        default=False,
        help_text="Offer “Log in with <name>” on the login page of this installation.",
    )
    allow_idp_initiated = models.BooleanField(
        "Allow IdP-initiated login",
        default=False,
        help_text="Accept responses that answer no request of ours (started at the identity "
        "provider). Replays are still refused.",
    )
    jit_provisioning = models.BooleanField(
        "Create unknown users (just-in-time)",
        default=False,
        help_text="A user the identity provider vouches for but who has no membership with "
        "that Federation ID is created as a Standard User of this org.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    modified_at = models.DateTimeField(default=timezone.now)
    modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SamlSsoConfigQuerySet.as_manager()

    class Meta:
        verbose_name = "SAML SSO configuration"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("name"),
                name="certadmin_sso_name_unique_per_org",
                violation_error_message="A SAML SSO configuration with this name already exists.",
            ),
            models.CheckConstraint(
                condition=Q(request_signing_certificate__isnull=False, proxy_certificate=None)
                | Q(request_signing_certificate=None, proxy_certificate__isnull=False),
                name="certadmin_sso_one_request_signer",
                violation_error_message="Choose the Request Signing Certificate.",
            ),
            models.CheckConstraint(
                condition=Q(proxy_certificate=None) | Q(created_at__lt=PROXY_RETIRED_AT),
                name="certadmin_sso_proxy_only_before_retirement",
                violation_error_message="The default proxy certificate is retired and cannot "
                "be chosen.",
            ),
        ]
        indexes = [
            # Only the few configurations still on the retired proxy certificate. A full index
            # is nearly all NULLs, so SQLite's planner rated it no better than the org index
            # and read every configuration of a big org for the list page's proxy warning.
            models.Index(
                fields=["proxy_certificate"],
                condition=Q(proxy_certificate__isnull=False),
                name="certadmin_sso_proxy_in_use",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("certadmin:sso-detail", args=[self.organization.public_id, self.uuid])

    @property
    def uses_retired_proxy(self) -> bool:
        return self.proxy_certificate_id is not None

    @property
    def file_stem(self) -> str:
        """The name as downloads use it (letters, digits, - and _)."""
        return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in self.name) or "SSO"


class IdentityProvider(models.Model):
    """The org as SAML identity provider: enabled with exactly one certificate."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.OneToOneField(
        "orgs.Organization", on_delete=models.CASCADE, related_name="identity_provider"
    )
    enabled = models.BooleanField(default=False)
    certificate = models.ForeignKey(
        "certadmin.Certificate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="identity_providers",
    )
    modified_at = models.DateTimeField(default=timezone.now)
    modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "identity provider"
        constraints = [
            # Disabling releases the certificate, so a disabled IdP never blocks a delete.
            models.CheckConstraint(
                condition=Q(enabled=True, certificate__isnull=False)
                | Q(enabled=False, certificate=None),
                name="certadmin_idp_enabled_iff_certificate",
            ),
        ]

    def __str__(self) -> str:
        return f"Identity Provider of {self.organization_id}"

    def get_absolute_url(self) -> str:
        return reverse("certadmin:idp-settings", args=[self.organization.public_id])


def sso_use_url(org: str, ref: uuid.UUID) -> str:
    return reverse("certadmin:sso-detail", args=[org, ref])


def idp_use_url(org: str, ref: uuid.UUID) -> str:
    return reverse("certadmin:idp-settings", args=[org])


class SamlAuthnRequest(models.Model):
    """An AuthnRequest we sent, remembered server-side until its response arrives: a response's
    InResponseTo must name one of these, unanswered and recent (the ACS gets no session cookie
    on the identity provider's cross-site POST, so the session cannot hold it)."""

    config = models.ForeignKey(SamlSsoConfig, on_delete=models.CASCADE, related_name="requests")
    request_id = models.CharField(max_length=64, unique=True)
    relay_state = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SAML AuthnRequest sent"

    def __str__(self) -> str:
        return self.request_id


class SamlConsumedAssertion(models.Model):
    """The id of every assertion accepted, kept until it expires: the same assertion posted
    again is a replay. The unique constraint settles two concurrent posts."""

    config = models.ForeignKey(SamlSsoConfig, on_delete=models.CASCADE, related_name="+")
    assertion_id = models.CharField(max_length=256)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "SAML assertion consumed"
        constraints = [
            models.UniqueConstraint(
                fields=["config", "assertion_id"], name="certadmin_saml_assertion_once"
            )
        ]

    def __str__(self) -> str:
        return self.assertion_id


class ServiceProvider(models.Model):
    """An application that logs its users in with the org's Identity Provider."""

    class NameIdFormat(models.TextChoices):
        UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified", "Unspecified"
        EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", "Email address"
        PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", "Persistent"

    class Subject(models.TextChoices):
        USERNAME = "username", "Username"
        EMAIL = "email", "Email"
        FEDERATION_ID = "federation_id", "Federation ID"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="service_providers"
    )
    name = models.CharField(max_length=80)
    entity_id = models.CharField("Entity ID", max_length=255)
    acs_url = models.URLField("Assertion Consumer Service URL", max_length=500)
    certificate_pem = models.TextField(
        "Service Provider Certificate",
        blank=True,
        help_text="Checks the signature of its AuthnRequests; assertions are encrypted to it "
        "when asked.",
    )
    certificate_subject = models.CharField(max_length=1000, blank=True)
    certificate_not_after = models.DateTimeField(null=True, blank=True)
    name_id_format = models.CharField(
        "NameID Format",
        max_length=80,
        choices=NameIdFormat.choices,
        default=NameIdFormat.UNSPECIFIED,
    )
    subject = models.CharField(
        "NameID value", max_length=16, choices=Subject.choices, default=Subject.USERNAME
    )
    attribute_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text="Attribute name → user field (username, email, first_name, last_name, "
        "federation_id).",
    )
    encrypt_assertions = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "service provider"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "entity_id"],
                name="certadmin_sp_entity_unique_per_org",
                violation_error_message="A service provider with this Entity ID already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("certadmin:idp-sp-detail", args=[self.organization.public_id, self.uuid])


class IdpAnsweredRequest(models.Model):
    """The id of every AuthnRequest the Identity Provider answered, kept per service provider
    while the request is still young enough to be answered (services.idp.REQUEST_LIFETIME):
    the same signed request shown again (a captured link, a replayed post) is refused. The
    unique constraint settles two concurrent answers."""

    service_provider = models.ForeignKey(
        ServiceProvider, on_delete=models.CASCADE, related_name="+"
    )
    request_id = models.CharField(max_length=256)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "SAML AuthnRequest answered"
        constraints = [
            models.UniqueConstraint(
                fields=["service_provider", "request_id"], name="certadmin_idp_request_once"
            )
        ]

    def __str__(self) -> str:
        return self.request_id
