"""Links of Setup pages without a reverse() per link.

reverse() costs 15-70 us, and a Setup page used to call it for each link of its tree and of
each row of its table. Here each URL name is reversed once per process (and per
URLconf and script prefix, all that reverse() depends on besides its arguments) with
placeholder arguments, then the org's public id and the object's uuid take their places. The
result is the string reverse() would give: both are letters, digits and hyphens, which
reverse() does not quote.
"""

from collections.abc import Callable
from functools import cache
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse

# No org has this public id: theirs start with "00D" (orgs.models.new_public_id).
ORG_PLACEHOLDER = "0RGPLACEH0LDER0RG0"
_OBJECT = UUID("00000000-0000-4000-8000-000000000000")
_OBJECT_STR = str(_OBJECT)


def current_urlconf() -> tuple[str, str]:
    """(URLconf, script prefix): what reverse() reads besides its arguments."""
    return get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()


@cache
def _url_template(name: str, with_object: bool, urlconf: str, script_prefix: str) -> str:
    args: list[Any] = [ORG_PLACEHOLDER, _OBJECT] if with_object else [ORG_PLACEHOLDER]
    return reverse(name, urlconf=urlconf, args=args)


@receiver(setting_changed)
def _forget_url_templates(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _url_template.cache_clear()


def org_url(name: str, org: str, urlconf: tuple[str, str] | None = None) -> str:
    """`reverse(name, args=[org])` for a URL taking the org's public id. `urlconf` saves
    reading current_urlconf() again when a caller builds many links."""
    template = _url_template(name, False, *(urlconf or current_urlconf()))
    return template.replace(ORG_PLACEHOLDER, org)


def object_link(name: str, org: str) -> Callable[[UUID | str], str]:
    """`link(uuid) == reverse(name, args=[org, uuid])` for a URL taking (org, uuid); `uuid`
    may be given as its string, when a row has several links."""
    template = _url_template(name, True, *current_urlconf()).replace(ORG_PLACEHOLDER, org)
    return lambda uuid: template.replace(_OBJECT_STR, str(uuid))
