"""Corrections through the shared transport: idempotency, providers without edits, the ledger."""

from __future__ import annotations

import pytest

from adapters.memory import InMemoryTransport, RecipientKind, World
from adapters.memory.provider import MemoryProvider
from caresupport_transport import (
    DegradationAction,
    Feature,
    Handle,
    MessageEdited,
    NotFoundError,
    OutgoingMessage,
    ProviderTransport,
    Reaction,
    ReactionKind,
    TextPart,
    UnreachableError,
    UnsupportedError,
    ValidationError,
)
from caresupport_transport.errors import EditRefusedError
from caresupport_transport.model import Message
from caresupport_transport.transport import NO_PROVIDER_EDITS

CAREGIVER = "+16515550101"
WRONG = OutgoingMessage.of_text("take 2 pills")


class NoEdits(MemoryProvider):
    """A provider whose service has no edits at all."""

    async def edit(self, message_id: str, part_index: int, text: TextPart) -> None:
        raise UnsupportedError("edit", None, "no edits here")


class LosesTheAnswer(MemoryProvider):
    """Edits, but the first answer is lost on the way back."""

    lost = False

    async def edit(self, message_id: str, part_index: int, text: TextPart) -> None:
        await super().edit(message_id, part_index, text)
        if not self.lost:
            self.lost = True
            raise UnreachableError("the answer was lost")


class Forgets(MemoryProvider):
    """Keeps no history: every message read back is gone (an ephemeral-message line)."""

    async def get_message(self, message_id: str) -> Message:
        raise NotFoundError(f"message {message_id!r} not found", status=404)


async def sent(transport: ProviderTransport) -> tuple[str, str]:
    conversation = await transport.conversation_for(_caregiver())
    receipt = await transport.send_message(conversation.id, WRONG)
    return receipt.conversation_id, receipt.message_id


def _caregiver() -> Handle:
    return Handle(CAREGIVER)


def world() -> World:
    made = World(seed=7)
    made.add_recipient(CAREGIVER, RecipientKind.IMESSAGE)
    return made


async def test_a_provider_without_edits_sends_a_correction_text_and_says_why() -> None:
    here = world()
    transport = ProviderTransport(NoEdits(here))
    _, message_id = await sent(transport)
    receipt = await transport.correct_message(message_id, "take 1 pill")
    assert receipt.correction is not None
    assert "Correction: take 1 pill" == here.messages[receipt.correction.message_id].text
    assert [(Feature.EDIT, DegradationAction.CONVERTED)] == [
        (d.feature, d.action) for d in receipt.degradations
    ]
    assert NO_PROVIDER_EDITS in receipt.degradations[0].reason
    assert "take 2 pills" == here.messages[message_id].text


async def test_a_retry_after_a_lost_answer_does_not_edit_twice() -> None:
    here = world()
    transport = ProviderTransport(LosesTheAnswer(here))
    _, message_id = await sent(transport)
    with pytest.raises(UnreachableError) as raised:
        await transport.correct_message(message_id, "take 1 pill", idempotency_key="dose")
    assert "dose" == raised.value.idempotency_key
    retried = await transport.correct_message(message_id, "take 1 pill", idempotency_key="dose")
    assert (True, 1) == (retried.edited, len(here.edits[message_id]))


async def test_another_process_retrying_the_same_correction_does_not_edit_twice() -> None:
    here = world()
    first = ProviderTransport(MemoryProvider(here))
    _, message_id = await sent(first)
    await first.correct_message(message_id, "take 1 pill", idempotency_key="dose")
    second = ProviderTransport(MemoryProvider(here))
    again = await second.correct_message(message_id, "take 1 pill", idempotency_key="dose")
    assert (True, 1) == (again.edited, len(here.edits[message_id]))


async def test_a_key_used_for_another_correction_is_refused() -> None:
    transport = InMemoryTransport(world())
    _, message_id = await sent(transport)
    await transport.correct_message(message_id, "take 1 pill", idempotency_key="dose")
    with pytest.raises(ValidationError) as raised:
        await transport.correct_message(message_id, "take 3 pills", idempotency_key="dose")
    assert "idempotency_key" == raised.value.field


async def test_the_world_refuses_a_sixth_edit_and_records_nothing() -> None:
    here = world()
    chat = here.create_conversation([_caregiver()])
    made = here.send(chat.id, WRONG.parts)
    for dose in range(5):
        here.edit(made.id, 0, f"take {dose} pills")
    with pytest.raises(EditRefusedError):
        here.edit(made.id, 0, "take 1 pill")
    assert (5, "take 4 pills") == (len(here.edits[made.id]), here.messages[made.id].text)


async def test_the_world_refuses_an_edit_after_fifteen_minutes_by_its_clock() -> None:
    here = world()
    chat = here.create_conversation([_caregiver()])
    made = here.send(chat.id, WRONG.parts)
    here.advance(15 * 60 + 1)
    with pytest.raises(EditRefusedError):
        here.edit(made.id, 0, "take 1 pill")


async def test_corrections_and_tapbacks_use_what_was_sent_not_the_providers_history() -> None:
    here = world()
    transport = ProviderTransport(Forgets(here))
    _, message_id = await sent(transport)
    corrected = await transport.correct_message(message_id, "take 1 pill")
    reacted = await transport.react(message_id, Reaction(ReactionKind.LIKE))
    assert (True, True) == (corrected.edited, reacted.performed)
    assert "take 1 pill" == here.messages[message_id].text


async def test_a_received_message_is_kept_for_later_tapbacks() -> None:
    here = world()
    transport = InMemoryTransport(here)
    transport.on_inbound(_ignore)
    received = await transport.inject_message(_caregiver(), "I took 2")
    kept = transport.ledger.get(received.id)
    assert kept is not None
    assert "I took 2" == kept.text


async def _ignore(event: object) -> None:
    return None


async def test_a_participants_edit_reaches_the_handler_and_the_ledger() -> None:
    here = world()
    transport = InMemoryTransport(here)
    heard: list[object] = []

    async def handler(event: object) -> None:
        heard.append(event)

    transport.on_inbound(handler)
    received = await transport.inject_message(_caregiver(), "I gave Mum 2 pills")
    await transport.inject_edit(received.id, "I gave Mum 1 pill")
    [edited] = [e for e in heard if isinstance(e, MessageEdited)]
    kept = transport.ledger.get(received.id)
    assert (False, (TextPart("I gave Mum 1 pill"),)) == (edited.is_from_me, edited.parts)
    assert kept is not None
    assert "I gave Mum 1 pill" == kept.text
