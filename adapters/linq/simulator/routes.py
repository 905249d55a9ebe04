"""Every API route the simulator serves, by method and path template under ``/api/partner``."""

from __future__ import annotations

from adapters.linq.simulator._routes_account import ACCOUNT_ROUTES
from adapters.linq.simulator._routes_blocked import BLOCKED_ROUTES
from adapters.linq.simulator._routes_chat_extras import CHAT_EXTRA_ROUTES
from adapters.linq.simulator._routes_chats import CHAT_ROUTES
from adapters.linq.simulator._routes_lines import LINE_ROUTES
from adapters.linq.simulator._routes_message_extras import MESSAGE_EXTRA_ROUTES
from adapters.linq.simulator._routes_messages import MESSAGE_ROUTES
from adapters.linq.simulator._routes_polls import POLL_ROUTES
from adapters.linq.simulator._routes_webhooks import WEBHOOK_ROUTES
from adapters.linq.simulator._routing import Route
from adapters.linq.simulator._uploads import UPLOAD_ROUTES

__all__ = ["ROUTES", "route_keys"]

ROUTES: tuple[Route, ...] = (
    *CHAT_ROUTES,
    *MESSAGE_ROUTES,
    *POLL_ROUTES,
    *UPLOAD_ROUTES,
    *ACCOUNT_ROUTES,
    *WEBHOOK_ROUTES,
    *BLOCKED_ROUTES,
    *CHAT_EXTRA_ROUTES,
    *MESSAGE_EXTRA_ROUTES,
    *LINE_ROUTES,
)


def route_keys() -> list[str]:
    """``"POST /v3/chats"`` and so on: the names faults and counters use."""
    return [route.key for route in ROUTES]
