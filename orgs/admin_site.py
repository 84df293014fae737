from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.contrib.admin.views.main import ChangeList
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

_M = TypeVar("_M", bound=models.Model)


class SuperuserAdminSite(admin.AdminSite):
    """The installation's console: superusers only. Org admins work in Setup."""

    site_header = "certadmin — superuser admin"
    site_title = "certadmin admin"
    index_title = "Installation"

    def has_permission(self, request: HttpRequest) -> bool:
        # A session an org's single sign-on opened is that org's only (orgs.access), never
        # the installation's, whoever it logged in. (Imported here: INSTALLED_APPS loads this
        # module before the models orgs.access needs.)
        from orgs.access import SSO_ORG_SESSION_KEY

        pinned = hasattr(request, "session") and request.session.get(SSO_ORG_SESSION_KEY)
        return bool(request.user.is_active and request.user.is_superuser and not pinned)


class AdminConfig(DjangoAdminConfig):
    """The Django admin, open to active superusers only (INSTALLED_APPS names this)."""

    default_site = "orgs.admin_site.SuperuserAdminSite"


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    """A model the admin shows but never adds, changes or deletes: those writes go through
    the Setup services (checks, audit trail), or an admin action that calls them."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class _DeferringChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        queryset = super().get_queryset(request, exclude_parameters)
        deferred: tuple[str, ...] = getattr(self.model_admin, "list_deferred", ())
        return queryset.defer(*deferred)


class ListDeferredMixin:
    """A ModelAdmin mixin: the changelist does not read the `list_deferred` columns (sealed
    keys, PEM chains and requests, also through `list_select_related`).

    A changelist shows a few short columns, yet Django selects every column of every row:
    100 sealed keys and chains a page, which the admin never shows (and must not read for a
    list), and which made PostgreSQL sort on disk for deep pages of a big org (issue 14).
    Change pages still load the whole row; actions receive rows without these columns, which
    load on access.
    """

    list_deferred: tuple[str, ...] = ()

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _DeferringChangeList
