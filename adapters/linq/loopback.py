"""Whether a host is this machine: 127.0.0.0/8, ``::1`` or ``localhost``.

One answer for the three places that ask it: the client (plain-http uploads only
to loopback), the simulator (webhooks delivered only to loopback) and the
``simulate`` command (served only on loopback).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_loopback_host", "is_loopback_url"]


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` (a name or an IP address, no port) is loopback."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str, *, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    """Whether ``url`` has one of ``schemes`` and a loopback host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in schemes and is_loopback_host(host)
