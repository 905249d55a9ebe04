"""A claim left by a dead worker runs out before Linq stops redelivering (fast, not soaked).

Found by the webhook soak: with a 60 s lease, a worker that died while handling
a *redelivery* left a claim that answered every later attempt "in progress"
until Linq gave up, and the event was lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import accumulate

import pytest

from adapters.linq.simulator import RETRY_DELAYS
from caresupport_transport import DeliveryStatus, Direction, Handle, Message, Service, TextPart
from caresupport_transport.events import MessageReceived
from caresupport_transport.inbound import (
    DEFAULT_LEASE,
    DispatchOutcome,
    InboundDispatcher,
    MemoryEventStore,
)
from caresupport_transport.inbound.dispatcher import event_keys

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ATTEMPT_TIMES = (0.0, *accumulate(RETRY_DELAYS))
"""Seconds after the first attempt at which Linq makes each attempt (0, 2, 6, 14, 30, 60)."""


def received(event_id: str) -> MessageReceived:
    message = Message(
        id=f"msg-{event_id}",
        conversation_id="chat-1",
        direction=Direction.INBOUND,
        sender=Handle("+15551234567"),
        parts=(TextPart("Can someone bring her glasses?"),),
        service=Service.IMESSAGE,
        status=DeliveryStatus.DELIVERED,
        created_at=T0,
    )
    return MessageReceived(
        event_id=event_id, occurred_at=T0, conversation_id="chat-1", message=message
    )


@pytest.mark.parametrize("died_on_attempt", range(1, len(ATTEMPT_TIMES)))
def test_the_default_lease_ends_before_linqs_next_attempt_after_any_death(
    died_on_attempt: int,
) -> None:
    died_at = ATTEMPT_TIMES[died_on_attempt - 1]
    later = ATTEMPT_TIMES[died_on_attempt:]

    assert any(died_at + DEFAULT_LEASE.total_seconds() <= t for t in later)


async def test_an_event_whose_worker_died_on_linqs_fifth_attempt_is_handled_on_the_sixth() -> None:
    store = MemoryEventStore()
    event = received("evt-died-mid-handler")
    fifth, sixth = (T0 + timedelta(seconds=t) for t in ATTEMPT_TIMES[4:6])
    # The dead worker's claim: taken on the fifth attempt, never completed nor released.
    await store.claim(event_keys(event), token="dead", now=fifth, until=fifth + DEFAULT_LEASE)
    handled: list[str] = []

    async def handler(inbound: object) -> None:
        handled.append(event.event_id)

    dispatcher = InboundDispatcher(handler, store, clock=lambda: sixth)

    assert DispatchOutcome.HANDLED == await dispatcher.dispatch(event)
    assert [event.event_id] == handled
