"""What Linq's 0.65 API has that this branch does not yet, because other branches bring it.

One table for the SDK oracle (``tests/linq/sdk_oracle``: operations and
deliveries the SDK still refuses) and for the operations table of
``docs/linq.md`` (``tests/linq/client/test_operations_doc.py``: client methods
not written yet). Keys: ``"METHOD /path"`` (an operation), ``"event@version"``
(a delivery) or ``"method name"`` (a ``LinqClient`` method).
"""

from __future__ import annotations

__all__ = ["KNOWN_GAPS"]

KNOWN_GAPS: dict[str, str] = {
    # Chat objects lack health_status {status, doc_url, updated_at}: branch `optout`.
    "POST /v3/chats": "chat lacks health_status (optout)",
    "GET /v3/chats": "chat lacks health_status (optout)",
    "GET /v3/chats/{chatId}": "chat lacks health_status (optout)",
    "chat.created@2025-01-01": "chat lacks health_status (optout)",
    "chat.created@2026-02-03": "chat lacks health_status (optout)",
    "message.sent@2026-02-03": "data.chat lacks health_status (optout)",
    "message.received@2026-02-03": "data.chat lacks health_status (optout)",
    "message.delivered@2026-02-03": "data.chat lacks health_status (optout)",
    "message.read@2026-02-03": "data.chat lacks health_status (optout)",
    "message.edited@2026-02-03": "data.chat lacks health_status (optout)",
    # Not served here yet (404): blocked handles come with branch `optout`, polls with `polls`.
    "GET /v3/blocked_handles": "not served yet (optout)",
    "POST /v3/blocked_handles": "not served yet (optout)",
    "DELETE /v3/blocked_handles": "not served yet (optout)",
    "POST /v3/chats/{chatId}/polls": "not served yet (polls)",
    "GET /v3/messages/{messageId}/poll": "not served yet (polls)",
    "POST /v3/messages/{messageId}/poll/options": "not served yet (polls)",
    "POST /v3/messages/{messageId}/poll/votes": "not served yet (polls)",
    # LinqClient methods the docs table names, written by those branches.
    "method list_blocked_handles": "written by the optout branch",
    "method block_handle": "written by the optout branch",
    "method unblock_handle": "written by the optout branch",
    "method create_poll": "written by the polls branch",
    "method get_poll": "written by the polls branch",
    "method add_poll_options": "written by the polls branch",
    "method vote_poll": "written by the polls branch",
}
