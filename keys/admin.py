"""Superuser admin of the keys app: read-only; every change goes through the Setup pages
(services), which keep the audit trail and the key invariants.

Encrypted values are shown as the same rule decides everywhere: clear for a user who holds
View Encrypted Data in the value's org (orgs.access), masked otherwise, "unavailable" when
the key is destroyed. Key material and tokens are never shown.
"""

from contextvars import ContextVar
from typing import Any, TypeVar

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from keys import keyring
from keys.models import Contact, ContactField, ContactFieldValue, MasterKey, ReencryptionJob
from orgs import access, permissions
from orgs.admin_site import ListDeferredMixin, ReadOnlyAdmin

_M = TypeVar("_M", bound=models.Model)

# The request being answered, for the "Value" columns (display methods only receive the
# object). A context variable, not an attribute of the shared ModelAdmin: two threads never
# see each other's request.
_viewer: ContextVar[HttpRequest | None] = ContextVar("keys_admin_viewer", default=None)


def shown_value(value: ContactFieldValue) -> str:
    """The value as the admin user looking at it may see it; keyrings load once a request."""
    request = _viewer.get()
    if request is None:
        return "(encrypted)"
    rings: dict[int, keyring.Keyring] = request.__dict__.setdefault("_keys_admin_rings", {})
    org_id = value.organization_id
    if org_id not in rings:
        rings[org_id] = keyring.Keyring.load(org_id)
    clear = access.has_org_perm(
        request.user, permissions.VIEW_ENCRYPTED_DATA.full, value.organization
    )
    shown: str = value.value.display(clear=clear, ring=rings[org_id])
    return shown


class _ShowsValues(ReadOnlyAdmin[_M]):
    """Renders its pages with the viewer known to `shown_value`."""

    def _as_viewer(self, request: HttpRequest, view: Any, *args: Any) -> Any:
        reset = _viewer.set(request)
        try:
            response = view(request, *args)
            if hasattr(response, "render"):
                response.render()  # display methods run while rendering
            return response
        finally:
            _viewer.reset(reset)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        return self._as_viewer(request, super().changelist_view, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kw: Any) -> Any:
        return self._as_viewer(request, super().change_view, object_id, *args)


@admin.register(MasterKey)
class MasterKeyAdmin(ListDeferredMixin, ReadOnlyAdmin[MasterKey]):
    list_display = ("organization", "version", "state", "kcv", "created_at", "archived_at")
    list_deferred = ("material",)  # the sealed key
    list_filter = ("state",)
    list_select_related = ("organization",)
    search_fields = ("organization__name", "organization__public_id")
    fields = (
        "organization",
        "version",
        "state",
        "kcv",
        "created_at",
        "created_by",
        "archived_at",
        "destroyed_at",
        "imported_at",
    )


@admin.register(ContactField)
class ContactFieldAdmin(ReadOnlyAdmin[ContactField]):
    list_display = ("label", "api_name", "organization", "mask_type", "mask_char", "length")
    list_select_related = ("organization",)
    search_fields = ("label", "api_name", "organization__name", "organization__public_id")


class ContactFieldValueInline(admin.TabularInline[ContactFieldValue, Contact]):
    model = ContactFieldValue
    extra = 0
    can_delete = False
    fields = ("field", "key_version", "value_shown")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactFieldValue]:
        return super().get_queryset(request).select_related("field", "organization")

    @admin.display(description="Value")
    def value_shown(self, obj: ContactFieldValue) -> str:
        return shown_value(obj)


@admin.register(Contact)
class ContactAdmin(_ShowsValues[Contact]):
    list_display = ("__str__", "email", "organization", "updated_at")
    list_select_related = ("organization",)
    search_fields = ("last_name", "first_name", "email", "organization__public_id")
    fields = ("organization", "first_name", "last_name", "email", "created_by", "updated_by")
    inlines = [ContactFieldValueInline]


@admin.register(ContactFieldValue)
class ContactFieldValueAdmin(_ShowsValues[ContactFieldValue]):
    list_display = ("contact", "field", "organization", "key_version", "value_shown")
    list_filter = ("key_version",)
    list_select_related = ("contact", "field", "organization")
    fields = ("contact", "field", "organization", "key_version", "value_shown")

    @admin.display(description="Value")
    def value_shown(self, obj: ContactFieldValue) -> str:
        return shown_value(obj)


@admin.register(ReencryptionJob)
class ReencryptionJobAdmin(ReadOnlyAdmin[ReencryptionJob]):
    list_display = ("organization", "state", "moved", "total", "created_at", "finished_at")
    # Not the lease token (claimed_by): it lets a worker act on the job.
    fields = ("organization", "state", "moved", "total", "created_at", "finished_at")
    list_filter = ("state",)
    list_select_related = ("organization",)
