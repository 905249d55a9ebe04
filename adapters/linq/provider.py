"""``LinqProvider``: the provider port over Linq Partner API V3 (through ``LinqClient``).

What is Linq's own lives here, and only that:

- the capability cache: Linq checks iMessage and RCS per handle, and a 503 with
  4004 / 4009 / 4010 means *unknown*, not unavailable (``_capability_cache.py``);
- pending chats: Linq creates a chat only with its first message, so the 1:1
  conversation with someone new is ``pending:<handle>`` until then
  (``caresupport_transport.pending``), found at Linq again whenever it is used
  (``_pending.py``); its first message goes by ``POST /v3/messages``;
- server-side fallback: an ``AUTO`` send carries no ``preferred_service``, so
  Linq falls back iMessage -> RCS -> SMS by itself; when it did, what was
  remembered of the participants is forgotten;
- a chat read for a send or an action is reused within ``conversation_ttl``.

Planning, checks, keys, bubbles, re-sends and receipts are the shared
``ProviderTransport``'s.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence

import attrs

from adapters.linq._capability_cache import (
    DEFAULT_CAPABILITY_TTL,
    DEFAULT_UNKNOWN_TTL,
    CapabilityCache,
)
from adapters.linq._pending import PendingChats
from adapters.linq._to_domain import conversation_from_chat, lenient_status, message_from_wire
from adapters.linq.client import LinqClient
from adapters.linq.wire_chats import SentMessage
from caresupport_transport.capabilities import HandleCapabilities, Service
from caresupport_transport.content import OutgoingMessage, Reaction, VoiceMemo
from caresupport_transport.handles import Handle
from caresupport_transport.model import Attachment, Conversation, DeliveryStatus, Message
from caresupport_transport.pending import is_pending, pending_conversation
from caresupport_transport.provider import Sent

__all__ = ["DEFAULT_CONVERSATION_TTL", "LinqProvider"]

DEFAULT_CONVERSATION_TTL = 30.0
"""Seconds a chat's participants are trusted for sends and actions (not for group changes)."""


