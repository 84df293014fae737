from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from orgs import permissions
from orgs.models import AuditEvent, Membership, Organization, PermissionSet, Profile


class TimeZoneInUseFilter(admin.SimpleListFilter):
    """The time zones the orgs use, not the ~600 the field may hold (issue 15)."""

    title = "time zone"
    parameter_name = "time_zone"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        zones = Organization.objects.order_by("time_zone").values_list("time_zone", flat=True)
        return [(zone, zone) for zone in zones.distinct()]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Organization]
    ) -> QuerySet[Organization]:
        return queryset.filter(time_zone=self.value()) if self.value() else queryset


def _permission_labels(codes: list[str]) -> str:
    """["manage_certificates"] -> "Manage Certificates", instead of the JSON list."""
    return ", ".join(permissions.label_of(code) for code in codes) or "—"


class MembershipInline(admin.TabularInline[Membership, Organization]):
    model = Membership
    extra = 0
    fields = ("user", "profile", "created_at")
    readonly_fields = ("user", "profile", "created_at")
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # members join through orgs.services.members.add_member (it syncs permissions)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ("name", "public_id", "time_zone", "created_at")
    search_fields = ("name", "public_id")
    list_filter = (TimeZoneInUseFilter,)
    readonly_fields = ("public_id", "created_at")
    inlines = [MembershipInline]

    def save_model(
        self, request: HttpRequest, obj: Organization, form: object, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        from orgs.services.organizations import create_organization

        created = create_organization(
            name=obj.name, time_zone=obj.time_zone, acting_user=request.user
        )
        obj.pk, obj.public_id, obj.created_at = created.pk, created.public_id, created.created_at


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin[Profile]):
    list_display = ("name", "organization", "is_standard")
    list_filter = ("is_standard",)
    list_select_related = ("organization",)
    search_fields = ("name", "organization__name", "organization__public_id")
    # Read-only: permission changes go through Setup (orgs.services), which keeps guardian's
    # grants in step and writes the audit trail.
    readonly_fields = ("organization", "name", "description", "permission_list", "is_standard")
    exclude = ("permissions",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Permissions")
    def permission_list(self, obj: Profile) -> str:
        return _permission_labels(obj.permissions)


@admin.register(PermissionSet)
class PermissionSetAdmin(admin.ModelAdmin[PermissionSet]):
    list_display = ("label", "api_name", "organization")
    list_select_related = ("organization",)
    search_fields = ("label", "api_name", "organization__name", "organization__public_id")
    readonly_fields = (
        "uuid",
        "organization",
        "label",
        "api_name",
        "description",
        "permission_list",
        "created_at",
    )  # as for profiles: changes go through Setup
    exclude = ("permissions",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Permissions")
    def permission_list(self, obj: PermissionSet) -> str:
        return _permission_labels(obj.permissions)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("user", "organization", "profile", "is_active")
    list_select_related = ("user", "organization", "profile")
    search_fields = ("user__username", "user__email", "organization__name")
    list_filter = ("profile__name", "is_active")
    readonly_fields = (
        "uuid",
        "organization",
        "user",
        "profile",
        "permission_sets",
        "is_active",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # through Setup or orgs.services, which keep guardian in step

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ("created_at", "organization", "actor_name", "section", "message")
    list_select_related = ("organization",)
    list_filter = ("section", "organization")
    search_fields = ("message", "actor_name", "organization__name", "organization__public_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
