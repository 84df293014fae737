"""The audit trail of refused SAML logins (issue 16; bounded in review, docs/decisions.md).

A refusal about what a verified signature covers (a replay, the wrong audience, an unknown
user...) is a line of its own: only the identity provider could have made it. Any other refusal
(garbage, an unsigned or badly signed post, a login start past the proxy deadline) could come
from anyone, anonymously, as fast as they can post: those are written at most once per client
address (an IPv6 client's /64) and configuration a minute, and at most PER_CONFIG_LINES an hour
per configuration, the next line written saying how many were left out. The page answering
each post still shows its refusal. The counters live in the cache (settings.CACHES: Redis
shared by every worker, else each process's memory, which bounds each process alike).
"""

import ipaddress
from contextlib import suppress
from datetime import timedelta

from django.core.cache import cache

from certadmin import saml_acs
from certadmin.models import SamlSsoConfig
from orgs.services.audit import record_audit

SECTION_LOGIN = "Single Sign-On Login"
# One line per client address and configuration this often, at most...
PER_ADDRESS = timedelta(minutes=1)
# ... and this many lines per configuration an hour, whatever the number of addresses.
PER_CONFIG_LINES = 60
# How long the count of refusals left out waits for the next line that reports it.
SKIPPED_KEPT = timedelta(days=1)


def client_key(address: str | None) -> str:
    """An IPv4 address as it is, an IPv6 one as its /64 (a host is given a whole /64 and can
    take a new address in it for every post)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _prefix(config: SamlSsoConfig) -> str:
    return f"certadmin:saml-refused:{config.uuid}"


def _admitted(config: SamlSsoConfig, client: str | None) -> bool:
    """May a line be written for an unsigned refusal of `config` posted by `client` now?"""
    per_address = f"{_prefix(config)}:{client_key(client)}"
    if not cache.add(per_address, True, timeout=int(PER_ADDRESS.total_seconds())):
        return False
    lines = f"{_prefix(config)}:lines"
    cache.add(lines, 0, timeout=3600)
    try:
        return int(cache.incr(lines)) <= PER_CONFIG_LINES
    except ValueError:  # the hour ended between add() and incr()
        return True


def _count_skipped(config: SamlSsoConfig) -> None:
    skipped = f"{_prefix(config)}:skipped"
    cache.add(skipped, 0, timeout=int(SKIPPED_KEPT.total_seconds()))
    with suppress(ValueError):  # expired between add() and incr(): one fewer counted
        cache.incr(skipped)


def _take_skipped(config: SamlSsoConfig) -> int:
    skipped = f"{_prefix(config)}:skipped"
    count = int(cache.get(skipped, 0))
    if count:
        cache.delete(skipped)
    return count


def audit_refusal(
    config: SamlSsoConfig, refused: saml_acs.Refused, *, client: str | None, detail: str = ""
) -> None:
    """The samlLoginFailed line of a refusal, unless it is an unsigned one over the bound."""
    where = ""
    if not refused.signed:
        if not _admitted(config, client):
            _count_skipped(config)
            return
        skipped = _take_skipped(config)
        where = f" from {client_key(client)}" + (
            f" ({skipped} other refusal{'s' if skipped != 1 else ''} of unsigned or unreadable "
            "posts not recorded before this one)"
            if skipped
            else ""
        )
    record_audit(
        org=config.organization,
        acting_user=None,
        section=SECTION_LOGIN,
        action="samlLoginFailed",
        message=f"SAML login with {config.name} refused ({refused.code}){where}: "
        f"{refused.reason}{detail}",
    )
