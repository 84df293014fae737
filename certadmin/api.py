"""The JSON API (SPEC 5): an org's certificates under /api/v1/orgs/<org id>/.

Authenticated by per-user API tokens (`Authorization: Bearer cka_...`); users who hold Enforce
SSL/TLS Mutual Authentication must also come through the mutual-TLS listener with one of the
org's mutual authentication certificates (certadmin.mtls). Every answer is JSON, errors
included: never an HTML page, never a redirect to the login page, never a private key.
The OpenAPI description is certadmin/openapi.py.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Paginator
from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from certadmin import crypto, mtls, openapi
from certadmin.models import ApiToken, Certificate
from certadmin.services.tokens import authenticate_token
from orgs import permissions
from orgs.access import held_permissions
from orgs.models import Membership, Organization

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
_BEARER = re.compile(r"^Bearer +(\S{1,200})$", re.IGNORECASE)  # the scheme is case-insensitive
_REALM = 'Bearer realm="certadmin"'


class ApiError(Exception):
    """Raised inside API views; becomes a JSON error response."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> JsonResponse:
        return error_response(self.status, self.code, self.detail, self.headers, **self.extra)


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JsonResponse:
    body = {"status": status, "error": code, "detail": detail, **extra}
    return JsonResponse(body, status=status, headers=headers)


def api_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET/HEAD only, no session, no CSRF, no login redirect; every failure answered in JSON."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response: HttpResponse = error_response(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; this API is read-only (GET).",
                {"Allow": "GET, HEAD"},
            )
        else:
            try:
                response = view(request, *args, **kwargs)
            except ApiError as exc:
                response = exc.response()
            except Http404:
                response = error_response(404, "not_found", "Not found.")
            except PermissionDenied as exc:
                response = error_response(403, "permission_denied", str(exc) or "Forbidden.")
            except Exception:  # the API answers JSON even to its own bugs
                log.exception("API view %s failed", view.__name__)
                response = error_response(500, "internal_error", "Internal error.")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return csrf_exempt(login_not_required(wrapper))


# --- authentication ---------------------------------------------------------------------------


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


def authenticate(request: HttpRequest, org: str) -> ApiCaller:
    """The caller of an org-scoped API request, or an ApiError (401, 404).

    A token works only in the org it was made in; for any other org id the answer is the
    same 404 whether or not that org exists.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        raise ApiError(
            401,
            "missing_token",
            "Send your API token in the Authorization header: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": _REALM},
        )
    match = _BEARER.match(header)
    token = authenticate_token(match.group(1)) if match else None
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
        organization_id=token.organization_id, user=token.user
    ).exists():
        raise invalid  # the user has left the org: their tokens there stop working
    perms = held_permissions(token.user, token.organization)
    # Enforce is a restriction on org members; superusers (the operators) are not bound by it,
    # as they are never API Only either (orgs.access.held_permissions).
    if permissions.ENFORCE_MUTUAL_AUTHENTICATION.codename in perms and not token.user.is_superuser:
        refused = mtls.check_mutual_auth(mtls.client_tls(request), org=token.organization)
        if refused is not None:
            raise ApiError(
                401,
                refused.code,
                refused.message,
                headers={"WWW-Authenticate": f'{_REALM}, error="insufficient_user_authentication"'},
            )
    return ApiCaller(token, token.user, token.organization, perms)


# --- certificates -----------------------------------------------------------------------------

ORDERINGS = {
    "expires": (F("not_after").asc(nulls_last=True), "unique_name"),
    "-expires": (F("not_after").desc(nulls_last=True), "unique_name"),
    "unique_name": ("unique_name",),
    "-unique_name": ("-unique_name",),
    "label": ("label", "unique_name"),
    "-label": ("-label", "unique_name"),
    "created": ("created_at", "unique_name"),
    "-created": ("-created_at", "unique_name"),
}
_BOOL = [("true", "true"), ("false", "false")]


class CertificateFilterForm(forms.Form):
    """The query parameters of the certificate list; unknown parameters are an error."""

    page = forms.IntegerField(min_value=1, required=False)
    page_size = forms.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False)
    type = forms.ChoiceField(choices=Certificate.Kind.choices, required=False)
    status = forms.ChoiceField(
        choices=[("active", "active"), ("awaiting_signature", "awaiting_signature")],
        required=False,
    )
    expired = forms.ChoiceField(choices=_BOOL, required=False)
    expiring_within_days = forms.IntegerField(min_value=0, max_value=36500, required=False)
    expires_after = forms.DateTimeField(required=False)
    expires_before = forms.DateTimeField(required=False)
    search = forms.CharField(max_length=100, required=False, strip=True)
    ordering = forms.ChoiceField(choices=[(k, k) for k in ORDERINGS], required=False)

    def clean(self) -> dict[str, Any]:
        unknown = sorted(set(self.data) - set(self.fields))
        if unknown:
            raise forms.ValidationError(f"Unknown query parameter(s): {', '.join(unknown)}.")
        return super().clean() or {}


def _bad_request(form: forms.Form) -> ApiError:
    errors = {
        field or "query": [str(message) for message in messages]
        for field, messages in form.errors.items()
    }
    errors = {("query" if k == "__all__" else k): v for k, v in errors.items()}
    return ApiError(400, "invalid_query", "Some query parameters are not valid.", errors=errors)


def _filter(qs: QuerySet[Certificate], data: dict[str, Any]) -> QuerySet[Certificate]:
    now = timezone.now()
    if data.get("type"):
        qs = qs.of_kind(data["type"])
    if data.get("status") == "active":
        qs = qs.usable()
    elif data.get("status") == "awaiting_signature":
        qs = qs.awaiting_signature()
    if data.get("expired") == "true":
        qs = qs.expired(now=now)
    elif data.get("expired") == "false":
        qs = qs.usable().exclude(not_after__lte=now)
    if data.get("expiring_within_days") is not None:
        qs = qs.expiring_within(data["expiring_within_days"], now=now)
    if data.get("expires_after"):
        qs = qs.filter(not_after__gte=data["expires_after"])
    if data.get("expires_before"):
        qs = qs.filter(not_after__lt=data["expires_before"])
    if data.get("search"):
        qs = qs.filter(
            Q(unique_name__icontains=data["search"]) | Q(label__icontains=data["search"])
        )
    return qs.order_by(*ORDERINGS[data.get("ordering") or "expires"])


def _iso(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def certificate_json(cert: Certificate, *, base: str, now: datetime) -> dict[str, Any]:
    """The public facts of a certificate: never its private key. `base`: the list's path."""
    # Paths are built from the list's, not reverse()d per row: 100 reverse() calls were a
    # third of the time of a 50-row page.
    url = f"{base}{cert.uuid}/"
    return {
        "id": str(cert.uuid),
        "label": cert.label,
        "unique_name": cert.unique_name,
        "type": cert.kind,
        "type_label": cert.get_kind_display(),
        "key": cert.key_type,
        "key_label": cert.key_label,
        "exportable_private_key": cert.exportable,
        "status": "awaiting_signature" if cert.is_awaiting_signature else "active",
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "fingerprint_sha256": cert.fingerprint_sha256 or None,
        "not_before": _iso(cert.not_before),
        "not_after": _iso(cert.not_after),
        "expired": cert.is_expired(now),
        "days_until_expiry": cert.days_until_expiry(now),
        "created_at": _iso(cert.created_at),
        "modified_at": _iso(cert.modified_at),
        "url": url,
        "pem_url": None if cert.is_awaiting_signature else f"{url}pem",
    }


