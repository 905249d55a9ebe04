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
- a chat read for a send or an action is reused within ``conversation_ttl``;
- Linq's refusals of a 1:1 send, 403 with ``RECIPIENT_OPTED_OUT`` (2024) or
  ``HANDLE_ON_BLOCKLIST`` (2026), become ``OptedOutError`` / ``BlockedError``
  naming the person (a chat never read here is read once after the 403 to
  learn who); ``override_optout`` goes as the body's top-level field;
- the blocklist is ``/v3/blocked_handles``; a chat's ``health_status`` is the
  conversation's ``health``.

Planning, checks, keys, bubbles, re-sends and receipts are the shared
``ProviderTransport``'s.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import attrs

from adapters.linq import codes
from adapters.linq._capability_cache import (
    DEFAULT_CAPABILITY_TTL,
    DEFAULT_UNKNOWN_TTL,
    CapabilityCache,
)
from adapters.linq._pending import PendingChats
from adapters.linq._poll_domain import poll_from_envelope
from adapters.linq._to_domain import (
    conversation_from_chat,
    handle_from_wire,
    lenient_status,
    message_from_wire,
)
from adapters.linq.client import LinqClient
from adapters.linq.wire_chats import SentMessage
from caresupport_transport.capabilities import HandleCapabilities, Service
from caresupport_transport.content import OutgoingMessage, Reaction, TextPart, VoiceMemo
from caresupport_transport.errors import (
    AlreadySentError,
    BlockedError,
    EditRefusedError,
    NotFoundError,
    OptedOutError,
    ProviderError,
    TransportError,
    ValidationError,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import (
    Attachment,
    BlockedHandle,
    Conversation,
    DeliveryStatus,
    Message,
)
from caresupport_transport.pending import is_pending, pending_conversation
from caresupport_transport.polls import Poll
from caresupport_transport.provider import Sent

__all__ = ["DEFAULT_CONVERSATION_TTL", "LinqProvider"]

DEFAULT_CONVERSATION_TTL = 30.0
"""Seconds a chat's participants are trusted for sends and actions (not for group changes)."""
_EDIT_REFUSALS = frozenset({400, 409, 422})

_log = logging.getLogger("caresupport_transport.linq")


_REFUSAL_CODES = frozenset({codes.RECIPIENT_OPTED_OUT, codes.HANDLE_ON_BLOCKLIST})


def _is_refusal(error: ProviderError) -> bool:
    """Linq's 403 with an opt-out (2024) or blocklist (2026) code."""
    return error.status == 403 and error.code in _REFUSAL_CODES


def _refusal(error: ProviderError, participants: Sequence[Handle]) -> ProviderError:
    """A 1:1 send's opt-out or blocklist refusal as a domain error naming the person.

    Anything else (a group, no participants known) is ``error`` itself.
    """
    if not _is_refusal(error) or len(participants) != 1:
        return error
    person = participants[0]
    refusal: ProviderError
    if error.code == codes.RECIPIENT_OPTED_OUT:
        refusal = OptedOutError(
            error.message, person=person, status=403, code=error.code, trace_id=error.trace_id
        )
    else:
        refusal = BlockedError(
            error.message, handle=person, status=403, code=error.code, trace_id=error.trace_id
        )
    refusal.idempotency_key = error.idempotency_key
    refusal.outcome_unknown = error.outcome_unknown
    return refusal


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
        override_optout: bool = False,
    ) -> tuple[Conversation, Sent]:
        """``POST /v3/chats``: the chat and its first message."""
        async with self._refusals(participants, sending=(idempotency_key, message)):
            chat = await self.client.create_chat(
                participants,
                message,
                preferred_service=service if pinned else None,
                idempotency_key=idempotency_key,
                override_optout=override_optout,
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
        override_optout: bool = False,
    ) -> Sent:
        """``POST /v3/messages`` to the handle: Linq opens (or reuses) the 1:1 chat."""
        async with self._refusals(conversation.participants, sending=(idempotency_key, message)):
            sent = await self.client.send_to_handles(
                conversation.participants,
                message,
                from_=self._line,
                preferred_service=service if pinned else None,
                idempotency_key=idempotency_key,
                override_optout=override_optout,
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
        override_optout: bool = False,
    ) -> Sent:
        """``POST /v3/chats/{id}/messages``; ``AUTO`` sends no ``preferred_service``.

        Raises:
            AlreadySentError: Linq answered 404 although the chat exists: the
                message made under this key earlier was deleted (or expired), and
                is never sent again.
            NotFoundError: the chat does not exist.
        """
        async with self._refusals(chat_id=conversation_id, sending=(idempotency_key, message)):
            answer = await self.client.send_message(
                conversation_id,
                message,
                preferred_service=service if pinned else None,
                idempotency_key=idempotency_key,
                override_optout=override_optout,
            )
        return self._sent(conversation_id, answer.message, service, pinned)

    async def _explain_not_found(
        self,
        error: NotFoundError,
        key: str,
        message: OutgoingMessage,
        chat_id: str | None = None,
    ) -> None:
        """Raise :class:`AlreadySentError` when a send's 404 is about its key; else return.

        Linq answers 404 for a missing chat, reply target or attachment, and for
        a key whose message was deleted (or expired). When everything the send
        names is there, the 404 was about the key. Another failure while looking
        propagates (the send is retried later, under the same key).
        """
        lookups: list[Callable[[], Awaitable[object]]] = []
        if chat_id is not None:
            lookups.append(functools.partial(self.client.get_chat, chat_id))
        if message.reply_to is not None:
            lookups.append(functools.partial(self.client.get_message, message.reply_to.message_id))
        for part in message.parts:
            attachment_id = getattr(part, "attachment_id", None)
            if attachment_id is not None:
                lookups.append(functools.partial(self.client.get_attachment, attachment_id))
        for lookup in lookups:
            try:
                await lookup()
            except NotFoundError:
                return  # something the send names is missing: the 404 stands
        raise _already_sent(error, key) from error

    def _sent(self, chat_id: str, sent: SentMessage, planned: Service, pinned: bool) -> Sent:
        if not pinned and sent.service is not None and sent.service is not planned:
            # Linq fell back by itself: what was remembered of these people is out of date.
            cached = self._conversations.get(chat_id)
            if cached is not None:
                for handle in cached[1].participants:
                    self.capability_cache.forget(handle)
        return Sent(sent.id, chat_id, sent.service, sent.delivery_status)

    @contextlib.asynccontextmanager
    async def _refusals(
        self,
        participants: Sequence[Handle] = (),
        *,
        chat_id: str | None = None,
        sending: tuple[str, OutgoingMessage] | None = None,
    ) -> AsyncIterator[None]:
        """Linq's refusals of a send, as domain errors.

        Opt-out (403 / 2024) and blocklist (403 / 2026) refusals of a 1:1 send
        name the person. A send to a chat by id names no one: the participants
        are the chat's as last read, or, when it was never read here, read once
        after the 403. Should that read fail, the 403 is raised as it came.

        With ``sending`` (the send's key and message), a 404 about the key
        becomes ``AlreadySentError`` (see :meth:`_explain_not_found`).
        """
        try:
            yield
        except NotFoundError as exc:
            if sending is not None:
                await self._explain_not_found(exc, *sending, chat_id)
            raise
        except ProviderError as error:
            if not _is_refusal(error):
                raise
            people = tuple(participants)
            if not people and chat_id is not None:
                people = self._participants_of(chat_id)
                if not people:
                    try:
                        people = (await self._fetch_chat(chat_id)).participants
                    except TransportError as unread:
                        raise error from unread
            refusal = _refusal(error, people)
            if refusal is error:
                raise
            raise refusal from error

    def _participants_of(self, chat_id: str) -> tuple[Handle, ...]:
        """The chat's participants as last read (empty when it was never read here)."""
        cached = self._conversations.get(chat_id)
        return cached[1].participants if cached is not None else ()

    async def send_voice_memo(
        self,
        conversation_id: str,
        memo: VoiceMemo,
        *,
        service: Service,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> Sent:
        async with self._refusals(chat_id=conversation_id):
            sent = await self.client.send_voice_memo(
                conversation_id,
                memo,
                idempotency_key=idempotency_key,
                override_optout=override_optout,
            )
        return Sent(
            sent.id,
            sent.chat.id,
            sent.service,
            lenient_status(sent.status, DeliveryStatus.QUEUED),
        )

    # -- actions ------------------------------------------------------------------

    async def edit(self, message_id: str, part_index: int, text: TextPart) -> None:
        """``PATCH /v3/messages/{id}``; a refusal by Linq's limits is ``EditRefusedError``.

        Linq documents the limits (5 edits, 15 minutes, iMessage), not the error
        for breaking them: after the shared checks passed, a 400, 409 or 422 to
        an edit can only be such a refusal.
        """
        try:
            await self.client.edit_message(message_id, text.text, part_index=part_index)
        except ProviderError as error:
            if error.status not in _EDIT_REFUSALS or isinstance(error, NotFoundError):
                raise
            raise EditRefusedError(
                f"Linq refused the edit: {error.message}",
                status=error.status,
                code=error.code,
                trace_id=error.trace_id,
            ) from error

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

    # -- polls ------------------------------------------------------------------

    @property
    def has_polls(self) -> bool:
        return True

    async def send_poll(
        self, conversation_id: str, options: Sequence[str], *, idempotency_key: str
    ) -> tuple[Sent, Poll]:
        """``POST /v3/chats/{id}/polls``; the envelope carries no delivery status yet."""
        envelope = await self.client.create_poll(
            conversation_id, options, idempotency_key=idempotency_key
        )
        sent = Sent(envelope.message_id, envelope.chat_id, Service.IMESSAGE, DeliveryStatus.PENDING)
        return sent, poll_from_envelope(envelope)

    async def get_poll(self, poll_id: str) -> Poll:
        """``GET /v3/messages/{id}/poll``."""
        return poll_from_envelope(await self.client.get_poll(poll_id))

    # -- the blocklist --------------------------------------------------------------

    async def block(self, handle: Handle, *, reason: str | None) -> BlockedHandle:
        """``POST /v3/blocked_handles`` (blocking again gives the existing entry)."""
        entry = await self.client.block_handle(handle, reason=reason)
        return BlockedHandle(handle_from_wire(entry.handle), entry.blocked_at, entry.reason)

    async def unblock(self, handle: Handle) -> None:
        """``DELETE /v3/blocked_handles`` with ``{handle}``."""
        await self.client.unblock_handle(handle)

    async def blocked(self) -> tuple[BlockedHandle, ...]:
        """``GET /v3/blocked_handles``; short codes and sender ids (not handles) are left out."""
        found: list[BlockedHandle] = []
        for entry in await self.client.list_blocked_handles():
            try:
                blocked = Handle(entry.handle)
            except ValidationError:
                _log.debug("blocklist entry that is not a phone number or email left out")
                continue
            found.append(BlockedHandle(blocked, entry.blocked_at, entry.reason))
        return tuple(found)


def _already_sent(cause: NotFoundError, key: str) -> AlreadySentError:
    return AlreadySentError(
        f"the message sent earlier under idempotency key {key!r} is gone "
        "(deleted, or its retention window passed); it was not sent again",
        status=cause.status,
        code=cause.code,
        trace_id=cause.trace_id,
    )
