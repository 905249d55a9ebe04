"""``LinqTransport``: the ``Transport`` port over Linq Partner API V3 (through ``LinqClient``).

Sends are planned with the shared fallback policy for the service the
capability cache points to, then sent bubble by bubble under derived keys (see
``_sending.py``). Conversations that do not exist yet are *pending* until their
first message (``_pending.py``). Inbound events arrive by webhook
(:meth:`LinqTransport.webhook_app`) or by polling (:meth:`LinqTransport.poll_once`),
both through an :class:`~caresupport_transport.inbound.InboundDispatcher`, so
each reaches the care logic once. ``docs/linq.md`` explains the choices.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import attrs

from adapters.linq._pending import handle_of, is_pending, pending_conversation
from adapters.linq._to_domain import conversation_from_chat, lenient_status, message_from_wire
from adapters.linq._transport_actions import ActionsMixin
from adapters.linq._transport_inbound import InboundMixin
from adapters.linq.wire_chats import SentMessage
from caresupport_transport import checks
from caresupport_transport.capabilities import (
    Feature,
    Service,
    ServicePreference,
)
from caresupport_transport.content import OutgoingMessage, VoiceMemo
from caresupport_transport.errors import UnsupportedError, ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.model import (
    Conversation,
    Degradation,
    DegradationAction,
    DeliveryStatus,
    Message,
    SendReceipt,
    StartedConversation,
)
from caresupport_transport.policy import (
    MessagePlan,
    OnUnsupported,
    choose_service,
    plan_voice_memo,
)
from caresupport_transport.sending import keyed_send

__all__ = ["LinqTransport"]


class LinqTransport(ActionsMixin, InboundMixin):
    """The ``Transport`` port over Linq: fallback, degradations, idempotency, inbound.

    Args:
        client: the Linq API client (its configured ``phone_number`` is the line).
        policy: how to degrade what a service cannot carry, and whether to re-send
            a failed message on the next service.
        capability_ttl: seconds a capability answer (available or not) is trusted.
        unknown_capability_ttl: seconds an *unknown* answer is kept (Linq could not
            tell; a 503 with 4004 / 4009 / 4010).
        clock: monotonic seconds, for the capability cache.
        new_key: makes an idempotency key when the caller gives none.
        poll_lookback: how far back the first poll of a chat reads.
        wall_clock: the current time (aware UTC), for polling.
        owns_client: close ``client`` in :meth:`aclose` (set by :meth:`from_config`).
    """

    # -- conversations ----------------------------------------------------------

    async def start_conversation(
        self,
        participants: Sequence[Handle],
        first_message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
    ) -> StartedConversation:
        """Create a chat with its first message (``POST /v3/chats``), degraded for the service."""
        handles = checks.check_participants(participants, self._line)
        message = checks.check_first_message(first_message)
        checks.check_preference(preference)
        key = checks.check_idempotency_key(idempotency_key) or self._new_key()
        with keyed_send(key):
            return await self._start(handles, message, preference, key)

    async def _start(
        self,
        handles: tuple[Handle, ...],
        message: OutgoingMessage,
        preference: ServicePreference,
        key: str,
    ) -> StartedConversation:
        plan = await self._sender.plan(handles, message, preference)
        created: list[Conversation] = []

        async def open_chat(
            bubble: OutgoingMessage, preferred: Service | None, bubble_key: str
        ) -> tuple[str, SentMessage]:
            chat = await self._client.create_chat(
                handles, bubble, preferred_service=preferred, idempotency_key=bubble_key
            )
            created.append(conversation_from_chat(chat, self._line))
            self._remember_conversation(created[-1])
            return chat.id, chat.message

        receipt = await self._sender.send(
            plan, participants=handles, preference=preference, key=key, opener=open_chat
        )
        return StartedConversation(created[0], receipt)

    def conversations(self, *, page_size: int = 50) -> AsyncIterator[Conversation]:
        size = checks.check_page_size(page_size)
        return self._conversation_pages(size)

    async def _conversation_pages(self, page_size: int) -> AsyncIterator[Conversation]:
        async for chat in self._client.list_chats(limit=page_size):
            yield conversation_from_chat(chat, self._line)

    async def conversation_for(self, handle: Handle) -> Conversation:
        """The 1:1 chat with ``handle``, or a pending one that its first send creates."""
        checked = checks.check_handle(handle)
        found = await self._pending.find(checked)
        return found if found is not None else pending_conversation(checked)

    def messages(self, conversation_id: str, *, page_size: int = 50) -> AsyncIterator[Message]:
        size = checks.check_page_size(page_size)
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ValidationError("conversation_id", "must be a non-empty string")
        return self._message_pages(conversation_id, size)

    async def _message_pages(self, conversation_id: str, page_size: int) -> AsyncIterator[Message]:
        chat_id = conversation_id
        if is_pending(conversation_id):
            chat_id = (await self.get_conversation(conversation_id)).id
            if is_pending(chat_id):
                return  # no chat yet, so no history
        async for wire in self._client.list_messages(chat_id, limit=page_size):
            yield message_from_wire(wire, self._line)

    # -- sending ------------------------------------------------------------------

    async def send_message(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
    ) -> SendReceipt:
        """Send into a conversation, degraded for the service; a pending one is created here."""
        checked = checks.check_message(message)
        checks.check_preference(preference)
        key = checks.check_idempotency_key(idempotency_key) or self._new_key()
        with keyed_send(key):
            return await self._send(conversation_id, checked, preference, key)

    async def _send(
        self,
        conversation_id: str,
        checked: OutgoingMessage,
        preference: ServicePreference,
        key: str,
    ) -> SendReceipt:
        conversation = await self._known_conversation(conversation_id)
        if is_pending(conversation.id):
            return await self._first_send(conversation, checked, preference, key)
        if checked.reply_to is not None:
            await self._check_reply(conversation.id, checked)
        plan = await self._sender.plan(conversation.participants, checked, preference)
        return await self._sender.send(
            plan,
            participants=conversation.participants,
            preference=preference,
            key=key,
            chat_id=conversation.id,
        )

    async def _check_reply(self, chat_id: str, message: OutgoingMessage) -> None:
        assert message.reply_to is not None
        target = await self.get_message(message.reply_to.message_id)
        checks.check_reply_target(message.reply_to, target, chat_id)

    async def _first_send(
        self,
        pending: Conversation,
        message: OutgoingMessage,
        preference: ServicePreference,
        key: str,
    ) -> SendReceipt:
        """The first message to someone with no chat yet: it opens the chat (``POST /v3/messages``).

        Linq's rules for a chat's first message apply: a reply has nothing to
        reply to and a link is refused (both ``ValidationError``); an effect is
        dropped (and reported) or fails, as the policy says for effects.
        """
        handle = pending.participants[0]
        if message.reply_to is not None:
            raise ValidationError(
                "reply_to.message_id",
                f"must name a message of the same conversation; {handle} has no chat yet",
            )
        if message.has_url:
            raise ValidationError(
                "message.parts",
                f"the first message to {handle} opens a new chat and may not contain a URL "
                "(Linq 1005); send one without a link first",
            )
        opening: tuple[Degradation, ...] = ()
        if message.effect is not None:
            if self.policy.effects is OnUnsupported.FAIL:
                raise UnsupportedError(
                    Feature.EFFECT.value, None, "effect: the first message of a new chat has none"
                )
            reason = "the first message of a new chat carries no effect"
            opening = (Degradation(Feature.EFFECT, DegradationAction.DROPPED, reason),)
            message = attrs.evolve(message, effect=None)
        plan = await self._sender.plan((handle,), message, preference)
        plan = attrs.evolve(plan, degradations=(*opening, *plan.degradations))

        async def open_chat(
            bubble: OutgoingMessage, preferred: Service | None, bubble_key: str
        ) -> tuple[str, SentMessage]:
            sent = await self._client.send_to_handles(
                [handle],
                bubble,
                from_=self._line,
                preferred_service=preferred,
                idempotency_key=bubble_key,
            )
            self._pending.remember(pending.id, sent.chat_id)
            return sent.chat_id, sent.message

        return await self._sender.send(
            plan, participants=(handle,), preference=preference, key=key, opener=open_chat
        )

    async def send_voice_memo(
        self,
        conversation_id: str,
        memo: VoiceMemo,
        *,
        idempotency_key: str | None = None,
    ) -> SendReceipt:
        """A voice memo on iMessage; elsewhere the policy sends the audio as media (or fails)."""
        checked = checks.check_voice_memo(memo)
        key = checks.check_idempotency_key(idempotency_key) or self._new_key()
        with keyed_send(key):
            return await self._send_memo(conversation_id, checked, key)

    async def _send_memo(self, conversation_id: str, checked: VoiceMemo, key: str) -> SendReceipt:
        conversation = await self._known_conversation(conversation_id)
        if is_pending(conversation.id):
            raise ValidationError(
                "conversation_id",
                f"no chat with {handle_of(conversation.id)} exists yet and a voice memo "
                "cannot open one; send a text message first",
            )
        found = await self.capability_cache.lookup_all(conversation.participants)
        service = choose_service(found, ServicePreference.AUTO)
        media, degradations = plan_voice_memo(checked, service, self.policy)
        if media is None:
            sent = await self._client.send_voice_memo(conversation.id, checked, idempotency_key=key)
            return SendReceipt(
                message_ids=(sent.id,),
                conversation_id=sent.chat.id,
                service=sent.service or service,
                status=lenient_status(sent.status, DeliveryStatus.QUEUED),
                idempotency_key=key,
            )
        plan = MessagePlan(service, (OutgoingMessage((media,)),), degradations)
        return await self._sender.send(
            plan,
            participants=conversation.participants,
            preference=ServicePreference.AUTO,
            key=key,
            chat_id=conversation.id,
        )