def _list_path(org: Organization) -> str:
    return reverse("api:certificate-list", args=[org.public_id])


def _page_url(request: HttpRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return f"{request.path}?{query.urlencode()}"


@api_view
def certificate_list(request: HttpRequest, org: str) -> HttpResponse:
    caller = authenticate(request, org)
    caller.require(permissions.MANAGE_CERTIFICATES)
    form = CertificateFilterForm(request.GET)
    if not form.is_valid():
        raise _bad_request(form)
    data = form.cleaned_data
    now = timezone.now()
    certificates = _filter(Certificate.objects.for_org(caller.org), data).defer(
        "private_key", "csr_pem", "chain_pem", "subject_fields"
    )
    paginator = Paginator(certificates, data.get("page_size") or DEFAULT_PAGE_SIZE)
    try:
        page = paginator.page(data.get("page") or 1)
    except EmptyPage as exc:
        raise ApiError(
            404, "invalid_page", f"There is no page {data.get('page')}.", count=paginator.count
        ) from exc
    body = {
        "count": paginator.count,
        "page": page.number,
        "page_size": paginator.per_page,
        "next": _page_url(request, page.next_page_number()) if page.has_next() else None,
        "previous": _page_url(request, page.previous_page_number())
        if page.has_previous()
        else None,
        "results": [
            certificate_json(cert, base=request.path, now=now) for cert in page.object_list
        ],
    }
    return JsonResponse(body)


def _get_certificate(caller: ApiCaller, uuid: Any) -> Certificate:
    """One certificate of the caller's org; another org's id is the same 404 as no id."""
    cert = (
        Certificate.objects.for_org(caller.org)
        .defer("private_key", "subject_fields")
        .filter(uuid=uuid)
        .first()
    )
    if cert is None:
        raise ApiError(404, "not_found", "No certificate with this id in this org.")
    return cert


@api_view
def certificate_detail(request: HttpRequest, org: str, certificate: Any) -> HttpResponse:
    caller = authenticate(request, org)
    caller.require(permissions.MANAGE_CERTIFICATES)
    cert = _get_certificate(caller, certificate)
    body = certificate_json(cert, base=_list_path(caller.org), now=timezone.now())
    chain = crypto.parse_certificates(cert.chain_pem.encode()) if cert.chain_pem else []
    body["chain"] = [
        {
            "subject": facts.subject,
            "issuer": facts.issuer,
            "serial": facts.serial,
            "not_before": _iso(facts.not_before),
            "not_after": _iso(facts.not_after),
            "fingerprint_sha256": facts.fingerprint.replace(":", "").lower(),
        }
        for facts in map(crypto.describe, chain)
    ]
    body["csr_available"] = bool(cert.csr_pem)
    return JsonResponse(body)


@api_view
def certificate_pem(request: HttpRequest, org: str, certificate: Any) -> HttpResponse:
    caller = authenticate(request, org)
    caller.require(permissions.MANAGE_CERTIFICATES)
    cert = _get_certificate(caller, certificate)
    if not cert.chain_pem:
        raise ApiError(
            409,
            "awaiting_signature",
            "This certificate is awaiting its signed certificate: there is no PEM yet.",
        )
    response = HttpResponse(cert.chain_pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{cert.download_name}"'
    return response


@api_view
def openapi_json(request: HttpRequest) -> HttpResponse:
    """The OpenAPI description; public, like the documentation it is."""
    return JsonResponse(openapi.document())


@api_view
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    raise ApiError(404, "not_found", "No such API endpoint. See /api/v1/openapi.json.")
