"""Hands the world's events to the care logic's handler, in order, losing none (private)."""

from __future__ import annotations

from collections import deque

from adapters.memory.world import World
from caresupport_transport.events import InboundEvent
from caresupport_transport.port import InboundHandler

__all__ = ["InboundQueue"]


class InboundQueue:
    """Events waiting for the handler; one leaves the queue only once handled.

    Attributes:
        delivered: every event the handler accepted, in order.
    """

    def __init__(self, world: World) -> None:
        self._world = world
        self.handler: InboundHandler | None = None
        self.delivered: list[InboundEvent] = []
        self._pending: deque[InboundEvent] = deque()
        self._delivering = False

    @property
    def pending(self) -> tuple[InboundEvent, ...]:
        return (*self._pending, *self._world.outbox)

    async def deliver(self) -> None:
        """Hand every pending event to the handler, in order, awaiting each.

        A handler that raises sees the same event again on the next delivery
        (the exception propagates). With no handler, events wait. Events the
        handler causes are delivered in the same run; a nested call (the
        handler moving the world) only queues, so order holds.
        """
        self._pending.extend(self._world.drain())
        if self.handler is None or self._delivering:
            return
        self._delivering = True
        try:
            while self._pending:
                event = self._pending[0]
                await self.handler(event)
                self._pending.popleft()
                self.delivered.append(event)
                self._pending.extend(self._world.drain())
        finally:
            self._delivering = False
