"""``MemoryProvider``: the provider port over an in-memory :class:`World`.

The worked example of ``docs/adapters.md``: every primitive is one call into the
World, which plays the messaging service. Nothing here plans, checks input,
derives keys or re-sends: the shared ``ProviderTransport`` does that for every
provider alike.

As at a real provider, no chat exists before its first message: the 1:1
conversation with someone new is *pending* (``caresupport_transport.pending``)
until a send opens it in the World, so nothing is listed and no
``ConversationCreated`` is heard before then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import attrs

from adapters.memory.world import World
from caresupport_transport.capabilities import HandleCapabilities, Service, ServicePreference
from caresupport_transport.content import OutgoingMessage, Reaction, TextPart, VoiceMemo
from caresupport_transport.handles import Handle
from caresupport_transport.model import Attachment, BlockedHandle, Conversation, Message
from caresupport_transport.pending import handle_of, is_pending, pending_conversation
from caresupport_transport.polls import Poll
from caresupport_transport.provider import Sent

__all__ = ["MemoryProvider"]


class MemoryProvider:
    """The World as a messaging provider.

    The World has no server-side fallback: every send goes by the planned
    service (pinned), and a service someone cannot receive makes it fail, as
    it would at a real provider.

    Args:
        world: the world to act in.

    Attributes:
        sent: every message this provider created, in order (not those a
            repeated idempotency key gave back).
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.sent: list[Message] = []

    @property
    def line(self) -> Handle:
        return self.world.owner

    async def capabilities(self, handle: Handle) -> HandleCapabilities:
        return self.world.capabilities(handle)

    # -- conversations ------------------------------------------------------------

    async def conversation_for(self, handle: Handle) -> Conversation:
        found = self._direct(handle)
        return self._with_health(found) if found is not None else pending_conversation(handle)

    def _direct(self, handle: Handle) -> Conversation | None:
        """The World's 1:1 conversation with ``handle``, if there is one."""
        return next(
            (c for c in self.world.conversations.values() if c.participants == (handle,)), None
        )

    def is_unopened(self, conversation: Conversation) -> bool:
        if is_pending(conversation.id):
            return True
        # A conversation a test made in the World with no message yet is new too.
        # Newest messages last: an active conversation is found at once.
        return not any(
            m.conversation_id == conversation.id for m in reversed(self.world.messages.values())
        )

    async def conversation(self, conversation_id: str) -> Conversation:
        return await self.get_conversation(conversation_id)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        """A conversation by id; a pending id gives the real one once it exists."""
        if is_pending(conversation_id):
            handle = handle_of(conversation_id)
            found = self._direct(handle)
            return self._with_health(found) if found is not None else pending_conversation(handle)
        return self._with_health(self.world.conversation(conversation_id))

    def _with_health(self, conversation: Conversation) -> Conversation:
        """The conversation as read from a provider: with its health."""
        return attrs.evolve(conversation, health=self.world.health_of(conversation.id))

    async def conversations(self, page_size: int) -> AsyncIterator[Conversation]:
        cursor: str | None = None
        while True:
            page, cursor = self.world.page_conversations(cursor, page_size)
            for conversation in page:
                yield self._with_health(conversation)
            if cursor is None:
                return

    async def get_message(self, message_id: str) -> Message:
        return self.world.message(message_id)

    async def messages(self, conversation_id: str, page_size: int) -> AsyncIterator[Message]:
        conversation_id = (await self.get_conversation(conversation_id)).id
        if is_pending(conversation_id):
            return  # no chat yet, so no history
        cursor: str | None = None
        while True:
            page, cursor = self.world.page_messages(conversation_id, cursor, page_size)
            for message in page:
                yield message
            if cursor is None:
                return

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
        if idempotency_key not in self.world.idempotency_keys:
            self.world.check_direct_send(participants, override_optout=override_optout)
        conversation = self.world.create_conversation(participants)
        sent = self._send(conversation.id, message, service, idempotency_key, override_optout)
        return self._with_health(self.world.conversation(conversation.id)), sent

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
        if idempotency_key not in self.world.idempotency_keys:
            self.world.check_direct_send(conversation.participants, override_optout=override_optout)
        opened = self.world.create_conversation(conversation.participants)
        return self._send(opened.id, message, service, idempotency_key, override_optout)

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
        return self._send(conversation_id, message, service, idempotency_key, override_optout)

    async def send_voice_memo(
        self,
        conversation_id: str,
        memo: VoiceMemo,
        *,
        service: Service,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> Sent:
        new = idempotency_key not in self.world.idempotency_keys
        overrides = len(self.world.opt_out_overrides)
        made = self.world.send(
            conversation_id,
            (memo.audio,),
            preference=ServicePreference.pin(service),
            idempotency_key=idempotency_key,
            voice_memo=True,
            override_optout=override_optout,
        )
        return self._sent(made, new, overrides)

    def _send(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        service: Service,
        key: str,
        override_optout: bool,
    ) -> Sent:
        new = key not in self.world.idempotency_keys
        overrides = len(self.world.opt_out_overrides)
        made = self.world.send(
            conversation_id,
            message.parts,
            effect=message.effect,
            reply_to=message.reply_to,
            preference=ServicePreference.pin(service),
            idempotency_key=key,
            override_optout=override_optout,
        )
        return self._sent(made, new, overrides)

    def _sent(self, made: Message, new: bool, overrides_before: int) -> Sent:
        if new:
            self.sent.append(made)
        overridden = tuple(h for _, h in self.world.opt_out_overrides[overrides_before:])
        return Sent(
            made.id,
            made.conversation_id,
            made.service,
            made.status,
            new=new,
            opt_out_overridden=overridden,
        )

    # -- actions ------------------------------------------------------------------

    async def edit(self, message_id: str, part_index: int, text: TextPart) -> None:
        """The World refuses past its limits (``EditRefusedError``), as the provider does."""
        self.world.edit(message_id, part_index, text)

    async def react(self, message_id: str, reaction: Reaction, part_index: int) -> None:
        self.world.react(message_id, reaction, part_index=part_index)

    async def remove_reaction(self, message_id: str, reaction: Reaction, part_index: int) -> bool:
        return self.world.unreact(message_id, reaction, part_index=part_index)

    async def set_typing(self, conversation_id: str, typing: bool) -> None:
        self.world.set_typing(conversation_id, typing)

    async def mark_read(self, conversation_id: str) -> None:
        self.world.mark_read(conversation_id)

    async def share_contact_card(self, conversation_id: str) -> None:
        self.world.share_contact_card(conversation_id)

    async def add_participant(self, conversation: Conversation, handle: Handle) -> Conversation:
        return self.world.add_participant(conversation.id, handle)

    async def remove_participant(self, conversation: Conversation, handle: Handle) -> Conversation:
        return self.world.remove_participant(conversation.id, handle)

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> Attachment:
        return self.world.upload(data, filename=filename, content_type=content_type)

    # -- polls ------------------------------------------------------------------

    @property
    def has_polls(self) -> bool:
        return True

    async def send_poll(
        self, conversation_id: str, options: Sequence[str], *, idempotency_key: str
    ) -> tuple[Sent, Poll]:
        new = idempotency_key not in self.world.idempotency_keys
        overrides = len(self.world.opt_out_overrides)
        made, poll = self.world.send_poll(conversation_id, options, idempotency_key=idempotency_key)
        return self._sent(made, new, overrides), poll

    async def get_poll(self, poll_id: str) -> Poll:
        return self.world.poll(poll_id)

    def conversation_changed(self, conversation_id: str) -> None:
        """Nothing to forget: the World is always read as it is."""

    # -- the blocklist ------------------------------------------------------------

    async def block(self, handle: Handle, *, reason: str | None) -> BlockedHandle:
        return self.world.block(handle, reason=reason)

    async def unblock(self, handle: Handle) -> None:
        self.world.unblock(handle)

    async def blocked(self) -> tuple[BlockedHandle, ...]:
        return tuple(self.world.blocked())
