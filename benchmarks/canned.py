"""What every peer sends and what the local server answers, shared by both sides.

The answers have the shapes of Linq's documented examples (``SendMessageResponse``
for a send, ``ListChatsResult`` for a page of chats), with realistic values, so
each client decodes what it would decode in production.
"""

from __future__ import annotations

import json
from typing import Any

API_TOKEN = "bench-token-0123456789abcdef"
CHAT_ID = "8f392755-6865-4b18-880a-227f9d8b458f"
SENDER_LINE = "+12025551234"
TEXT = (
    "Reminder: Mom's 8am pills are in the blue box by the kettle. Reply DONE once she has had them."
)
API_PREFIX = "/api/partner"
SEND_PATH = f"{API_PREFIX}/v3/chats/{CHAT_ID}/messages"


def send_body(idempotency_key: str) -> dict[str, Any]:
    """The JSON body of a plain text send, exactly as ``LinqClient.send_message`` writes it."""
    return {
        "message": {
            "parts": [{"type": "text", "value": TEXT}],
            "idempotency_key": idempotency_key,
        }
    }


def _handle(handle_id: str, handle: str, *, is_me: bool) -> dict[str, Any]:
    return {
        "id": handle_id,
        "handle": handle,
        "service": "iMessage",
        "status": "active",
        "joined_at": "2026-01-04T05:48:51.321Z",
        "is_me": is_me,
    }


def send_reply(chat_id: str) -> bytes:
    """A ``202`` answer to a send: the chat id and the message as queued."""
    answer = {
        "chat_id": chat_id,
        "message": {
            "id": "69a37c7d-af4f-4b5e-af42-e28e98ce873a",
            "service": "iMessage",
            "preferred_service": None,
            "parts": [{"type": "text", "value": TEXT}],
            "sent_at": "2026-02-05T19:31:13.074Z",
            "delivered_at": None,
            "delivery_status": "pending",
            "is_read": False,
            "effect": None,
            "from_handle": _handle("6d6c617f-187a-4dcd-a0d5-988347a8c092", SENDER_LINE, is_me=True),
            "reply_to": None,
        },
    }
    return json.dumps(answer, separators=(",", ":")).encode()


def chat(index: int) -> dict[str, Any]:
    """The ``index``-th chat of a long listing: a 1:1 chat of the line with one family member."""
    other = f"+1202555{index % 10_000:04d}"
    return {
        "id": f"00000000-0000-4000-8000-{index:012d}",
        "display_name": other,
        "service": "iMessage",
        "handles": [
            _handle(f"00000000-0000-4000-9000-{index:012d}", SENDER_LINE, is_me=True),
            _handle(f"00000000-0000-4000-a000-{index:012d}", other, is_me=False),
        ],
        "is_archived": False,
        "is_group": False,
        "created_at": "2026-01-15T10:30:00Z",
        "updated_at": "2026-02-05T19:31:13Z",
    }


def chat_reply(chat_id: str) -> bytes:
    """``GET /v3/chats/{chatId}``: a 1:1 iMessage chat of the line with one family member."""
    answer = {**chat(1), "id": chat_id}
    return json.dumps(answer, separators=(",", ":")).encode()


def chats_page(total: int, offset: int, limit: int) -> bytes:
    """One page of ``GET /v3/chats`` over ``total`` chats; the cursor is the next offset."""
    end = min(offset + limit, total)
    following = str(end) if end < total else None
    page = {"chats": [chat(i) for i in range(offset, end)], "next_cursor": following}
    return json.dumps(page, separators=(",", ":")).encode()
