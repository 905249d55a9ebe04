"""What the contract suite needs besides the port: a way to arrange and move the world.

Every adapter joins the suite with a factory in :data:`HARNESS_FACTORIES`: an
async context manager yielding a :class:`Harness` whose ``transport`` is the
adapter under test, wired to a world the hooks control. The memory adapter's
world is the ``World`` itself; an HTTP adapter's is a simulator standing on the
same ``World``. The hooks stay provider-neutral on purpose.

A factory takes the transport's ``policy`` (keyword; the default policy when not
given), so a scenario can run every target under, say, ``resend_on_failure``.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from adapters.memory import InMemoryTransport, RecipientKind
from caresupport_transport import (
    ConversationHealth,
    FallbackPolicy,
    Handle,
    InboundEvent,
    Reaction,
    Transport,
)

__all__ = [
    "ALL_CAPABILITIES",
    "DEFAULT_POLICY",
    "HARNESS_FACTORIES",
    "Capability",
    "Harness",
    "HarnessFactory",
    "MemoryHarness",
    "memory_harness",
]

DEFAULT_POLICY = FallbackPolicy()


class Capability(enum.Enum):
    """What a scenario may need of a target beyond 1:1 SMS with media by URL.

    A scenario that needs one says so with ``@pytest.mark.needs(Capability.X)``
    (or on one parameter); the suite asks the target's harness and skips where
    the provider genuinely cannot do it, never by the target's name.
    """

    IMESSAGE = "imessage"
    """People reachable on iMessage (effects, tapbacks, edits, native polls...)."""
    RCS = "rcs"
    """People reachable on RCS."""
    GROUPS = "groups"
    """Group conversations."""
    UPLOADS = "uploads"
    """Files stored with the provider and sent by attachment id."""
    OPT_OUT_OVERRIDE = "opt_out_override"
    """A final courtesy message through an opt-out (``override_optout``)."""
    CHAT_HEALTH = "chat_health"
    """Each conversation's health, reported with its message events (Linq's ``health_status``)."""
    EDIT_EVENTS = "edit_events"
    """Edits reach the handler as ``MessageEdited`` (Linq: 2026-02-03 payloads only)."""


ALL_CAPABILITIES = frozenset(Capability)


class Harness(Protocol):
    """The adapter under test and the hooks that play the outside world."""

    @property
    def transport(self) -> Transport:
        """The adapter under test; a recording handler is registered on it."""
        ...

    @property
    def received(self) -> Sequence[InboundEvent]:
        """Every event the recording handler got, in order."""
        ...

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the target's provider can do (scenarios marked ``needs`` ask this)."""
        ...

    @property
    def requests_made(self) -> int:
        """Requests the transport has made to its provider so far.

        An HTTP target counts the API requests its simulator answered (webhook
        deliveries are not requests the transport made). The memory target has
        no provider behind a wire and counts 0; a memory *provider* behind a
        shared transport may count its calls instead. Scenarios assert that bad
        input leaves this number unchanged.
        """
        ...

    def add_recipient(self, handle: Handle, kind: RecipientKind) -> None:
        """Make ``handle`` reachable the way ``kind`` says."""
        ...

    def fail_next_send(self, handle: Handle) -> None:
        """Make the next message to a conversation with ``handle`` fail."""
        ...

    async def deliver_after_failure(self, message_id: str) -> None:
        """A message the world reported failed is reported delivered after all (Linq may)."""
        ...

    def delete_message(self, message_id: str) -> None:
        """The provider deletes a message (or its retention window passes)."""
        ...

    def set_health(self, conversation_id: str, health: ConversationHealth) -> None:
        """The provider judges a conversation's health anew (``AT_RISK``, ``CRITICAL``...)."""
        ...

    async def advance(self, seconds: float) -> None:
        """Move the world's clock on and deliver what happened to the handler."""
        ...

    async def inject_inbound_text(
        self, sender: Handle, conversation_id: str | None, text: str
    ) -> str:
        """``sender`` writes ``text`` (in their 1:1 chat when no id); returns the message id."""
        ...

    async def inject_inbound_reaction(
        self, actor: Handle, message_id: str, reaction: Reaction
    ) -> None:
        """``actor`` reacts to a message; delivered to the handler."""
        ...

    async def inject_poll_vote(
        self, voter: Handle, poll_id: str, option_id: str, *, remove: bool = False
    ) -> None:
        """``voter`` votes for a native poll's option (or takes it back); delivered."""
        ...

    async def inject_inbound_edit(self, message_id: str, text: str) -> None:
        """The sender of a received message edits its first part; delivered to the handler."""
        ...


class HarnessFactory(Protocol):
    """Makes a fresh harness whose transport follows ``policy``."""

    def __call__(
        self, *, policy: FallbackPolicy = DEFAULT_POLICY
    ) -> contextlib.AbstractAsyncContextManager[Harness]: ...


class MemoryHarness:
    """The in-memory adapter, its world driven directly."""

    def __init__(self, policy: FallbackPolicy = DEFAULT_POLICY) -> None:
        self.memory = InMemoryTransport(seed=2026, policy=policy)
        self.events: list[InboundEvent] = []
        self.memory.on_inbound(self._record)

    async def _record(self, event: InboundEvent) -> None:
        self.events.append(event)

    @property
    def transport(self) -> Transport:
        return self.memory

    @property
    def received(self) -> Sequence[InboundEvent]:
        return self.events

    @property
    def requests_made(self) -> int:
        return 0

    @property
    def capabilities(self) -> frozenset[Capability]:
        return ALL_CAPABILITIES

    def add_recipient(self, handle: Handle, kind: RecipientKind) -> None:
        self.memory.world.add_recipient(handle, kind)

    def fail_next_send(self, handle: Handle) -> None:
        self.memory.fail_next_send(handle)

    async def advance(self, seconds: float) -> None:
        await self.memory.advance(seconds)

    async def deliver_after_failure(self, message_id: str) -> None:
        await self.memory.deliver_after_failure(message_id)

    def delete_message(self, message_id: str) -> None:
        self.memory.world.delete_message(message_id)

    def set_health(self, conversation_id: str, health: ConversationHealth) -> None:
        self.memory.world.set_health(conversation_id, health)

    async def inject_inbound_text(
        self, sender: Handle, conversation_id: str | None, text: str
    ) -> str:
        message = await self.memory.inject_message(sender, text, conversation_id=conversation_id)
        return message.id

    async def inject_inbound_reaction(
        self, actor: Handle, message_id: str, reaction: Reaction
    ) -> None:
        await self.memory.inject_reaction(actor, message_id, reaction)

    async def inject_poll_vote(
        self, voter: Handle, poll_id: str, option_id: str, *, remove: bool = False
    ) -> None:
        await self.memory.inject_vote(voter, poll_id, option_id, remove=remove)

    async def inject_inbound_edit(self, message_id: str, text: str) -> None:
        await self.memory.inject_edit(message_id, text)


@contextlib.asynccontextmanager
async def memory_harness(*, policy: FallbackPolicy = DEFAULT_POLICY) -> AsyncIterator[Harness]:
    yield MemoryHarness(policy)


HARNESS_FACTORIES: dict[str, HarnessFactory] = {"memory": memory_harness}
"""Adapter name -> harness factory; each entry runs the whole suite once."""
