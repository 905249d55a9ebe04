"""Contract: starting, finding and listing conversations."""

from __future__ import annotations

import pytest

from caresupport_transport import (
    Handle,
    NotFoundError,
    OutgoingMessage,
    Service,
    Transport,
    ValidationError,
)

from .harness import Capability
from .support import (
    CAREGIVER,
    GRANDSON,
    HELLO,
    NEIGHBOUR,
    NURSE,
    collect_conversations,
    history,
    start,
)


async def test_starting_with_one_person_makes_a_one_to_one_chat(transport: Transport) -> None:
    started = await transport.start_conversation([CAREGIVER], HELLO)
    assert not started.conversation.is_group
    assert started.conversation.participants == (CAREGIVER,)
    assert started.conversation.id == started.receipt.conversation_id


@pytest.mark.needs(Capability.GROUPS)
async def test_starting_with_several_people_makes_a_group(transport: Transport) -> None:
    started = await transport.start_conversation([CAREGIVER, NURSE, NEIGHBOUR], HELLO)
    assert started.conversation.is_group
    assert {CAREGIVER, NURSE, NEIGHBOUR} == set(started.conversation.participants)


async def test_the_first_message_is_in_the_new_conversation(transport: Transport) -> None:
    started = await transport.start_conversation([CAREGIVER], HELLO)
    messages = await history(transport, started.conversation.id)
    assert [HELLO.text] == [m.text for m in messages]
    assert [started.receipt.message_id] == [m.id for m in messages]


async def test_a_started_conversation_knows_its_service(transport: Transport) -> None:
    started = await transport.start_conversation([GRANDSON], HELLO)
    fetched = await transport.get_conversation(started.conversation.id)
    assert fetched.service == Service.SMS


async def test_get_conversation_returns_it_by_id(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    fetched = await transport.get_conversation(conversation.id)
    assert (conversation.id, conversation.participants) == (fetched.id, fetched.participants)


async def test_an_unknown_conversation_is_not_found(transport: Transport) -> None:
    with pytest.raises(NotFoundError):
        await transport.get_conversation("00000000-0000-4000-8000-000000000000")


async def test_conversation_for_a_handle_sends_nothing(transport: Transport) -> None:
    conversation = await transport.conversation_for(NURSE)
    assert conversation.participants == (NURSE,)
    assert await history(transport, conversation.id) == []


async def test_conversation_for_finds_the_existing_one_to_one_chat(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    assert conversation.id == (await transport.conversation_for(CAREGIVER)).id


async def test_listing_pages_through_every_conversation_once(transport: Transport) -> None:
    started = {(await start(transport, Handle(f"+1651555020{n}"))).id for n in range(7)}
    listed = [c.id for c in await collect_conversations(transport, page_size=2)]
    assert len(listed) == len(set(listed))
    assert started == set(listed)


async def test_a_page_size_out_of_range_is_refused(transport: Transport) -> None:
    with pytest.raises(ValidationError) as info:
        await collect_conversations(transport, page_size=0)
    assert info.value.field == "page_size"


async def test_history_pages_newest_first(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    for n in range(4):
        await transport.send_message(conversation.id, OutgoingMessage.of_text(f"Reminder {n}"))
    texts = [m.text for m in await history(transport, conversation.id, page_size=2)]
    assert ["Reminder 3", "Reminder 2", "Reminder 1", "Reminder 0", HELLO.text] == texts


async def test_history_of_an_unknown_conversation_is_not_found(transport: Transport) -> None:
    with pytest.raises(NotFoundError):
        await history(transport, "00000000-0000-4000-8000-000000000000")


async def test_a_conversation_from_conversation_for_takes_its_first_message(
    transport: Transport,
) -> None:
    conversation = await transport.conversation_for(NURSE)
    receipt = await transport.send_message(conversation.id, OutgoingMessage.of_text("Hello"))
    assert ["Hello"] == [m.text for m in await history(transport, conversation.id)]
    assert (NURSE,) == (await transport.get_conversation(conversation.id)).participants
    assert receipt.conversation_id == (await transport.conversation_for(NURSE)).id
