"""The blocklist: ``GET/POST/DELETE /v3/blocked_handles`` (one per account, on every line).

Linq drops inbound from a blocked handle before any webhook and refuses direct
sends to it with 403 / 2026; both are the World's rules. Blocking again returns
the existing entry; the handle comes back normalized; the list is newest first.
"""

from __future__ import annotations

from typing import Any

from adapters.linq.simulator import _wire
from adapters.linq.simulator._errors import bad_request
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._parse import parse_handle
from adapters.linq.simulator._routing import Call, Route
from caresupport_transport.model import BlockedHandle

__all__ = ["BLOCKED_ROUTES"]


def _entry(entry: BlockedHandle) -> dict[str, Any]:
    return {
        "handle": entry.handle.value,
        "blocked_at": _wire.iso(entry.blocked_at),
        "reason": entry.reason,
    }


def list_blocked(call: Call) -> Response:
    world = call.backend.primary
    return call.json(200, {"blocked_handles": [_entry(e) for e in world.blocked()]})


def block(call: Call) -> Response:
    body = call.body()
    handle = parse_handle(body.get("handle"), "handle")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise bad_request("reason must be a string")
    entry = call.backend.primary.block(handle, reason=reason)
    return call.json(200, {"blocked_handle": _entry(entry)})


def unblock(call: Call) -> Response:
    handle = parse_handle(call.body().get("handle"), "handle")
    call.backend.primary.unblock(handle)
    return Response.empty()


BLOCKED_ROUTES = (
    Route("GET", "/v3/blocked_handles", list_blocked),
    Route("POST", "/v3/blocked_handles", block),
    Route("DELETE", "/v3/blocked_handles", unblock),
)
