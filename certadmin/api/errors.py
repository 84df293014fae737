"""The API's error answers: JSON `{"status", "error", "detail"}` (and `permission`, `errors` or
`count` where they help), never an HTML page, never a redirect to the login page."""

import logging
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

log = logging.getLogger(__name__)

# Every `error` the API answers. The Error schema lists them for the OpenAPI document, and
# ApiError takes nothing else, so a new code cannot be left out of it.
ErrorCode = Literal[
    "missing_token",
    "invalid_token",
    "not_mtls_listener",
    "no_client_certificate",
    "unknown_certificate",
    "certificate_of_another_org",
    "certificate_expired",
    "certificate_not_yet_valid",
    "permission_denied",
    "not_found",
    "invalid_page",
    "invalid_query",
    "awaiting_signature",
    "method_not_allowed",
    "internal_error",
]


class ApiError(Exception):
    """Raised by the API's code; answered as a JSON error (see install_handlers)."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
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
    status: int,
    code: ErrorCode,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    body = {"status": status, "error": code, "detail": detail, **extra}
    return JsonResponse(body, status=status, headers=headers)


def invalid_query(errors: dict[str, list[str]]) -> ApiError:
    return ApiError(400, "invalid_query", "Some query parameters are not valid.", errors=errors)


def _api_error(request: HttpRequest, exc: ApiError) -> JsonResponse:
    return exc.response()


def _validation_error(request: HttpRequest, exc: ValidationError) -> JsonResponse:
    """Query parameters that do not validate, keyed by parameter (`query`: the query itself)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        # loc is (<source>, <parameter>): ("query", "page").
        loc = error.get("loc", ())
        key = str(loc[1]) if len(loc) > 1 else "query"
        errors.setdefault(key, []).append(str(error.get("msg", "Not valid.")))
    return invalid_query(errors).response()


def _not_found(request: HttpRequest, exc: Http404) -> JsonResponse:
    return error_response(404, "not_found", "Not found.")


def _permission_denied(request: HttpRequest, exc: PermissionDenied) -> JsonResponse:
    return error_response(403, "permission_denied", str(exc) or "Forbidden.")


def _internal_error(request: HttpRequest, exc: Exception) -> JsonResponse:
    # The API answers JSON even to its own bugs; the traceback goes to the log.
    log.error("API request %s failed", request.path, exc_info=exc)
    return error_response(500, "internal_error", "Internal error.")


def install_handlers(api: NinjaAPI) -> None:
    """Answer every exception an endpoint (or the authentication) raises in JSON."""
    # exception_handler() rather than add_exception_handler(): the latter's annotation wants
    # handlers that also take exception classes, which ninja never passes.
    api.exception_handler(ApiError)(_api_error)
    api.exception_handler(ValidationError)(_validation_error)
    api.exception_handler(Http404)(_not_found)
    api.exception_handler(PermissionDenied)(_permission_denied)
    api.exception_handler(Exception)(_internal_error)
