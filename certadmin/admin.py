"""Superuser admin for certificates: key facts read-only, never the key."""

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from certadmin.models import (
    ApiToken,
    Certificate,
    IdentityProvider,
    MutualAuthCertificate,
    ProxyCertificate,
    SamlSsoConfig,
)
from certadmin.services import certificates as services
from certadmin.services import mutual_auth as mutual_auth_services
from certadmin.services import sso as sso_services
from certadmin.services import tokens as token_services
from orgs.admin_site import ListDeferredMixin, ReadOnlyAdmin
from orgs.wording import count

# What a certificate changelist never reads: the sealed key, the PEM chain and request, the
# CSR's subject (ListDeferredMixin). The same columns of a certificate a list joins.
CERTIFICATE_BLOBS = ("private_key", "chain_pem", "csr_pem", "subject_fields")


def _superuser(request: HttpRequest) -> User:
    """The user acting in the admin: SuperuserAdminSite lets only active superusers in, so it
    is a signed-in User (never AnonymousUser), and the services record them as the actor."""
    user = request.user
    assert isinstance(user, User), "the admin site admits signed-in superusers only"
    return user


def _of(relation: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{relation}__{column}" for column in columns)


@admin.register(Certificate)
class CertificateAdmin(ListDeferredMixin, ReadOnlyAdmin[Certificate]):
    list_display = ("unique_name", "label", "organization", "kind", "key_type", "not_after")
    list_deferred = CERTIFICATE_BLOBS
    list_filter = ("kind", "key_type", "exportable", "organization")
    list_select_related = ("organization",)
    search_fields = ("unique_name", "label", "fingerprint_sha256", "organization__public_id")
    date_hierarchy = "not_after"
    # The sealed private key is not a field of any admin form: `exclude` keeps it out.
    exclude = ("private_key",)
    readonly_fields = (
        "uuid",
        "organization",
        "kind",
        "key_type",
        "exportable",
        "subject",
        "issuer",
        "serial",
        "fingerprint_sha256",
        "not_before",
        "not_after",
        "subject_details",
        "csr_pem",
        "chain_pem",
        "created_at",
        "created_by",
        "modified_at",
        "modified_by",
    )
    fields = ("label", "unique_name", *readonly_fields)
    actions = ["delete_selected_certificates"]

    @admin.display(description="Subject (as entered)")
    def subject_details(self, obj: Certificate) -> str:
        """The subject fields a CA-signed certificate was requested with, in words rather than
        the stored JSON."""
        words = {
            "common_name": "Common Name",
            "email": "Email",
            "company": "Company",
            "department": "Department",
            "city": "City",
            "state": "State",
            "country": "Country",
        }
        fields = obj.subject_fields or {}
        # In the form's order, not the stored one (PostgreSQL's jsonb reorders keys).
        known = [key for key in words if key in fields]
        ordered = known + sorted(key for key in fields if key not in words)
        parts = [f"{words.get(key, key)}: {fields[key]}" for key in ordered if fields[key]]
        return "; ".join(parts) or "—"

    # Read-only: certificates are made through Setup (services.create_*), never by hand;
    # deletes go through the service (usage guard, audit): see the action.

    @admin.action(description="Delete selected certificates (refused for certificates in use)")
    def delete_selected_certificates(
        self, request: HttpRequest, queryset: QuerySet[Certificate]
    ) -> None:
        deleted = 0
        for certificate in queryset.select_related("organization"):
            try:
                services.delete_certificate(
                    certificate=certificate, acting_user=_superuser(request)
                )
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                deleted += 1
        if deleted:
            self.message_user(
                request,
                f"Deleted {count(deleted, 'certificate', 'certificates')}.",
                messages.SUCCESS,
            )


# --- mutual authentication certificates and API tokens (issue 7) ------------------------------


@admin.register(MutualAuthCertificate)
class MutualAuthCertificateAdmin(ListDeferredMixin, ReadOnlyAdmin[MutualAuthCertificate]):
    list_display = ("unique_name", "label", "organization", "subject", "not_after")
    list_deferred = ("chain_pem",)
    list_filter = ("organization",)
    list_select_related = ("organization",)
    search_fields = ("unique_name", "label", "subject", "fingerprint_sha256")
    date_hierarchy = "not_after"
    readonly_fields = (
        "uuid",
        "organization",
        "label",
        "unique_name",
        "subject",
        "issuer",
        "serial",
        "fingerprint_sha256",
        "not_before",
        "not_after",
        "server_auth",
        "chain_pem",
        "created_at",
        "created_by",
    )
    fields = readonly_fields
    actions = ["delete_selected_mutual_auth"]

    # Read-only: uploaded through Setup, where the chain and EKU are checked; deleted through
    # the action below, which writes the audit trail.

    @admin.action(description="Delete selected mutual authentication certificates")
    def delete_selected_mutual_auth(
        self, request: HttpRequest, queryset: QuerySet[MutualAuthCertificate]
    ) -> None:
        deleted = 0
        for certificate in queryset.select_related("organization"):
            mutual_auth_services.delete_mutual_auth_certificate(
                certificate=certificate, acting_user=_superuser(request)
            )
            deleted += 1
        self.message_user(
            request,
            f"Deleted {count(deleted, 'certificate', 'certificates')}.",
            messages.SUCCESS,
        )


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin[ApiToken]):
    list_display = ("name", "user", "organization", "key_id", "created_at", "last_used_at", "state")
    list_filter = ("organization",)
    list_select_related = ("organization", "user")
    search_fields = ("name", "key_id", "user__username")
    # The secret's digest is not shown: it is useless to a reader and tempting to copy.
    fields = (
        "uuid",
        "name",
        "organization",
        "user",
        "key_id",
        "created_at",
        "created_by",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke_selected"]

    # Read-only: made in Setup, where the plaintext is shown once; revoked instead of
    # deleted, so the audit trail and the row remain.

    @admin.display(description="Status")
    def state(self, obj: ApiToken) -> str:
        return obj.status()

    @admin.action(description="Revoke selected API tokens")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = sum(
            token_services.revoke_api_token(token=token, acting_user=_superuser(request))
            for token in queryset.select_related("organization", "user")
        )
        self.message_user(
            request, f"Revoked {count(revoked, 'API token', 'API tokens')}.", messages.SUCCESS
        )


# --- SAML SSO, Identity Provider, the retired proxy certificate (issue 8) ----------------------
# Superusers inspect these; changes that choose certificates go through the Setup pages, whose
# services check the org, the chain and the key type. Deletes go through the services too.


@admin.register(SamlSsoConfig)
class SamlSsoConfigAdmin(ListDeferredMixin, admin.ModelAdmin[SamlSsoConfig]):
    list_display = ("name", "organization", "request_signing_certificate", "uses_retired_proxy")
    list_filter = ("organization",)
    list_select_related = ("organization", "request_signing_certificate", "proxy_certificate")
    list_deferred = (
        "idp_certificate_pem",
        *_of("request_signing_certificate", CERTIFICATE_BLOBS),
        *_of("proxy_certificate", ("private_key", "chain_pem")),
    )
    search_fields = ("name", "issuer", "idp_entity_id", "organization__public_id")
    readonly_fields = (
        "uuid",
        "organization",
        "name",
        "issuer",
        "idp_entity_id",
        "idp_login_url",
        "idp_certificate_subject",
        "idp_certificate_not_after",
        "request_signing_certificate",
        "proxy_certificate",
        "signature_method",
        "assertion_decryption_certificate",
        "created_at",
        "created_by",
        "modified_at",
        "modified_by",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(boolean=True, description="Retired proxy certificate")
    def uses_retired_proxy(self, obj: SamlSsoConfig) -> bool:
        return obj.uses_retired_proxy

    def delete_model(self, request: HttpRequest, obj: SamlSsoConfig) -> None:
        sso_services.delete_sso_config(config=obj, acting_user=_superuser(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SamlSsoConfig]) -> None:
        for config in queryset.select_related("organization"):
            sso_services.delete_sso_config(config=config, acting_user=_superuser(request))


@admin.register(IdentityProvider)
class IdentityProviderAdmin(ListDeferredMixin, ReadOnlyAdmin[IdentityProvider]):
    list_display = ("organization", "enabled", "certificate")
    list_select_related = ("organization", "certificate")
    list_deferred = _of("certificate", CERTIFICATE_BLOBS)
    readonly_fields = (
        "uuid",
        "organization",
        "enabled",
        "certificate",
        "modified_at",
        "modified_by",
    )
    fields = readonly_fields

    # Read-only: disabling goes through the Setup page (audit trail).


@admin.register(ProxyCertificate)
class ProxyCertificateAdmin(ListDeferredMixin, ReadOnlyAdmin[ProxyCertificate]):
    list_display = ("label", "subject", "not_after", "retired_at")
    list_deferred = ("private_key", "chain_pem")
    # The sealed private key is no field of any admin form.
    exclude = ("private_key",)
    readonly_fields = (
        "uuid",
        "label",
        "key_type",
        "subject",
        "fingerprint_sha256",
        "not_after",
        "retired_at",
        "chain_pem",
    )
    fields = readonly_fields
