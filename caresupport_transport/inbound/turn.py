"""``Turn``: a key's quick events handed to the care logic together, once.

A worker given a :class:`~caresupport_transport.inbound.Coalescing` hands the
handler a ``Turn`` instead of one event: every event that waited for the order
key, in the order accepted. The turn's entries are removed from the inbox only
when the handler returns; if it raises, the whole turn comes back (with any
message that arrived since). While the handler runs, a newer message for the
key sets :attr:`Turn.superseded`, so a stale answer can be dropped before it
is sent; that message starts the next turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs

from caresupport_transport.content import MediaPart
from caresupport_transport.events import InboundEvent, MessageReceived
from caresupport_transport.inbound.replies import keyed_reply, reply_source
from caresupport_transport.model import Message

__all__ = ["Turn"]


async def _nothing_newer() -> bool:
    return False


def _events(value: tuple[InboundEvent, ...] | list[InboundEvent]) -> tuple[InboundEvent, ...]:
    return tuple(value)


@attrs.define
class Turn:
    """The events of one order key handled together (see the module notes).

    Attributes:
        order_key: the key the events share (a conversation, or a family).
        events: the events, in the order they were accepted (never empty).
        attempt: which attempt at this turn this is (1 the first time).
    """

    order_key: str
    events: tuple[InboundEvent, ...] = attrs.field(converter=_events)
    attempt: int = 1
    _probe: Callable[[], Awaitable[bool]] = attrs.field(
        default=_nothing_newer, kw_only=True, repr=False, alias="probe"
    )
    _superseded: asyncio.Event = attrs.field(factory=asyncio.Event, init=False, repr=False)

    @property
    def messages(self) -> tuple[Message, ...]:
        """The received messages among the events, in order."""
        return tuple(e.message for e in self.events if isinstance(e, MessageReceived))

    @property
    def text(self) -> str:
        """The messages' texts, one per line, in order (messages without text left out)."""
        return "\n".join(m.text for m in self.messages if m.text)

    @property
    def media(self) -> tuple[MediaPart, ...]:
        """Every media part the messages carry, in order."""
        return tuple(p for m in self.messages for p in m.parts if isinstance(p, MediaPart))

    def reply_key(self, label: str = "reply") -> str:
        """The idempotency key for the reply called ``label`` to this turn; the same every time.

        Keyed by every event of the turn: the turn handled again after a
        failure (or a worker's death) sends under the same key, so the person
        is not texted twice; a turn that gained a message meanwhile is a new
        turn and gets a new key.

        Raises:
            ValidationError: ``label`` is not a non-empty string of at most 200 characters.
        """
        return keyed_reply("turn:" + "\x1f".join(reply_source(e) for e in self.events), label)

    @property
    def superseded(self) -> bool:
        """Whether a newer message for the key arrived while the turn ran (as last seen)."""
        return self._superseded.is_set()

    async def wait_superseded(self) -> None:
        """Return once a newer message for the key arrives (for racing a slow answer)."""
        await self._superseded.wait()

    async def check_superseded(self) -> bool:
        """Ask the store now whether a newer message waits; the answer also sets the flag."""
        if not self._superseded.is_set() and await self._probe():
            self._superseded.set()
        return self._superseded.is_set()

    def supersede(self) -> None:
        """Mark the turn superseded (the worker does, on seeing a newer message)."""
        self._superseded.set()
