"""Contract: mentions, text decorations and link parts, carried on iMessage and plain elsewhere."""

from __future__ import annotations

import pytest

from caresupport_transport import (
    DegradationAction,
    Feature,
    OutgoingMessage,
    TextPart,
    Transport,
    ValidationError,
)
from caresupport_transport.content import (
    LinkPart,
    Mention,
    TextAnimation,
    TextDecoration,
    TextRange,
    TextStyle,
)

from .harness import Capability
from .support import AUNT, CAREGIVER, GRANDSON, NURSE, history, start

DOSE = "\U0001f48a Nurse: the 8pm dose is now 1 pill"


def marked_for(who: object) -> TextPart:
    assert who is NURSE or who is None
    return TextPart(
        DOSE,
        mentions=[Mention(NURSE, TextRange.of(DOSE, "Nurse"))] if who is NURSE else [],
        decorations=[
            TextDecoration(TextRange.of(DOSE, "1 pill"), TextStyle.BOLD),
            TextDecoration(TextRange.of(DOSE, "8pm"), animation=TextAnimation.SHAKE),
        ],
    )


@pytest.mark.needs(Capability.IMESSAGE, Capability.GROUPS)
async def test_a_mention_and_decorations_reach_an_imessage_group_as_sent(
    transport: Transport,
) -> None:
    group = await start(transport, CAREGIVER, NURSE, AUNT)
    part = marked_for(NURSE)
    receipt = await transport.send_message(group.id, OutgoingMessage((part,)))
    newest = (await history(transport, group.id))[0]
    assert (receipt.message_id, (part,), ()) == (newest.id, newest.parts, receipt.degradations)
    assert "Nurse" == part.mentions[0].range.slice(DOSE)


async def test_decorations_on_sms_are_dropped_and_reported(transport: Transport) -> None:
    conversation = await start(transport, GRANDSON)
    receipt = await transport.send_message(conversation.id, OutgoingMessage((marked_for(None),)))
    newest = (await history(transport, conversation.id))[0]
    assert (TextPart(DOSE),) == newest.parts
    assert [(Feature.TEXT_DECORATION, DegradationAction.DROPPED)] == [
        (d.feature, d.action) for d in receipt.degradations
    ]


async def test_a_mention_in_a_direct_chat_is_refused_and_nothing_is_sent(
    transport: Transport,
) -> None:
    conversation = await start(transport, NURSE)
    before = len(await history(transport, conversation.id))
    with pytest.raises(ValidationError) as raised:
        await transport.send_message(conversation.id, OutgoingMessage((marked_for(NURSE),)))
    assert ("parts[0].mentions", before) == (
        raised.value.field,
        len(await history(transport, conversation.id)),
    )


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_link_part_is_a_preview_on_imessage(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    link = LinkPart("https://care.example.org/plan/42")
    receipt = await transport.send_message(conversation.id, OutgoingMessage((link,)))
    newest = (await history(transport, conversation.id))[0]
    assert ((link,), ()) == (newest.parts, receipt.degradations)


async def test_a_link_part_on_sms_is_its_url_in_text(transport: Transport) -> None:
    conversation = await start(transport, GRANDSON)
    link = LinkPart("https://care.example.org/plan/42")
    receipt = await transport.send_message(conversation.id, OutgoingMessage((link,)))
    newest = (await history(transport, conversation.id))[0]
    assert (TextPart(link.url),) == newest.parts
    assert [(Feature.LINK_PREVIEW, DegradationAction.CONVERTED)] == [
        (d.feature, d.action) for d in receipt.degradations
    ]


async def test_a_link_part_cannot_open_a_new_chat(transport: Transport) -> None:
    with pytest.raises(ValidationError) as raised:
        await transport.start_conversation(
            [CAREGIVER], OutgoingMessage((LinkPart("https://care.example.org"),))
        )
    assert "first_message.parts" == raised.value.field
