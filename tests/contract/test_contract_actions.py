"""Contract: reactions, typing, read receipts, contact cards and voice memos."""

from __future__ import annotations

import pytest

from caresupport_transport import (
    DegradationAction,
    Feature,
    Handle,
    MediaPart,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    Transport,
    VoiceMemo,
)

from .harness import Capability
from .support import CAREGIVER, GRANDSON, NEIGHBOUR, NURSE, history, outline, start

LOVE = Reaction(ReactionKind.LOVE)
MEMO = VoiceMemo(MediaPart(url="https://files.example.org/goodnight.m4a", content_type="audio/m4a"))


async def sent_message_id(transport: Transport, person: Handle) -> tuple[str, str]:
    """A conversation with ``person`` and the id of a message sent in it."""
    conversation = await start(transport, person)
    receipt = await transport.send_message(conversation.id, OutgoingMessage.of_text("See you at 3"))
    return conversation.id, receipt.message_id


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_tapback_on_imessage_is_a_reaction(transport: Transport) -> None:
    _, message_id = await sent_message_id(transport, CAREGIVER)
    result = await transport.react(message_id, LOVE)
    assert (result.performed, result.degradations, result.message_id) == (True, (), None)


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_reaction_can_be_removed_on_imessage(transport: Transport) -> None:
    _, message_id = await sent_message_id(transport, CAREGIVER)
    await transport.react(message_id, LOVE)
    result = await transport.remove_reaction(message_id, LOVE)
    assert (result.performed, result.degradations) == (True, ())


async def test_a_tapback_on_sms_becomes_a_text_and_is_reported(transport: Transport) -> None:
    conversation_id, message_id = await sent_message_id(transport, GRANDSON)
    result = await transport.react(message_id, LOVE)
    assert result.performed
    assert [(d.feature, d.action) for d in result.degradations] == [
        (Feature.TAPBACK, DegradationAction.CONVERTED)
    ]
    assert result.message_id is not None
    newest = (await history(transport, conversation_id))[0]
    assert (result.message_id, 'Loved "See you at 3"') == (newest.id, newest.text)


async def test_the_same_tapback_on_sms_twice_sends_one_text(transport: Transport) -> None:
    conversation_id, message_id = await sent_message_id(transport, GRANDSON)
    first = await transport.react(message_id, LOVE)
    again = await transport.react(message_id, LOVE)
    texts = [m.text for m in await history(transport, conversation_id)]
    assert first.message_id == again.message_id
    assert 1 == texts.count('Loved "See you at 3"')


async def test_removing_a_tapback_on_sms_is_skipped_and_reported(transport: Transport) -> None:
    conversation_id, message_id = await sent_message_id(transport, GRANDSON)
    before = len(await history(transport, conversation_id))
    result = await transport.remove_reaction(message_id, LOVE)
    assert not result.performed
    assert [(d.feature, d.action) for d in result.degradations] == [
        (Feature.TAPBACK, DegradationAction.SKIPPED)
    ]
    assert before == len(await history(transport, conversation_id))


@pytest.mark.needs(Capability.IMESSAGE)
async def test_typing_starts_and_stops_in_an_imessage_chat(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    started = await transport.start_typing(conversation.id)
    stopped = await transport.stop_typing(conversation.id)
    assert [(r.performed, r.degradations) for r in (started, stopped)] == [(True, ()), (True, ())]


async def test_typing_is_skipped_and_reported_on_sms(transport: Transport) -> None:
    conversation = await start(transport, GRANDSON)
    result = await transport.start_typing(conversation.id)
    assert (
        result.performed,
        [(d.feature, d.action) for d in result.degradations],
    ) == (False, [(Feature.TYPING, DegradationAction.SKIPPED)])


@pytest.mark.needs(Capability.GROUPS)
async def test_typing_is_skipped_and_reported_in_groups(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER, NURSE, NEIGHBOUR)
    result = await transport.start_typing(conversation.id)
    assert not result.performed
    assert [d.feature for d in result.degradations] == [Feature.TYPING]
    assert "group" in str(result.degradations[0])


@pytest.mark.needs(Capability.IMESSAGE)
async def test_marking_read_on_imessage_is_performed(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    result = await transport.mark_read(conversation.id)
    assert (result.performed, result.degradations) == (True, ())


async def test_marking_read_on_sms_is_skipped_and_reported(transport: Transport) -> None:
    conversation = await start(transport, GRANDSON)
    result = await transport.mark_read(conversation.id)
    assert (
        result.performed,
        [d.feature for d in result.degradations],
    ) == (False, [Feature.READ_RECEIPT])


@pytest.mark.parametrize(("person", "performed"), [(CAREGIVER, True), (GRANDSON, False)])
@pytest.mark.needs(Capability.IMESSAGE)
async def test_the_contact_card_is_shared_on_imessage_only(
    transport: Transport, person: Handle, performed: bool
) -> None:
    conversation_id, _ = await sent_message_id(transport, person)
    result = await transport.share_contact_card(conversation_id)
    assert performed == result.performed
    assert ([] if performed else [Feature.CONTACT_CARD]) == [d.feature for d in result.degradations]


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_voice_memo_on_imessage_is_a_memo(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    receipt = await transport.send_voice_memo(conversation.id, MEMO)
    assert receipt.degradations == ()
    assert [("media", "audio")] == outline((await transport.get_message(receipt.message_id)).parts)


async def test_a_voice_memo_on_sms_is_sent_as_media_and_reported(transport: Transport) -> None:
    conversation = await start(transport, GRANDSON)
    receipt = await transport.send_voice_memo(conversation.id, MEMO)
    assert [(d.feature, d.action) for d in receipt.degradations] == [
        (Feature.VOICE_MEMO, DegradationAction.CONVERTED)
    ]
    assert [("media", "audio")] == outline((await transport.get_message(receipt.message_id)).parts)
