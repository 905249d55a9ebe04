"""Whether a host is this machine: 127.0.0.0/8, ``::1`` or ``localhost``.

One answer for every place that asks it: the client (plain-http uploads and media
URLs only to loopback), the simulator (webhooks delivered only to loopback, media
fetched by plain http only from loopback) and the ``simulate`` command (served
only on loopback).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_https_or_loopback_http", "is_loopback_host", "is_loopback_url"]


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


def is_https_or_loopback_http(url: str) -> bool:
    """Whether ``url`` is ``https://`` to any host, or plain ``http://`` to a loopback host.

    Plain http is for the local simulator (its ``upload_url`` and ``download_url``
    when it serves on ``http://127.0.0.1``); anything that leaves this machine must
    be https.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme == "https":
        return bool(host)
    return is_loopback_url(url, schemes=("http",))
