"""Contract: inbound messages and reactions reach the care logic's handler."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from caresupport_transport import (
    Direction,
    InboundEvent,
    MessageReceived,
    OutgoingMessage,
    Reaction,
    ReactionAdded,
    ReactionKind,
)

from .harness import Capability, Harness
from .support import CAREGIVER, GRANDSON, history, start


def received_messages(events: Sequence[InboundEvent]) -> list[MessageReceived]:
    return [e for e in events if isinstance(e, MessageReceived)]


async def test_an_inbound_message_reaches_the_handler(harness: Harness) -> None:
    message_id = await harness.inject_inbound_text(CAREGIVER, None, "Did mum take her pills?")
    [event] = received_messages(harness.received)
    assert (message_id, CAREGIVER, Direction.INBOUND, "Did mum take her pills?") == (
        event.message.id,
        event.message.sender,
        event.message.direction,
        event.message.text,
    )


async def test_an_inbound_reply_lands_in_the_existing_conversation(harness: Harness) -> None:
    conversation = await start(harness.transport, GRANDSON)
    await harness.inject_inbound_text(GRANDSON, conversation.id, "ok thanks")
    [event] = received_messages(harness.received)
    assert conversation.id == event.conversation_id
    texts = [m.text for m in await history(harness.transport, conversation.id)]
    assert texts[0] == "ok thanks"


async def test_the_care_handler_can_answer_in_the_same_conversation(harness: Harness) -> None:
    answered: list[str] = []

    async def care_handler(event: InboundEvent) -> None:
        if isinstance(event, MessageReceived) and event.message.direction is Direction.INBOUND:
            receipt = await harness.transport.send_message(
                event.conversation_id, OutgoingMessage.of_text("Yes, at 8am.")
            )
            answered.append(receipt.conversation_id)

    harness.transport.on_inbound(care_handler)
    await harness.inject_inbound_text(CAREGIVER, None, "Did mum take her pills?")
    assert len(answered) == 1
    texts = [m.text for m in await history(harness.transport, answered[0])]
    assert texts == ["Yes, at 8am.", "Did mum take her pills?"]


async def test_a_new_handler_replaces_the_old_one(harness: Harness) -> None:
    seen: list[InboundEvent] = []

    async def replacement(event: InboundEvent) -> None:
        seen.append(event)

    harness.transport.on_inbound(replacement)
    await harness.inject_inbound_text(CAREGIVER, None, "hello")
    assert [e.message.text for e in received_messages(seen)] == ["hello"]
    assert received_messages(harness.received) == []


@pytest.mark.needs(Capability.IMESSAGE)
async def test_an_inbound_reaction_reaches_the_handler(harness: Harness) -> None:
    conversation = await start(harness.transport, CAREGIVER)
    receipt = await harness.transport.send_message(
        conversation.id, OutgoingMessage.of_text("Physio moved to Friday.")
    )
    like = Reaction(ReactionKind.LIKE)
    await harness.inject_inbound_reaction(CAREGIVER, receipt.message_id, like)
    reactions = [e for e in harness.received if isinstance(e, ReactionAdded) and not e.is_from_me]
    assert [(receipt.message_id, like, CAREGIVER)] == [
        (e.message_id, e.reaction, e.actor) for e in reactions
    ]
