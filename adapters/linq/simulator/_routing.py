"""Route templates (``/v3/chats/{chatId}``), matching, and what a route handler receives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from adapters.linq.simulator._http import Request, Response
from adapters.linq.simulator.state import Account, Backend

__all__ = ["Call", "Handler", "Route", "Router"]


@attrs.frozen
class Call:
    """One matched API request: who asked, the path parameters, and the state to act on."""

    request: Request
    params: dict[str, str]
    account: Account
    backend: Backend
    trace_id: str

    def json(self, status: int, payload: dict[str, Any]) -> Response:
        """A JSON answer; every body carries the request's ``trace_id``."""
        return Response.json(status, {**payload, "trace_id": self.trace_id})

    def body(self) -> dict[str, Any]:
        return self.request.json_object()


Handler = Callable[[Call], Response]


@attrs.frozen
class Route:
    method: str
    template: str
    handler: Handler = attrs.field(eq=False)
    _segments: tuple[str, ...] = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_segments", tuple(self.template.strip("/").split("/")))

    @property
    def key(self) -> str:
        """``"POST /v3/chats/{chatId}/messages"``: how counters and faults name the route."""
        return f"{self.method} {self.template}"

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        if len(segments) != len(self._segments):
            return None
        params: dict[str, str] = {}
        for pattern, actual in zip(self._segments, segments, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not actual:
                    return None
                params[pattern[1:-1]] = actual
            elif pattern != actual:
                return None
        return params


@attrs.frozen
class Router:
    routes: tuple[Route, ...]

    def resolve(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """``(route, params, path_known)``: ``path_known`` tells 405 from 404."""
        segments = path.strip("/").split("/")
        known = False
        for route in self.routes:
            params = route.match(segments)
            if params is None:
                continue
            known = True
            if route.method == method:
                return route, params, True
        return None, {}, known
