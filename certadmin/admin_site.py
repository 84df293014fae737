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

    default_site = "certadmin.admin_site.SuperuserAdminSite"
