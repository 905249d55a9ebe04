"""``InMemoryTransport``: the full ``Transport`` port over an in-memory :class:`World`.

It applies the same fallback policy as every adapter, so what a care test sees
(services, degradations, split bubbles) is what production does. Inbound
events reach the registered handler when the test moves the world on:
:meth:`InMemoryTransport.advance`, the ``inject_*`` methods and
:meth:`InMemoryTransport.deliver_pending`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.memory._inbound import InboundQueue
from adapters.memory.provider import MemoryProvider
from adapters.memory.world import World
from caresupport_transport import checks
from caresupport_transport.content import Part, Reaction, TextPart
from caresupport_transport.errors import ConfigurationError
from caresupport_transport.events import InboundEvent, LineReputation, LineStatus
from caresupport_transport.handles import Handle
from caresupport_transport.model import Message, SendReceipt
from caresupport_transport.policy import FallbackPolicy
from caresupport_transport.polls import Poll
from caresupport_transport.port import InboundHandler
from caresupport_transport.sending import split_key as bubble_key
from caresupport_transport.transport import DEFAULT_POLICY, ProviderTransport

__all__ = ["DEFAULT_POLICY", "InMemoryTransport", "bubble_key"]


class InMemoryTransport(ProviderTransport):
    """An in-memory ``Transport`` for care-logic tests (deterministic given a seed).

    It is the shared ``ProviderTransport`` over a :class:`MemoryProvider`, so
    what a care test sees (services, degradations, split bubbles, first-contact
    rules, re-sends) is what production does. The methods below move the world
    on and let tests read what happened.

    Args:
        world: the world to act in; a new one seeded with ``seed`` when ``None``.
        policy: how to degrade what a service cannot carry.
        seed: seeds the world this transport creates (give a seeded ``World``
            instead of both); ``None`` draws a random one (``transport.world.seed``).

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
        seed: int | None = None,
    ) -> None:
        if world is not None and seed is not None:
            raise ConfigurationError("give either a World or a seed for a new one, not both")
        self.world = world if world is not None else World(seed=seed)
        self._memory = MemoryProvider(self.world)
        super().__init__(self._memory, policy=policy, new_key=self._new_memory_key)
        self.receipts: list[SendReceipt] = []
        self._inbound = InboundQueue(self.world)

    def _new_memory_key(self) -> str:
        return f"memory-{self.world.new_id('idempotency')}"

    def _record(self, receipt: SendReceipt, *, new: bool) -> None:
        if new:
            self.receipts.append(receipt)

    # -- inbound ------------------------------------------------------------------

    @property
    def sent(self) -> list[Message]:
        """Every outbound message this transport created, in order."""
        return self._memory.sent

    def on_inbound(self, handler: InboundHandler) -> None:
        """Register the care logic's handler; events reach it through the shared relay."""
        super().on_inbound(handler)
        self._inbound.handler = self.inbound_relay()

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
        """Have ``actor`` react to a message, then deliver the resulting event."""
        self.world.receive_reaction(actor, message_id, reaction, part_index=part_index)
        await self.deliver_pending()

    async def inject_edit(self, message_id: str, text: str, *, part_index: int = 0) -> Message:
        """The sender of a received message edits one of its text parts; delivered.

        The edit limits hold as for our own (iMessage, 5 edits, 15 minutes).
        """
        edited = self.world.edit(message_id, part_index, text)
        await self.deliver_pending()
        return edited

    async def inject_typing(
        self, handle: Handle | str, conversation_id: str, typing: bool = True
    ) -> None:
        """Have ``handle`` start (or stop) typing, then deliver the resulting event."""
        self.world.set_typing(conversation_id, typing, handle=checks.check_handle(handle))
        await self.deliver_pending()

    async def inject_vote(
        self, voter: Handle | str, poll_id: str, option_id: str, *, remove: bool = False
    ) -> None:
        """Have ``voter`` vote for a poll option (or take the vote back), then deliver it."""
        self.world.vote(voter, poll_id, option_id, remove=remove)
        await self.deliver_pending()

    async def inject_poll(
        self, sender: Handle | str, options: Sequence[str], *, conversation_id: str | None = None
    ) -> Poll:
        """Someone else's native poll arrives (their 1:1 chat unless one is named); delivered."""
        poll = self.world.receive_poll(sender, options, conversation_id=conversation_id)
        await self.deliver_pending()
        return poll

    async def deliver_after_failure(self, message_id: str) -> None:
        """Report a failed message delivered after all (as Linq may), then deliver the event."""
        self.world.deliver_after_failure(message_id)
        await self.deliver_pending()

    async def inject_reconciled(
        self,
        sender: Handle | str,
        text: str,
        *,
        sent_at: datetime,
        conversation_id: str | None = None,
    ) -> Message:
        """A message sent at ``sent_at`` arrives late, recovered by reconciliation; delivered."""
        message = self.world.receive_reconciled(
            sender, (TextPart(text),), sent_at=sent_at, conversation_id=conversation_id
        )
        await self.deliver_pending()
        return message

    async def inject_contact_card(
        self,
        sender: Handle | str,
        first_name: str,
        last_name: str | None = None,
        *,
        media_url: str | None = None,
    ) -> None:
        """``sender`` shares their contact card with our line, then the event is delivered."""
        self.world.receive_contact_card(sender, first_name, last_name, media_url=media_url)
        await self.deliver_pending()

    async def set_line_status(
        self, status: LineStatus | None = None, reputation: LineReputation | None = None
    ) -> None:
        """Our line is flagged or changes reputation, then the event is delivered."""
        self.world.set_line_status(status, reputation)
        await self.deliver_pending()

    def fail_next_send(self, handle: Handle | str, reason: str = "delivery failed") -> None:
        """Make the next message to a conversation with ``handle`` fail."""
        self.world.fail_next_send(handle, reason)
