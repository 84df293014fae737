from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.http import HttpRequest


class SuperuserAdminSite(admin.AdminSite):
    """The installation's console: superusers only. Org admins work in Setup."""

    site_header = "certadmin — superuser admin"
    site_title = "certadmin admin"
    index_title = "Installation"

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


class AdminConfig(DjangoAdminConfig):
    """The Django admin, open to active superusers only (INSTALLED_APPS names this)."""

    default_site = "orgs.admin_site.SuperuserAdminSite"


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A model the admin shows but never adds, changes or deletes: those writes go through
    the Setup services (checks, audit trail), or an admin action that calls them."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