class LinqProvider:
    """Linq's primitives, in domain values.

    Args:
        client: the Linq API client (its configured ``phone_number`` is the line).
        capability_ttl: seconds a capability answer (available or not) is trusted.
        unknown_capability_ttl: seconds an *unknown* answer is kept.
        conversation_ttl: seconds a chat read for a send or an action is reused
            by the next ones (``0``: always read it).
        clock: monotonic seconds, for the capability and conversation caches.
    """

    def __init__(
        self,
        client: LinqClient,
        *,
        capability_ttl: float = DEFAULT_CAPABILITY_TTL,
        unknown_capability_ttl: float = DEFAULT_UNKNOWN_TTL,
        conversation_ttl: float = DEFAULT_CONVERSATION_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._line = client.config.phone_number
        self.capability_cache = CapabilityCache(
            client, ttl=capability_ttl, unknown_ttl=unknown_capability_ttl, clock=clock
        )
        self._pending = PendingChats(client, self._line)
        self._clock = clock
        self._conversation_ttl = conversation_ttl
        self._conversations: dict[str, tuple[float, Conversation]] = {}

    @property
    def line(self) -> Handle | None:
        return self._line

    async def capabilities(self, handle: Handle) -> HandleCapabilities:
        """iMessage and RCS as Linq checks them (cached); SMS assumed for phone numbers."""
        return await self.capability_cache.lookup(handle)

    # -- conversations ------------------------------------------------------------

    async def conversation_for(self, handle: Handle) -> Conversation:
        """The 1:1 chat with ``handle``, or a pending one that its first send creates."""
        found = await self._pending.find(handle)
        return found if found is not None else pending_conversation(handle)

    def is_unopened(self, conversation: Conversation) -> bool:
        return is_pending(conversation.id)

    async def conversation(self, conversation_id: str) -> Conversation:
        """The chat for a send or an action: as read within ``conversation_ttl``, else now."""
        cached = self._conversations.get(conversation_id)
        if (
            cached is not None
            and self._conversation_ttl > 0
            and self._clock() - cached[0] < self._conversation_ttl
        ):
            return cached[1]
        return await self.get_conversation(conversation_id)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        """A chat by id, read now; a pending id gives the real chat once it exists."""
        if is_pending(conversation_id):
            return await self._pending.resolve(conversation_id, self._fetch_chat)
        return await self._fetch_chat(conversation_id)

    async def _fetch_chat(self, chat_id: str) -> Conversation:
        conversation = conversation_from_chat(await self.client.get_chat(chat_id), self._line)
        self._remember(conversation)
        return conversation

    def _remember(self, conversation: Conversation) -> None:
        # Kept even with a ttl of 0: a send that Linq fell back on needs the participants.
        self._conversations[conversation.id] = (self._clock(), conversation)

    def conversation_changed(self, conversation_id: str) -> None:
        self._conversations.pop(conversation_id, None)

    async def conversations(self, page_size: int) -> AsyncIterator[Conversation]:
        async for chat in self.client.list_chats(limit=page_size):
            yield conversation_from_chat(chat, self._line)

    async def get_message(self, message_id: str) -> Message:
        return message_from_wire(await self.client.get_message(message_id), self._line)

    async def messages(self, conversation_id: str, page_size: int) -> AsyncIterator[Message]:
        chat_id = conversation_id
        if is_pending(conversation_id):
            chat_id = (await self.get_conversation(conversation_id)).id
            if is_pending(chat_id):
                return  # no chat yet, so no history
        async for wire in self.client.list_messages(chat_id, limit=page_size):
            yield message_from_wire(wire, self._line)

    # -- sending ------------------------------------------------------------------

    async def start(
        self,
        participants: Sequence[Handle],
        message: OutgoingMessage,
        *,
        service: Service,
        pinned: bool,
        idempotency_key: str,
    ) -> tuple[Conversation, Sent]:
        """``POST /v3/chats``: the chat and its first message."""
        chat = await self.client.create_chat(
            participants,
            message,
            preferred_service=service if pinned else None,
            idempotency_key=idempotency_key,
        )
        conversation = conversation_from_chat(chat, self._line)
        self._remember(conversation)
        return conversation, self._sent(chat.id, chat.message, service, pinned)

    async def open(
        self,
        conversation: Conversation,
        message: OutgoingMessage,
        *,
        service: Service,
        pinned: bool,
        idempotency_key: str,
    ) -> Sent:
        """``POST /v3/messages`` to the handle: Linq opens (or reuses) the 1:1 chat."""
        sent = await self.client.send_to_handles(
            conversation.participants,
            message,
            from_=self._line,
            preferred_service=service if pinned else None,
            idempotency_key=idempotency_key,
        )
        self._pending.remember(conversation.id, sent.chat_id)
        self._remember(attrs.evolve(conversation, id=sent.chat_id))
        return self._sent(sent.chat_id, sent.message, service, pinned)

    async def send(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        *,
        service: Service,
        pinned: bool,
        idempotency_key: str,
    ) -> Sent:
        """``POST /v3/chats/{id}/messages``; ``AUTO`` sends no ``preferred_service``."""
        answer = await self.client.send_message(
            conversation_id,
            message,
            preferred_service=service if pinned else None,
            idempotency_key=idempotency_key,
        )
        return self._sent(conversation_id, answer.message, service, pinned)

    def _sent(self, chat_id: str, sent: SentMessage, planned: Service, pinned: bool) -> Sent:
        if not pinned and sent.service is not None and sent.service is not planned:
            # Linq fell back by itself: what was remembered of these people is out of date.
            cached = self._conversations.get(chat_id)
            if cached is not None:
                for handle in cached[1].participants:
                    self.capability_cache.forget(handle)
        return Sent(sent.id, chat_id, sent.service, sent.delivery_status)

    async def send_voice_memo(
        self, conversation_id: str, memo: VoiceMemo, *, service: Service, idempotency_key: str
    ) -> Sent:
        sent = await self.client.send_voice_memo(
            conversation_id, memo, idempotency_key=idempotency_key
        )
        return Sent(
            sent.id,
            sent.chat.id,
            sent.service,
            lenient_status(sent.status, DeliveryStatus.QUEUED),
        )

    # -- actions ------------------------------------------------------------------

    async def react(self, message_id: str, reaction: Reaction, part_index: int) -> None:
        await self.client.react(message_id, reaction, part_index=part_index)

    async def remove_reaction(self, message_id: str, reaction: Reaction, part_index: int) -> bool:
        await self.client.remove_reaction(message_id, reaction, part_index=part_index)
        return True

    async def set_typing(self, conversation_id: str, typing: bool) -> None:
        if typing:
            await self.client.start_typing(conversation_id)
        else:
            await self.client.stop_typing(conversation_id)

    async def mark_read(self, conversation_id: str) -> None:
        await self.client.mark_read(conversation_id)

    async def share_contact_card(self, conversation_id: str) -> None:
        """``POST /v3/chats/{chatId}/share_contact_card`` (the ``my_cards`` verbs are gone)."""
        await self.client.share_contact_card(conversation_id)

    async def add_participant(self, conversation: Conversation, handle: Handle) -> Conversation:
        """Linq queues the change (``202``); the group returned includes ``handle``."""
        await self.client.add_participant(conversation.id, handle)
        return self._changed(conversation, (*conversation.participants, handle))

    async def remove_participant(self, conversation: Conversation, handle: Handle) -> Conversation:
        await self.client.remove_participant(conversation.id, handle)
        remaining = tuple(h for h in conversation.participants if h != handle)
        return self._changed(conversation, remaining)

    def _changed(
        self, conversation: Conversation, participants: tuple[Handle, ...]
    ) -> Conversation:
        changed = attrs.evolve(conversation, participants=participants, is_group=True)
        self._remember(changed)
        return changed

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> Attachment:
        """Request an upload, then PUT the bytes."""
        return await self.client.upload(data, filename, content_type)
