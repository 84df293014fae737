"""`{% load clock %}`: the one date format of the pages (orgs.clock).

{{ moment|when }}      2026-12-07 13:18 CET   (the current zone: the org's on Setup pages)
{{ moment|day }}       2026-12-07
{{ moment|expiry }}    expires tomorrow / expired 3 days ago
"""

from datetime import datetime

from django import template
from django.utils import timezone

from orgs import clock

register = template.Library()


@register.filter
def when(moment: datetime | None) -> str:
    return clock.when(moment)


@register.filter
def day(moment: datetime | None) -> str:
    return clock.day(moment)


@register.filter
def expiry(moment: datetime | None) -> str:
    return "" if moment is None else clock.expiry_phrase(moment, timezone.get_current_timezone())
