"""The address a request came from when reverse proxies (nginx) stand in front of gunicorn.

Behind a proxy every TCP peer is the proxy, so throttling logins by REMOTE_ADDR would lock one
user's mistakes onto everyone. The client's own address is taken from `X-Forwarded-For` only
when the TCP peer is one of settings.CERTADMIN_TRUSTED_PROXIES; from anyone else that header is
whatever the client wrote, and REMOTE_ADDR stands. Reading the header is django-ipware's job:
the shipped nginx config sets it to `$remote_addr` (one address, anything the client sent is
replaced); a proxy that appends instead (`$proxy_add_x_forwarded_for`) leaves the client's
own additions on the left, so the right-most address, the one our proxy saw, is the one taken.
"""

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def is_trusted(address: str | None, entries: Iterable[str]) -> bool:
    """Is `address` (a TCP peer) inside one of `entries` (addresses or networks)?"""
    entries = tuple(entries)
    if not entries or not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(entries))


def client_address(request: HttpRequest) -> str | None:
    """The client's address: X-Forwarded-For's from a trusted proxy, else the TCP peer's.

    django-axes calls this (settings.AXES_CLIENT_IP_CALLABLE) for every login attempt.
    """
    peer = request.META.get("REMOTE_ADDR")
    if not is_trusted(peer, settings.CERTADMIN_TRUSTED_PROXIES):
        return peer
    # proxy_count=0: the client is the last address of the chain (see the module docstring).
    forwarded, _routable = get_client_ip(
        request,
        proxy_count=0,
        request_header_order=["HTTP_X_FORWARDED_FOR"],
        strict=False,
    )
    return forwarded or peer
