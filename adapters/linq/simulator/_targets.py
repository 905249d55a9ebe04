"""Where the simulator may deliver webhooks, and which payload version a target asks for.

A subscription's target must be on loopback (``127.0.0.0/8``, ``localhost``,
``::1``): the simulator never posts anywhere else. ``?version=`` on the target
picks the payload version (``2025-01-01`` or ``2026-02-03``, the default).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from adapters.linq.event_types import WEBHOOK_VERSIONS
from adapters.linq.loopback import is_loopback_url
from adapters.linq.simulator._errors import bad_request

__all__ = ["DEFAULT_VERSION", "VERSIONS", "is_loopback_url", "version_of"]

VERSIONS = WEBHOOK_VERSIONS
DEFAULT_VERSION = "2026-02-03"


def version_of(url: str) -> str:
    """The payload version a target URL asks for; 400 for a version that does not exist."""
    asked = parse_qs(urlsplit(url).query).get("version")
    if not asked:
        return DEFAULT_VERSION
    if asked[-1] not in VERSIONS:
        raise bad_request(f"target_url: version must be one of {', '.join(VERSIONS)}")
    return asked[-1]
