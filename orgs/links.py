"""Links without a reverse() per link: the one "reverse once, substitute the ids" helper.

reverse() costs 15-70 us, and a Setup page (or an expiry digest, or a where-used list) used to
call it for each link of its tree and of each row of its table. Here each URL is reversed once
per process (and per URLconf and script prefix, all that reverse() depends on besides its
arguments) with placeholder arguments, then the org's public id and the object's uuid take
their places. The result is the string reverse() would give: both are letters, digits and
hyphens, which reverse() does not quote.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.urls import get_script_prefix, get_urlconf, reverse

if TYPE_CHECKING:
    from orgs.models import Organization

# (org public id, object uuid) -> the path of a page; calls reverse().
PathBuilder = Callable[[str, UUID], str]

# No org has this public id: theirs start with "00D" (orgs.models.new_public_id).
ORG_PLACEHOLDER = "0RGPLACEH0LDER0RG0"
_OBJECT = UUID("00000000-0000-4000-8000-000000000000")
_OBJECT_STR = str(_OBJECT)


def current_urlconf() -> tuple[str, str]:
    """(URLconf, script prefix): what reverse() reads besides its arguments."""
    return get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()


@cache
def _template(build: PathBuilder, urlconf: str, script_prefix: str) -> str:
    """`build`'s path for the placeholders; `urlconf` and `script_prefix` key the cache."""
    return build(ORG_PLACEHOLDER, _OBJECT)


@cache
def _by_name(name: str, with_object: bool) -> PathBuilder:
    """The PathBuilder of a URL name taking (org) or (org, uuid): one per name, so that
    `_template`'s cache holds one entry per name."""
    if with_object:
        return lambda org, ref: reverse(name, args=[org, ref])
    return lambda org, ref: reverse(name, args=[org])


@receiver(setting_changed)
def _forget_url_templates(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _template.cache_clear()


def path_builder(
    build: PathBuilder, urlconf: tuple[str, str] | None = None
) -> Callable[[str, UUID | str], str]:
    """`link(org, uuid) == build(org, uuid)`, `build` being called once (per process and
    URLconf). `build` must put the org and the uuid in the path as they are (reverse() of a
    str / uuid converter does); it may leave either out. `uuid` may be given as its string;
    `urlconf` saves reading current_urlconf() again when a caller builds many links."""
    template = _template(build, *(urlconf or current_urlconf()))
    return lambda org, ref: template.replace(ORG_PLACEHOLDER, org).replace(_OBJECT_STR, str(ref))


def org_url(name: str, org: str, urlconf: tuple[str, str] | None = None) -> str:
    """`reverse(name, args=[org])` for a URL taking the org's public id. `urlconf` saves
    reading current_urlconf() again when a caller builds many links."""
    template = _template(_by_name(name, False), *(urlconf or current_urlconf()))
    return template.replace(ORG_PLACEHOLDER, org)


def object_link(name: str, org: str) -> Callable[[UUID | str], str]:
    """`link(uuid) == reverse(name, args=[org, uuid])` for a URL taking (org, uuid); `uuid`
    may be given as its string, when a row has several links."""
    template = _template(_by_name(name, True), *current_urlconf()).replace(ORG_PLACEHOLDER, org)
    return lambda uuid: template.replace(_OBJECT_STR, str(uuid))


# --- Absolute URLs (issue 15: links use the host the user used) -------------------------------

# The request being answered, set by RequestBaseUrlMiddleware: absolute URLs built while
# answering it (SAML entity ids, ACS URL, AuthnRequest, login URL) use its scheme and host.
_request: ContextVar[HttpRequest | None] = ContextVar("certadmin_request", default=None)
# Where links point when nothing else says: no request, no SITE_URL, the org never served.
LAST_RESORT_BASE_URL = "http://127.0.0.1:8000"


class RequestBaseUrlMiddleware:
    """Make the request's scheme and host (validated by ALLOWED_HOSTS) the base of the
    absolute URLs built while answering it (`base_url`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with answering(request):
            return self.get_response(request)


@contextmanager
def answering(request: HttpRequest) -> Iterator[None]:
    """Absolute URLs built inside start with `request`'s scheme and host."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


def request_base_url(request: HttpRequest) -> str:
    """`https://host:port` of `request` (no trailing slash)."""
    return request.build_absolute_uri("/").rstrip("/")


def base_url(org: "Organization | None" = None) -> str:
    """The scheme and host absolute links start with (no trailing slash).

    While answering a request: the host the user used. Without one (the notification job's
    emails): SITE_URL when it is set; else the base the org was last served on
    (`Organization.served_at_url`, recorded by orgs.access); else LAST_RESORT_BASE_URL.
    """
    request = _request.get()
    if request is not None:
        return request_base_url(request)
    if settings.SITE_URL:
        return str(settings.SITE_URL)
    if org is not None and org.served_at_url:
        return org.served_at_url
    return LAST_RESORT_BASE_URL


def absolute(path: str, org: "Organization | None" = None) -> str:
    """`path` (from reverse()) as an absolute URL: `base_url(org) + path`."""
    return base_url(org) + path
