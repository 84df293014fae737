"""Tenancy and permissions: the one gate every Setup view, API view and service asks.

Other org's objects are a 404 (their existence is never revealed); a missing permission is a
403 that names the permission. No other app module imports guardian.
"""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils import timezone
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm, get_perms, get_users_with_perms, remove_perm

from orgs import permissions
from orgs.http import OrgRequest
from orgs.links import request_base_url
from orgs.models import Membership, Organization

M = TypeVar("M", bound=models.Model)
R = TypeVar("R", bound=HttpResponseBase)  # what the view answers: a page, a stream, a file
QS = TypeVar("QS", bound=QuerySet[Any])  # a model's own QuerySet class, its named reads kept


# Set by a single sign-on login (certadmin.views.sso_login): the session may open that org only.
SSO_ORG_SESSION_KEY = "certadmin_sso_org"


class MissingPermission(PermissionDenied):
    """403 naming the permission; templates/403.html shows `exception.label`."""

    def __init__(self, perm: str) -> None:
        self.perm = perm
        self.label = permissions.label_of(perm)
        super().__init__(f"You need the “{self.label}” permission to do this.")


def org_member_required(view: Callable[..., R]) -> Callable[..., R]:
    """Resolve the <org> URL segment to the user's membership, or 404.

    The view runs with the org's time zone as the current one, so every date it shows is
    in the org's zone (orgs.clock).

    The user's permissions in the org are read once here (request.perms). API Only users
    are refused Setup pages with a 403 (SPEC 5).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, org: str, *args: Any, **kwargs: Any) -> R:
        # LoginRequiredMiddleware has already sent anonymous users to the login page.
        pinned = request.session.get(SSO_ORG_SESSION_KEY) if hasattr(request, "session") else None
        if pinned is not None and pinned != org:
            raise Http404("No such organization.")  # logged in by another org's SSO
        membership = _membership(org, cast(int, request.user.pk))
        if membership is None:
            raise Http404("No such organization.")
        if not membership.is_active:
            raise PermissionDenied(
                f"Your user in {membership.organization.name} is deactivated. "
                "Ask one of its administrators to reactivate it."
            )
        org_request = cast(OrgRequest, request)
        org_request.org = membership.organization
        org_request.membership = membership
        org_request.perms = held_permissions(org_request.user, membership.organization)
        if permissions.API_ONLY_USER.codename in org_request.perms:
            raise PermissionDenied("API Only users cannot use the Setup pages.")
        _remember_base_url(membership.organization, request)
        # Dates on the org's pages are in the org's time zone (orgs.clock).
        with timezone.override(membership.organization.tzinfo):
            return view(org_request, *args, **kwargs)

    return wrapper


def _remember_base_url(org: Organization, request: HttpRequest) -> None:
    """Record the scheme and host the org's pages are served on, for the links of emails sent
    later without a request (orgs.links.base_url): one UPDATE, only when it changed."""
    base = request_base_url(request)[: Organization._meta.get_field("served_at_url").max_length]
    if org.served_at_url != base:
        Organization.objects.filter(pk=org.pk).update(served_at_url=base)
        org.served_at_url = base


def _membership(org_public_id: str, user_id: int) -> Membership | None:
    """The user's membership of the org, its organization and profile loaded (one query);
    None when the org does not exist or the user is not a member."""
    return (
        Membership.objects.select_related("organization", "profile")
        .filter(organization__public_id=org_public_id, user_id=user_id)
        .first()
    )


def held_permissions(user: AbstractBaseUser | AnonymousUser, org: Organization) -> frozenset[str]:
    """Codenames of the catalogue that `user` holds in `org`.

    Superusers hold every permission except API Only User, which is a restriction.
    """
    if not user.is_active:
        return frozenset()
    if getattr(user, "is_superuser", False):
        return frozenset(permissions.BY_CODENAME) - {permissions.API_ONLY_USER.codename}
    # One query on guardian's table (get_perms() also asks about groups, which we never
    # grant), through its default manager.
    codenames = UserObjectPermission.objects.filter(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(Organization),
        object_pk=str(org.pk),
    ).values_list("permission__codename", flat=True)
    return frozenset(codenames) & frozenset(permissions.BY_CODENAME)


def has_org_perm(user: AbstractBaseUser | AnonymousUser, perm: str, org: Organization) -> bool:
    """Does `user` hold `perm` ("orgs.<codename>") in `org`?"""
    return perm.removeprefix("orgs.") in held_permissions(user, org)


def require_org_perm(request: OrgRequest, perm: str) -> None:
    """Raise 403 naming `perm` unless the user holds it in the current org."""
    if perm.removeprefix("orgs.") not in request.perms:
        raise MissingPermission(perm)


def org_perm_flags(request: OrgRequest) -> dict[str, bool]:
    """{"manage_certificates": True, ...} for templates, from what the gate already read."""
    return {perm.codename: perm.codename in request.perms for perm in permissions.CATALOGUE}


def get_for_member(
    request: OrgRequest, queryset: QuerySet[M], perm: str | None, **lookup: Any
) -> M:
    """One object of the current org; 404 for other orgs, 403 without `perm` (if given)."""
    if perm is not None:
        require_org_perm(request, perm)
    scoped = queryset.filter(organization=request.org).select_related("organization")
    return get_object_or_404(scoped, **lookup)


def visible_to_member(request: OrgRequest, queryset: QS, perm: str | None) -> QS:
    """Objects of the current org, once the user is known to hold `perm` (list pages)."""
    if perm is not None:
        require_org_perm(request, perm)
    return queryset.filter(organization=request.org)


def sync_member_permissions(membership: Membership) -> frozenset[str]:
    """Make the user's guardian permissions on the org equal profile + permission sets.

    The one place effective permissions are computed (SPEC 1). Returns the codenames held:
    none while the membership is deactivated.
    """
    wanted = (
        permissions.effective_codenames(
            [membership.profile.permissions]
            + [pset.permissions for pset in membership.permission_sets.all()]
        )
        if membership.is_active
        else frozenset()
    )
    org, user = membership.organization, membership.user
    current = set(get_perms(user, org)) & set(permissions.BY_CODENAME)
    for code in wanted - current:
        assign_perm(f"orgs.{code}", user, org)
    for code in current - wanted:
        remove_perm(f"orgs.{code}", user, org)
    return wanted


def revoke_all_permissions(user: User, org: Organization) -> None:
    """Used when a membership ends."""
    for code in set(get_perms(user, org)) & set(permissions.BY_CODENAME):
        remove_perm(f"orgs.{code}", user, org)


def users_holding(org: Organization, perm: str) -> QuerySet[User]:
    """Active users who hold `perm` in `org` (directly granted, not as superusers)."""
    codename = perm.removeprefix("orgs.")
    users = get_users_with_perms(
        org, only_with_perms_in=[codename], with_superusers=False, with_group_users=False
    )
    return cast(QuerySet[User], users).filter(is_active=True)


def memberships_of(user: User) -> Iterable[Membership]:
    """The user's active memberships, for the org switcher."""
    return Membership.objects.filter(user=user, is_active=True).select_related("organization")
