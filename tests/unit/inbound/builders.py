"""Domain events, fake clocks and controllable sleeps for the dispatcher's tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import attrs

from caresupport_transport import (
    DeliveryStatus,
    Direction,
    Handle,
    InboundEvent,
    Message,
    MessageReceived,
    Service,
    TextPart,
    TypingStarted,
    UnknownEvent,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def received(
    event_id: str,
    *,
    conversation: str = "chat-1",
    message_id: str | None = None,
    text: str = "Did Mum take her 8 am pills?",
    direction: Direction = Direction.INBOUND,
) -> MessageReceived:
    message = Message(
        id=message_id or f"msg-{event_id}",
        conversation_id=conversation,
        direction=direction,
        sender=Handle("+15551234567"),
        parts=(TextPart(text),),
        service=Service.IMESSAGE,
        status=DeliveryStatus.DELIVERED,
        created_at=T0,
    )
    return MessageReceived(
        event_id=event_id, occurred_at=T0, conversation_id=conversation, message=message
    )


def typing(event_id: str, *, conversation: str = "chat-1") -> TypingStarted:
    return TypingStarted(event_id=event_id, occurred_at=T0, conversation_id=conversation)


def unknown(event_id: str) -> UnknownEvent:
    return UnknownEvent(
        event_id=event_id, occurred_at=T0, event_type="account.updated", payload={"x": 1}
    )


@attrs.define
class FakeClock:
    """A clock tests move by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@attrs.define
class Recorder:
    """A handler that records what it was given (and can be told to fail)."""

    handled: list[InboundEvent] = attrs.field(factory=list)
    failures_left: int = 0

    async def __call__(self, event: InboundEvent) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("care logic is down")
        self.handled.append(event)


@attrs.define
class ManualSleep:
    """A sleep that returns only when the test lets it; ``waiting`` yields each request."""

    waiting: asyncio.Queue[tuple[float, asyncio.Future[None]]] = attrs.field(factory=asyncio.Queue)

    async def __call__(self, seconds: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self.waiting.put((seconds, wake))
        await wake


async def settle() -> None:
    """Let every runnable task run until it blocks (no time passes)."""
    for _ in range(50):
        await asyncio.sleep(0)
