"""Conversations that do not exist at Linq yet, and how they become real chats (private).

Linq creates a chat only together with its first message, and a blank message
is not an option in care messaging. So ``conversation_for(handle)``, when no
1:1 chat with ``handle`` exists, answers a *pending* conversation whose id is
``pending:<handle>``. The id is stateless (the handle is in it), so it survives
a restart. Whenever a pending id is used, the 1:1 chat is looked for again; the
first send creates it. The real id, once known, is remembered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import attrs

from adapters.linq._to_domain import conversation_from_chat
from adapters.linq.client import LinqClient
from caresupport_transport.errors import InvalidHandleError, ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation

__all__ = ["PENDING_PREFIX", "PendingChats", "is_pending", "pending_conversation"]

PENDING_PREFIX = "pending:"


def is_pending(conversation_id: str) -> bool:
    """Whether ``conversation_id`` names a 1:1 chat that did not exist when it was handed out."""
    return conversation_id.startswith(PENDING_PREFIX)


def pending_conversation(handle: Handle) -> Conversation:
    """The conversation with ``handle`` before its first message: nobody has seen it yet."""
    return Conversation(
        id=f"{PENDING_PREFIX}{handle.value}", participants=(handle,), is_group=False
    )


def handle_of(conversation_id: str) -> Handle:
    """The handle named by a pending id.

    Raises:
        ValidationError: the rest of the id is not a handle.
    """
    try:
        return Handle(conversation_id.removeprefix(PENDING_PREFIX))
    except InvalidHandleError:
        raise ValidationError(
            "conversation_id", f"{conversation_id!r} is not 'pending:' and a handle"
        ) from None


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
