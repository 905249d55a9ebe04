"""Contract: correcting a sent message, by an edit where allowed, else by a correction text."""

from __future__ import annotations

import pytest

from caresupport_transport import (
    DegradationAction,
    Feature,
    MediaPart,
    MessageEdited,
    OutgoingMessage,
    TextPart,
    Transport,
    ValidationError,
)
from caresupport_transport.corrections import EDIT_COUNT_RULE, EDIT_WINDOW_RULE

from .harness import Capability, Harness
from .support import CAREGIVER, DAUGHTER, GRANDSON, history, start

WRONG = OutgoingMessage.of_text("Mum should take 2 pills at 8")
RIGHT = "Mum should take 1 pill at 8"


async def sent_to(transport: Transport, person_on: str) -> tuple[str, str]:
    person = {"imessage": CAREGIVER, "rcs": DAUGHTER, "sms": GRANDSON}[person_on]
    conversation = await start(transport, person)
    receipt = await transport.send_message(conversation.id, WRONG)
    return conversation.id, receipt.message_id


def edit_reasons(degradations: object) -> list[tuple[Feature, DegradationAction, str]]:
    assert isinstance(degradations, tuple)
    return [(d.feature, d.action, d.reason) for d in degradations if d.feature is Feature.EDIT]


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_correction_on_imessage_edits_the_message_in_place(transport: Transport) -> None:
    conversation_id, message_id = await sent_to(transport, "imessage")
    receipt = await transport.correct_message(message_id, RIGHT)
    newest = (await history(transport, conversation_id))[0]
    assert (True, None, ()) == (receipt.edited, receipt.correction, receipt.degradations)
    assert (message_id, RIGHT) == (newest.id, newest.text)


@pytest.mark.parametrize("service", ["sms", "rcs"])
async def test_a_correction_where_edits_do_not_exist_is_a_correction_text(
    transport: Transport, service: str
) -> None:
    conversation_id, message_id = await sent_to(transport, service)
    receipt = await transport.correct_message(message_id, RIGHT)
    texts = [m.text for m in await history(transport, conversation_id)]
    assert receipt.correction is not None
    assert (False, [f"Correction: {RIGHT}", WRONG.text]) == (receipt.edited, texts[:2])
    [(feature, action, reason)] = edit_reasons(receipt.degradations)
    assert (Feature.EDIT, DegradationAction.CONVERTED) == (feature, action)
    assert "cannot edit a sent message" in reason


@pytest.mark.needs(Capability.IMESSAGE)
async def test_the_sixth_edit_becomes_a_correction_text(transport: Transport) -> None:
    conversation_id, message_id = await sent_to(transport, "imessage")
    for dose in range(1, 6):
        edited = await transport.correct_message(message_id, f"Mum should take {dose} pills")
        assert edited.edited
    sixth = await transport.correct_message(message_id, RIGHT)
    newest = (await history(transport, conversation_id))[0]
    assert (False, f"Correction: {RIGHT}") == (sixth.edited, newest.text)
    [(_, _, reason)] = edit_reasons(sixth.degradations)
    assert EDIT_COUNT_RULE.lower() in reason.lower()


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_correction_16_minutes_later_is_a_correction_text_replying_to_the_original(
    harness: Harness,
) -> None:
    transport = harness.transport
    conversation_id, message_id = await sent_to(transport, "imessage")
    await harness.advance(16 * 60)
    receipt = await transport.correct_message(message_id, RIGHT)
    newest = (await history(transport, conversation_id))[0]
    assert receipt.correction is not None
    assert (False, f"Correction: {RIGHT}") == (receipt.edited, newest.text)
    assert newest.reply_to is not None
    assert message_id == newest.reply_to.message_id
    [(_, _, reason)] = edit_reasons(receipt.degradations)
    assert EDIT_WINDOW_RULE.lower() in reason.lower()


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_retried_correction_under_the_same_key_edits_once(harness: Harness) -> None:
    transport = harness.transport
    _, message_id = await sent_to(transport, "imessage")
    await harness.advance(1)
    first = await transport.correct_message(message_id, RIGHT, idempotency_key="fix-dose-1")
    again = await transport.correct_message(message_id, RIGHT, idempotency_key="fix-dose-1")
    await harness.advance(1)
    edits = [e for e in harness.received if isinstance(e, MessageEdited)]
    assert first == again
    assert (1 if Capability.EDIT_EVENTS in harness.capabilities else 0) == len(edits)


async def test_a_retried_correction_text_under_the_same_key_is_sent_once(
    transport: Transport,
) -> None:
    conversation_id, message_id = await sent_to(transport, "sms")
    first = await transport.correct_message(message_id, RIGHT, idempotency_key="fix-dose-2")
    again = await transport.correct_message(message_id, RIGHT, idempotency_key="fix-dose-2")
    texts = [m.text for m in await history(transport, conversation_id)]
    assert first == again
    assert 1 == texts.count(f"Correction: {RIGHT}")


@pytest.mark.needs(Capability.IMESSAGE, Capability.EDIT_EVENTS)
async def test_our_own_edit_reaches_the_handler_marked_as_ours(harness: Harness) -> None:
    _, message_id = await sent_to(harness.transport, "imessage")
    await harness.transport.correct_message(message_id, RIGHT)
    await harness.advance(1)
    [edited] = [e for e in harness.received if isinstance(e, MessageEdited)]
    assert (message_id, True, (TextPart(RIGHT),), 0) == (
        edited.message_id,
        edited.is_from_me,
        edited.parts,
        edited.part_index,
    )


@pytest.mark.parametrize(
    ("text", "part_index", "field"),
    [("  ", 0, "text"), ("x" * 9_990, 0, "text"), (RIGHT, -1, "part_index")],
)
async def test_bad_corrections_are_refused_before_any_request(
    harness: Harness, text: str, part_index: int, field: str
) -> None:
    _, message_id = await sent_to(harness.transport, "imessage")
    before = harness.requests_made
    with pytest.raises(ValidationError) as raised:
        await harness.transport.correct_message(message_id, text, part_index=part_index)
    assert (field, before) == (raised.value.field, harness.requests_made)


async def test_a_received_message_cannot_be_corrected(harness: Harness) -> None:
    message_id = await harness.inject_inbound_text(CAREGIVER, None, "I took 2")
    with pytest.raises(ValidationError) as raised:
        await harness.transport.correct_message(message_id, "I took 1")
    assert "message_id" == raised.value.field


async def test_a_media_part_cannot_be_corrected(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    photo = MediaPart(url="https://files.example.org/pills.png", content_type="image/png")
    receipt = await transport.send_message(
        conversation.id, OutgoingMessage((TextPart("The pills:"), photo))
    )
    with pytest.raises(ValidationError) as raised:
        await transport.correct_message(receipt.message_id, RIGHT, part_index=1)
    assert "part_index" == raised.value.field


@pytest.mark.needs(Capability.IMESSAGE, Capability.EDIT_EVENTS)
async def test_a_participants_edit_reaches_the_handler_as_theirs(harness: Harness) -> None:
    message_id = await harness.inject_inbound_text(CAREGIVER, None, "I gave Mum 2 pills")
    await harness.inject_inbound_edit(message_id, "I gave Mum 1 pill")
    [edited] = [e for e in harness.received if isinstance(e, MessageEdited)]
    assert (message_id, False, (TextPart("I gave Mum 1 pill"),)) == (
        edited.message_id,
        edited.is_from_me,
        edited.parts,
    )
