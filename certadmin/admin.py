"""Superuser admin for certificates: key facts read-only, never the key."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from certadmin.models import Certificate
from certadmin.services import certificates as services


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ("unique_name", "label", "organization", "kind", "key_type", "not_after")
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
        "subject_fields",
        "csr_pem",
        "chain_pem",
        "created_at",
        "created_by",
        "modified_at",
        "modified_by",
    )
    fields = ("label", "unique_name", *readonly_fields)
    actions = ["delete_selected_certificates"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # certificates are made through Setup (services.create_*), never by hand

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # deletes go through the service (usage guard, audit): see the action

    def get_actions(self, request: HttpRequest) -> dict[str, object]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Delete selected certificates (refused for certificates in use)")
    def delete_selected_certificates(
        self, request: HttpRequest, queryset: QuerySet[Certificate]
    ) -> None:
        deleted = 0
        for certificate in queryset.select_related("organization"):
            try:
                services.delete_certificate(certificate=certificate, acting_user=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                deleted += 1
        if deleted:
            self.message_user(request, f"Deleted {deleted} certificate(s).", messages.SUCCESS)
