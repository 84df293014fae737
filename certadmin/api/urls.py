"""The JSON API, mounted at /api/. Every route answers JSON, unknown ones included."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, URLResolver, path, re_path
from django.views.decorators.csrf import csrf_exempt

from certadmin.api import api
from certadmin.api.errors import error_response

app_name = "api"

View = Callable[..., HttpResponseBase]


def read_only_json(view: View) -> View:
    """GET and HEAD only, as a JSON 405 otherwise; no session, CSRF or login redirect; never
    cached (answers carry certificates and refusals meant for one caller)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "GET":
            response = view(request, *args, **kwargs)
        elif request.method == "HEAD":
            # ninja routes GET only; HEAD is the GET's answer, whose body the server drops.
            request.method = "GET"
            try:
                response = view(request, *args, **kwargs)
            finally:
                request.method = "HEAD"
        else:
            response = error_response(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; this API is read-only (GET).",
                {"Allow": "GET, HEAD"},
            )
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return csrf_exempt(login_not_required(wrapper))


@read_only_json
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return error_response(404, "not_found", "No such API endpoint. See /api/v1/openapi.json.")


def _endpoints() -> list[URLPattern | URLResolver]:
    """ninja's routes, each behind read_only_json. Its root route (`api-root`, only there
    for ninja to find its prefix) is left out: the prefix is given where the document is made,
    and /api/ itself is a JSON 404 like any unknown path."""
    patterns, _, _ = api.urls
    return [
        path(str(pattern.pattern), read_only_json(pattern.callback), name=pattern.name)
        for pattern in patterns
        if isinstance(pattern, URLPattern) and pattern.name != "api-root"
    ]


urlpatterns = [
    *_endpoints(),
    # Last: anything else under /api/ is a JSON 404, not the HTML page (nor a slash redirect).
    re_path(r"^.*$", not_found),
]
