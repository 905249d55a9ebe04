"""How a pending conversation becomes a real Linq chat (private).

Linq creates a chat only together with its first message, so the 1:1
conversation with someone new is pending (``caresupport_transport.pending``)
until then. Whenever a pending id is used, the 1:1 chat is looked for again at
Linq; the first send creates it. The real id, once known, is remembered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import attrs

from adapters.linq._to_domain import conversation_from_chat
from adapters.linq.client import LinqClient
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation
from caresupport_transport.pending import handle_of, pending_conversation

__all__ = ["PendingChats"]


@attrs.define
class PendingChats:
    """Finds the 1:1 chat with a handle, and remembers which pending id became which chat.

    Args:
        client: lists chats.
        line: our own line, left out of participants.
    """

    client: LinqClient
    line: Handle | None
    _resolved: dict[str, str] = attrs.field(factory=dict, init=False)

    async def find(self, handle: Handle) -> Conversation | None:
        """The 1:1 chat with exactly ``handle``, newest first if several; ``None`` if none.

        Every page of ``GET /v3/chats?to=<handle>`` is read: the filter also
        returns groups that include ``handle``.
        """
        best: tuple[datetime, Conversation] | None = None
        async for chat in self.client.list_chats(to=[handle], limit=100):
            conversation = conversation_from_chat(chat, self.line)
            if conversation.is_group or conversation.participants != (handle,):
                continue
            if best is None or chat.updated_at > best[0]:
                best = (chat.updated_at, conversation)
        return None if best is None else best[1]

    async def resolve(
        self, conversation_id: str, fetch: Callable[[str], Awaitable[Conversation]]
    ) -> Conversation:
        """The real chat behind a pending id, or the pending conversation if there is none yet.

        Args:
            conversation_id: a pending id.
            fetch: gets a chat by its real id (used once the id is known).
        """
        known = self._resolved.get(conversation_id)
        if known is not None:
            return await fetch(known)
        handle = handle_of(conversation_id)
        found = await self.find(handle)
        if found is None:
            return pending_conversation(handle)
        self._resolved[conversation_id] = found.id
        return found

    def remember(self, conversation_id: str, chat_id: str) -> None:
        """Note that the pending ``conversation_id`` is now the chat ``chat_id``."""
        self._resolved[conversation_id] = chat_id
