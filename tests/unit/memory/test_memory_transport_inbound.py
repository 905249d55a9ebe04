"""InMemoryTransport specifics beyond the port: event delivery, keys, test attributes."""

from __future__ import annotations

import pytest

from adapters.memory import InMemoryTransport, RecipientKind, World, bubble_key
from caresupport_transport import (
    ConfigurationError,
    InboundEvent,
    MessageReceived,
    OutgoingMessage,
)

ANN = "+15554440001"


def texts(events: list[InboundEvent]) -> list[str]:
    return [e.message.text for e in events if isinstance(e, MessageReceived)]


async def test_events_wait_until_a_handler_is_registered() -> None:
    transport = InMemoryTransport()
    await transport.inject_message(ANN, "first")
    assert len(transport.pending_events) == 2
    got: list[InboundEvent] = []

    async def handler(event: InboundEvent) -> None:
        got.append(event)

    transport.on_inbound(handler)
    await transport.deliver_pending()
    assert texts(got) == ["first"]
    assert list(transport.pending_events) == []


async def test_an_event_the_handler_fails_on_is_delivered_again() -> None:
    transport = InMemoryTransport()
    attempts: list[str] = []

    async def flaky(event: InboundEvent) -> None:
        if isinstance(event, MessageReceived):
            attempts.append(event.message.text)
            if len(attempts) == 1:
                raise RuntimeError("database down")

    transport.on_inbound(flaky)
    with pytest.raises(RuntimeError):
        await transport.inject_message(ANN, "Can I double the dose?")
    await transport.deliver_pending()
    assert attempts == ["Can I double the dose?", "Can I double the dose?"]
    assert texts(transport.delivered) == ["Can I double the dose?"]


async def test_events_the_handler_causes_are_delivered_in_the_same_run_in_order() -> None:
    transport = InMemoryTransport()
    transport.world.add_recipient(ANN, RecipientKind.IMESSAGE)
    seen: list[str] = []

    async def replying(event: InboundEvent) -> None:
        seen.append(type(event).__name__)
        if isinstance(event, MessageReceived) and event.message.text == "ping":
            await transport.send_message(event.conversation_id, OutgoingMessage.of_text("pong"))
            await transport.inject_message(ANN, "thanks", conversation_id=event.conversation_id)

    transport.on_inbound(replying)
    await transport.inject_message(ANN, "ping")
    assert seen == ["ConversationCreated", "MessageReceived", "MessageReceived"]
    assert [m.text for m in transport.sent] == ["pong"]


async def test_sent_and_receipts_record_every_new_send_once() -> None:
    transport = InMemoryTransport()
    chat = await transport.conversation_for(transport.world.add_recipient(ANN))
    receipt = await transport.send_message(
        chat.id, OutgoingMessage.of_text("hi"), idempotency_key="k"
    )
    await transport.send_message(chat.id, OutgoingMessage.of_text("hi"), idempotency_key="k")
    assert [receipt] == transport.receipts
    assert [m.text for m in transport.sent] == ["hi"]


async def test_generated_keys_are_deterministic_per_seed() -> None:
    async def keys(seed: int) -> list[str]:
        transport = InMemoryTransport(seed=seed)
        chat = await transport.conversation_for(transport.world.add_recipient(ANN))
        receipts = [
            await transport.send_message(chat.id, OutgoingMessage.of_text("hi")) for _ in range(2)
        ]
        return [r.idempotency_key for r in receipts]

    first = await keys(1)
    assert first == await keys(1)
    assert first[0] != first[1]


async def test_two_transports_over_one_world_never_share_a_generated_key() -> None:
    world = World()
    one, two = InMemoryTransport(world), InMemoryTransport(world)
    chat = await one.conversation_for(world.add_recipient(ANN))
    first = await one.send_message(chat.id, OutgoingMessage.of_text("from one"))
    second = await two.send_message(chat.id, OutgoingMessage.of_text("from two"))
    assert first.message_id != second.message_id


def test_a_world_and_a_seed_together_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        InMemoryTransport(World(), seed=3)


def test_bubble_keys_derive_from_the_callers_key() -> None:
    assert bubble_key("k", 0, 1) == "k"
    assert [bubble_key("k", n, 2) for n in range(2)] == ["k:1", "k:2"]
    assert len(bubble_key("x" * 255, 1, 2)) <= 255
