"""Who calls the API: a per-user API token (`Authorization: Bearer cka_...`) made in the org
named by the URL; users who hold Enforce SSL/TLS Mutual Authentication must also come through
the mutual-TLS listener with one of the org's mutual authentication certificates
(certadmin.mtls). Then the permission the endpoint needs."""

import re
from dataclasses import dataclass
from typing import cast

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from certadmin import mtls
from certadmin.api.errors import ApiError, ErrorCode
from certadmin.models import ApiToken
from certadmin.services.tokens import authenticate_token
from orgs import permissions
from orgs.access import held_permissions
from orgs.models import Membership, Organization

_BEARER = re.compile(r"^Bearer +(\S{1,200})$", re.IGNORECASE)  # the scheme is case-insensitive
_REALM = 'Bearer realm="certadmin"'


@dataclass(frozen=True)
class ApiCaller:
    token: ApiToken
    user: User
    org: Organization
    perms: frozenset[str]

    def require(self, perm: permissions.Perm) -> None:
        if perm.codename not in self.perms:
            raise ApiError(
                403,
                "permission_denied",
                f"You need the “{perm.label}” permission to do this.",
                permission=perm.codename,
            )


class ApiRequest(HttpRequest):
    """An HttpRequest that has passed TokenAuth (ninja sets `auth`)."""

    auth: ApiCaller


class TokenAuth(HttpBearer):
    """The API token of a member of the URL's org who holds `permission`, or a JSON 401/403/404.

    The order of the checks is the contract: token, then the org (a token works only in the
    org it was made in, and for any other org id the answer is the same 404 whether or not
    that org exists), then mutual TLS, then the permission, before any query parameter is read.
    """

    openapi_description = (
        "An API token: `cka_<id>_<secret>` (Setup → My Settings → API Tokens). Users who hold "
        "Enforce SSL/TLS Mutual Authentication must also call the mutual-TLS listener and "
        "present one of the org's mutual authentication certificates."
    )

    def __init__(self, permission: permissions.Perm) -> None:
        super().__init__()
        self.permission = permission

    def __call__(self, request: HttpRequest) -> ApiCaller:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            raise ApiError(
                401,
                "missing_token",
                "Send your API token in the Authorization header: Authorization: Bearer <token>.",
                headers={"WWW-Authenticate": _REALM},
            )
        match = _BEARER.match(header)
        return self.authenticate(request, match.group(1) if match else "")

    def authenticate(self, request: HttpRequest, token: str) -> ApiCaller:
        # ninja hands authentication the request only; the org is the URL's, which Django
        # resolved before calling the view.
        assert request.resolver_match is not None
        caller = authenticate(request, token, org=request.resolver_match.kwargs["org"])
        caller.require(self.permission)
        return caller


def authenticate(request: HttpRequest, presented: str, *, org: str) -> ApiCaller:
    """The caller that the token `presented` stands for in `org` (public id), or an ApiError."""
    token = authenticate_token(presented) if presented else None
    invalid = ApiError(
        401,
        "invalid_token",
        "The API token is not valid: unknown, revoked or expired.",
        headers={"WWW-Authenticate": f'{_REALM}, error="invalid_token"'},
    )
    if token is None:
        raise invalid
    if token.organization.public_id != org:
        raise ApiError(404, "not_found", "No such organization for this token.")
    if not Membership.objects.filter(
        organization_id=token.organization_id, user=token.user, is_active=True
    ).exists():
        raise invalid  # the user left the org or was deactivated: their tokens stop working
    perms = held_permissions(token.user, token.organization)
    # Enforce is a restriction on org members; superusers (the operators) are not bound by it,
    # as they are never API Only either (orgs.access.held_permissions).
    if permissions.ENFORCE_MUTUAL_AUTHENTICATION.codename in perms and not token.user.is_superuser:
        refused = mtls.check_mutual_auth(mtls.client_tls(request), org=token.organization)
        if refused is not None:
            raise ApiError(
                401,
                cast(ErrorCode, refused.code),  # tests/api/test_openapi.py: all are listed
                refused.message,
                headers={"WWW-Authenticate": f'{_REALM}, error="insufficient_user_authentication"'},
            )
    return ApiCaller(token, token.user, token.organization, perms)
