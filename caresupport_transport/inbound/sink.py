"""``InboundSink``: where a receiver hands each inbound event (a dispatcher or an inbox)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound.dispatcher import DispatchOutcome
from caresupport_transport.inbound.store import EventStore

__all__ = ["InboundSink"]


class InboundSink(Protocol):
    """Takes inbound events from a webhook receiver or a poller.

    An :class:`~caresupport_transport.inbound.Inbox` stores each event and
    answers ``QUEUED`` (a worker handles it later); an
    :class:`~caresupport_transport.inbound.InboundDispatcher` runs the handler
    first and answers ``HANDLED`` (acknowledging after the handler). Either
    answers ``DUPLICATE`` or ``FILTERED``; a receiver acknowledges whatever
    comes back and retries whatever raises.
    """

    @property
    def store(self) -> EventStore:
        """Where events (and a poller's cursors) are remembered."""
        ...

    async def dispatch(self, event: InboundEvent) -> DispatchOutcome:
        """Take one event; raising means it was not taken (do not acknowledge)."""
        ...

    async def dispatch_many(self, events: Iterable[InboundEvent]) -> list[DispatchOutcome]:
        """Take events in order; stops at, and raises, the first failure."""
        ...
