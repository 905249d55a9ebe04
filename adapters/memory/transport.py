"""``InMemoryTransport``: the full ``Transport`` port over an in-memory :class:`World`.

It applies the same fallback policy as every adapter, so what a care test sees
(services, degradations, split bubbles) is what production does. Inbound
events reach the registered handler when the test moves the world on:
:meth:`InMemoryTransport.advance`, the ``inject_*`` methods and
:meth:`InMemoryTransport.deliver_pending`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from adapters.memory._inbound import InboundQueue
from adapters.memory._ledger import SendLedger, bubble_key
from adapters.memory.world import World
from caresupport_transport import checks
from caresupport_transport.capabilities import (
    Feature,
    HandleCapabilities,
    Service,
    ServicePreference,
)
from caresupport_transport.content import (
    OutgoingMessage,
    Part,
    Reaction,
    TextPart,
    VoiceMemo,
)
from caresupport_transport.errors import ConfigurationError, UnsupportedError, ValidationError
from caresupport_transport.events import InboundEvent
from caresupport_transport.handles import Handle
from caresupport_transport.model import (
    ActionResult,
    Attachment,
    Conversation,
    Message,
    SendReceipt,
    StartedConversation,
)
from caresupport_transport.policy import (
    FallbackPolicy,
    MessagePlan,
    choose_service,
    plan_action,
    plan_message,
    plan_reaction,
    plan_voice_memo,
)
from caresupport_transport.port import InboundHandler

__all__ = ["DEFAULT_POLICY", "InMemoryTransport", "bubble_key"]

DEFAULT_POLICY = FallbackPolicy()


class InMemoryTransport:
    """A deterministic, in-memory ``Transport`` for care-logic tests.

    Args:
        world: the world to act in; a new one seeded with ``seed`` when ``None``.
        policy: how to degrade what a service cannot carry.
        seed: seeds the world this transport creates (give a seeded ``World``
            instead of both).

    Attributes:
        world: the world, for tests to arrange and inspect.
        sent: every outbound message this transport created, in order.
        receipts: every receipt it returned for a new send, in order.
        delivered: every event the inbound handler accepted, in order.
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        policy: FallbackPolicy = DEFAULT_POLICY,
        seed: int = 0,
    ) -> None:
        if world is not None and seed != 0:
            raise ConfigurationError("give either a World or a seed for a new one, not both")
        self.world = world if world is not None else World(seed=seed)
        self.policy = policy
        self._ledger = SendLedger()
        self._inbound = InboundQueue(self.world)
        self._started_by_key: dict[str, str] = {}

    # -- conversations ----------------------------------------------------------

    async def start_conversation(
        self,
        participants: Sequence[Handle],
        first_message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
    ) -> StartedConversation:
        """Create (or reuse) the chat with exactly ``participants`` and send its first message."""
        handles = checks.check_participants(participants, self.world.owner)
        message = checks.check_first_message(first_message)
        checks.check_preference(preference)
        given_key = checks.check_idempotency_key(idempotency_key)
        if given_key is not None and given_key in self._started_by_key:
            conversation = self.world.conversation(self._started_by_key[given_key])
            return StartedConversation(conversation, self._ledger.replay(given_key, self.world))
        self._check_attachments(message)
        plan = self._plan(handles, message, preference)
        key = given_key or self._new_key()
        conversation = self.world.create_conversation(handles)
        receipt = self._send_plan(conversation.id, plan, key)
        self._started_by_key[key] = conversation.id
        return StartedConversation(self.world.conversation(conversation.id), receipt)

    def conversations(self, *, page_size: int = 50) -> AsyncIterator[Conversation]:
        size = checks.check_page_size(page_size)
        return self._conversation_pages(size)

    async def _conversation_pages(self, page_size: int) -> AsyncIterator[Conversation]:
        cursor: str | None = None
        while True:
            page, cursor = self.world.page_conversations(cursor, page_size)
            for conversation in page:
                yield conversation
            if cursor is None:
                return

    async def get_conversation(self, conversation_id: str) -> Conversation:
        return self.world.conversation(conversation_id)

    async def conversation_for(self, handle: Handle) -> Conversation:
        return self.world.create_conversation([checks.check_handle(handle)])

    def messages(self, conversation_id: str, *, page_size: int = 50) -> AsyncIterator[Message]:
        size = checks.check_page_size(page_size)
        self.world.conversation(conversation_id)
        return self._message_pages(conversation_id, size)

    async def _message_pages(self, conversation_id: str, page_size: int) -> AsyncIterator[Message]:
        cursor: str | None = None
        while True:
            page, cursor = self.world.page_messages(conversation_id, cursor, page_size)
            for message in page:
                yield message
            if cursor is None:
                return

    async def get_message(self, message_id: str) -> Message:
        return self.world.message(message_id)

    # -- sending ------------------------------------------------------------------

    async def send_message(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
    ) -> SendReceipt:
        """Send into a conversation, degraded by the policy for the service chosen."""
        checked = checks.check_message(message)
        checks.check_preference(preference)
        given_key = checks.check_idempotency_key(idempotency_key)
        if given_key is not None and given_key in self._ledger:
            return self._ledger.replay(given_key, self.world)
        conversation = self.world.conversation(conversation_id)
        self._check_attachments(checked)
        if checked.reply_to is not None:
            target = self.world.message(checked.reply_to.message_id)
            checks.check_reply_target(checked.reply_to, target, conversation_id)
        plan = self._plan(conversation.participants, checked, preference)
        return self._send_plan(conversation_id, plan, given_key or self._new_key())

    async def send_voice_memo(
        self,
        conversation_id: str,
        memo: VoiceMemo,
        *,
        idempotency_key: str | None = None,
    ) -> SendReceipt:
        """A voice memo on iMessage; elsewhere the policy sends it as media (or fails)."""
        checked = checks.check_voice_memo(memo)
        given_key = checks.check_idempotency_key(idempotency_key)
        if given_key is not None and given_key in self._ledger:
            return self._ledger.replay(given_key, self.world)
        conversation = self.world.conversation(conversation_id)
        if checked.audio.attachment_id is not None:
            self.world.attachment(checked.audio.attachment_id)
        service = self._choose(conversation.participants, ServicePreference.AUTO)
        media, degradations = plan_voice_memo(checked, service, self.policy)
        key = given_key or self._new_key()
        sent = self.world.send(
            conversation_id,
            (media or checked.audio,),
            preference=ServicePreference.pin(service),
            idempotency_key=key,
            voice_memo=media is None,
        )
        return self._ledger.record([sent], conversation_id, service, key, degradations)

    def _plan(
        self, participants: Sequence[Handle], message: OutgoingMessage, pref: ServicePreference
    ) -> MessagePlan:
        return plan_message(message, self._choose(participants, pref), self.policy)

    def _choose(self, participants: Sequence[Handle], pref: ServicePreference) -> Service:
        return choose_service([self.world.capabilities(h) for h in participants], pref)

    def _send_plan(self, conversation_id: str, plan: MessagePlan, key: str) -> SendReceipt:
        count = len(plan.messages)
        sent = [
            self.world.send(
                conversation_id,
                bubble.parts,
                effect=bubble.effect,
                reply_to=bubble.reply_to,
                preference=ServicePreference.pin(plan.service),
                idempotency_key=bubble_key(key, index, count),
            )
            for index, bubble in enumerate(plan.messages)
        ]
        return self._ledger.record(sent, conversation_id, plan.service, key, plan.degradations)

    def _new_key(self) -> str:
        return f"memory-{self.world.new_id('idempotency')}"

    def _check_attachments(self, message: OutgoingMessage) -> None:
        for attachment_id in checks.attachment_ids(message):
            self.world.attachment(attachment_id)

    # -- reactions and contentless actions ----------------------------------------------

    async def react(
        self, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> ActionResult:
        """A tapback; where there are none the policy sends it as text, skips it or fails."""
        return self._reaction(message_id, reaction, part_index, removing=False)

    async def remove_reaction(
        self, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> ActionResult:
        return self._reaction(message_id, reaction, part_index, removing=True)

    def _reaction(
        self, message_id: str, reaction: Reaction, part_index: int, *, removing: bool
    ) -> ActionResult:
        checked = checks.check_reaction(reaction)
        index = checks.check_part_index(part_index)
        target = self.world.message(message_id)
        if index >= len(target.parts):
            raise ValidationError(
                "part_index", f"{index} is not a part of a {len(target.parts)}-part message"
            )
        conversation = self.world.conversation(target.conversation_id)
        service = target.service or self._choose(conversation.participants, ServicePreference.AUTO)
        part = target.parts[index]
        quoted = part.text if isinstance(part, TextPart) else target.text
        plan = plan_reaction(checked, service, quoted, self.policy, removing=removing)
        if plan.reaction is not None:
            if removing:
                removed = self.world.unreact(message_id, plan.reaction, part_index=index)
                return ActionResult(removed, plan.degradations)
            self.world.react(message_id, plan.reaction, part_index=index)
            return ActionResult(True, plan.degradations)
        if plan.text is not None:
            key = self._new_key()
            sent = self.world.send(
                conversation.id,
                (TextPart(plan.text),),
                preference=ServicePreference.pin(service),
                idempotency_key=key,
            )
            self._ledger.record([sent], conversation.id, service, key, plan.degradations)
            return ActionResult(True, plan.degradations, message_id=sent.id)
        return ActionResult(False, plan.degradations)

    def _service_of(self, conversation: Conversation) -> Service | None:
        """The conversation's service, or the one a send would use now (``None``: unknown)."""
        if conversation.service is not None:
            return conversation.service
        try:
            return self._choose(conversation.participants, ServicePreference.AUTO)
        except UnsupportedError:
            return None

    def _action(self, conversation_id: str, feature: Feature) -> tuple[Conversation, ActionResult]:
        conversation = self.world.conversation(conversation_id)
        skipped = plan_action(
            feature, self._service_of(conversation), is_group=conversation.is_group
        )
        if skipped is not None:
            return conversation, ActionResult(False, (skipped,))
        return conversation, ActionResult(True)

    async def start_typing(self, conversation_id: str) -> ActionResult:
        conversation, result = self._action(conversation_id, Feature.TYPING)
        if result.performed:
            self.world.set_typing(conversation.id, True)
        return result

    async def stop_typing(self, conversation_id: str) -> ActionResult:
        conversation, result = self._action(conversation_id, Feature.TYPING)
        if result.performed:
            self.world.set_typing(conversation.id, False)
        return result

    async def mark_read(self, conversation_id: str) -> ActionResult:
        conversation, result = self._action(conversation_id, Feature.READ_RECEIPT)
        if result.performed:
            self.world.mark_read(conversation.id)
        return result

    async def share_contact_card(self, conversation_id: str) -> ActionResult:
        conversation, result = self._action(conversation_id, Feature.CONTACT_CARD)
        if result.performed:
            self.world.share_contact_card(conversation.id)
        return result

    # -- groups, attachments, capabilities ------------------------------------------

    async def add_participant(self, conversation_id: str, handle: Handle) -> Conversation:
        return self.world.add_participant(conversation_id, checks.check_handle(handle))

    async def remove_participant(self, conversation_id: str, handle: Handle) -> Conversation:
        return self.world.remove_participant(conversation_id, checks.check_handle(handle))

    async def upload_attachment(
        self, data: bytes, *, filename: str, content_type: str
    ) -> Attachment:
        raw = checks.check_upload(data, filename, content_type)
        return self.world.upload(raw, filename=filename, content_type=content_type)

    async def capabilities(self, handle: Handle) -> HandleCapabilities:
        return self.world.capabilities(checks.check_handle(handle))

    # -- inbound ------------------------------------------------------------------

    @property
    def sent(self) -> list[Message]:
        """Every outbound message this transport created, in order."""
        return self._ledger.sent

    @property
    def receipts(self) -> list[SendReceipt]:
        """Every receipt returned for a new send, in order."""
        return self._ledger.receipts

    def on_inbound(self, handler: InboundHandler) -> None:
        self._inbound.handler = handler

    @property
    def delivered(self) -> list[InboundEvent]:
        """Every event the inbound handler accepted, in order."""
        return self._inbound.delivered

    @property
    def pending_events(self) -> tuple[InboundEvent, ...]:
        """Events produced but not yet accepted by a handler, oldest first."""
        return self._inbound.pending

    async def deliver_pending(self) -> None:
        """Hand every pending event to the handler, in order, awaiting each.

        An event leaves the queue only once the handler returns, so a handler
        that raises sees it again on the next delivery (the exception
        propagates). With no handler registered, events wait.
        """
        await self._inbound.deliver()

    async def advance(self, seconds: float) -> None:
        """Move the world's clock on and deliver what happened."""
        self.world.advance(seconds)
        await self.deliver_pending()

    async def inject_message(
        self,
        sender: Handle | str,
        content: str | Sequence[Part],
        *,
        conversation_id: str | None = None,
    ) -> Message:
        """A message arrives from ``sender`` (their 1:1 chat unless one is named); delivered."""
        parts: tuple[Part, ...] = (
            (TextPart(content),) if isinstance(content, str) else tuple(content)
        )
        message = self.world.receive(sender, parts, conversation_id=conversation_id)
        await self.deliver_pending()
        return message

    async def inject_reaction(
        self, actor: Handle | str, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> None:
        self.world.receive_reaction(actor, message_id, reaction, part_index=part_index)
        await self.deliver_pending()

    async def inject_typing(
        self, handle: Handle | str, conversation_id: str, typing: bool = True
    ) -> None:
        self.world.set_typing(conversation_id, typing, handle=checks.check_handle(handle))
        await self.deliver_pending()

    def fail_next_send(self, handle: Handle | str, reason: str = "delivery failed") -> None:
        """Make the next message to a conversation with ``handle`` fail."""
        self.world.fail_next_send(handle, reason)
