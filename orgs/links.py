"""Links without a reverse() per link: the one "reverse once, substitute the ids" helper.

reverse() costs 15-70 us, and a Setup page (or an expiry digest, or a where-used list) used to
call it for each link of its tree and of each row of its table. Here each URL is reversed once
per process (and per URLconf and script prefix, all that reverse() depends on besides its
arguments) with placeholder arguments, then the org's public id and the object's uuid take
their places. The result is the string reverse() would give: both are letters, digits and
hyphens, which reverse() does not quote.
"""

from collections.abc import Callable
from functools import cache
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse

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
