"""A Linq line's chats and messages, served page by page on the routed fake (for polling tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx

from .support import LINE, RoutedLinq, handle_json, one_to_one_json, query_of, reply

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
"""The wall clock of the polling tests."""


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@attrs.define
class History:
    """Chats (in creation order) and their messages (oldest first), as Linq would list them.

    Chats are listed in pages of the asked ``limit`` with offset cursors; messages
    newest first, the same way. ``broken`` chats answer 500 to a message listing.
    """

    chats: dict[str, list[dict[str, Any]]] = attrs.Factory(dict)
    handles: dict[str, str] = attrs.Factory(dict)
    broken: set[str] = attrs.Factory(set)
    counter: int = 0

    def add_chat(self, chat_id: str, handle: str) -> None:
        self.chats[chat_id] = []
        self.handles[chat_id] = handle

    def add_message(
        self,
        chat_id: str,
        text: str | None = None,
        *,
        ago: timedelta = timedelta(minutes=5),
        from_me: bool = False,
        media_url: str | None = None,
        reconciled_ago: timedelta | None = None,
        listed_by_time: bool = False,
    ) -> str:
        """A message in ``chat_id`` sent ``ago`` before ``NOW``; returns its id.

        ``reconciled_ago``: Linq recovered it late, that long before ``NOW``
        (``reconciled_at``). It is listed as the newest message, or by its old
        time behind newer ones with ``listed_by_time`` (Linq does not say which).
        """
        self.counter += 1
        message_id = f"msg-{self.counter:05d}"
        parts: list[dict[str, Any]] = []
        if text is not None:
            parts.append({"type": "text", "value": text})
        if media_url is not None:
            parts.append(
                {
                    "type": "media",
                    "id": f"file-{self.counter}",
                    "url": media_url,
                    "filename": "photo.jpg",
                    "mime_type": "image/jpeg",
                    "size_bytes": 2048,
                }
            )
        at = _iso(NOW - ago)
        sender = LINE if from_me else self.handles[chat_id]
        self.chats[chat_id].append(
            {
                "id": message_id,
                "chat_id": chat_id,
                "service": "iMessage",
                "from": sender,
                "from_handle": handle_json(sender, is_me=from_me),
                "parts": parts,
                "is_from_me": from_me,
                "is_delivered": True,
                "is_read": False,
                "created_at": at,
                "updated_at": at,
                "sent_at": at,
                "delivered_at": at,
            }
        )
        if reconciled_ago is not None:
            message = self.chats[chat_id].pop()
            message["reconciled_at"] = _iso(NOW - reconciled_ago)
            listed = self.chats[chat_id]
            position = len(listed)
            if listed_by_time:
                position = next(
                    (i for i, m in enumerate(listed) if m["created_at"] > at), len(listed)
                )
            listed.insert(position, message)
        return message_id

    def install(self, linq: RoutedLinq) -> None:
        linq.on("GET", "/v3/chats", self._list_chats)
        linq.on("GET", "/v3/chats/[^/]+/messages", self._list_messages)

    def _list_chats(self, request: httpx.Request) -> httpx.Response:
        ids = list(self.chats)
        page, following = _page(ids, request)
        chats = [one_to_one_json(chat_id, self.handles[chat_id]) for chat_id in page]
        return reply(200, {"chats": chats, "next_cursor": following})

    def _list_messages(self, request: httpx.Request) -> httpx.Response:
        chat_id = request.url.path.split("/")[-2]
        if chat_id in self.broken:
            return reply(500, {"success": False, "error": {"status": 500, "code": 3006}})
        newest_first = list(reversed(self.chats[chat_id]))
        page, following = _page(newest_first, request)
        return reply(200, {"messages": page, "next_cursor": following})


def _page(items: list[Any], request: httpx.Request) -> tuple[list[Any], str | None]:
    query = dict(query_of(request))
    start = int(query.get("cursor", "0"))
    limit = int(query.get("limit", "20"))
    following = start + limit
    return items[start:following], str(following) if following < len(items) else None
