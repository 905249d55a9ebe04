"""Contract: group membership rules, attachments and capability lookups."""

from __future__ import annotations

import pytest

from caresupport_transport import (
    Availability,
    Handle,
    MediaPart,
    NotFoundError,
    OutgoingMessage,
    TextPart,
    Transport,
    ValidationError,
)

from .harness import Capability
from .support import (
    AUNT,
    CAREGIVER,
    DAUGHTER,
    GRANDSON,
    NEIGHBOUR,
    NURSE,
    OLD_NUMBER,
    outline,
    start,
)


@pytest.mark.needs(Capability.GROUPS)
async def test_adding_to_a_group_of_three_works(transport: Transport) -> None:
    group = await start(transport, CAREGIVER, NURSE, NEIGHBOUR)
    grown = await transport.add_participant(group.id, AUNT)
    assert {CAREGIVER, NURSE, NEIGHBOUR, AUNT} == set(grown.participants)
    assert set(grown.participants) == set((await transport.get_conversation(group.id)).participants)


@pytest.mark.needs(Capability.GROUPS)
async def test_adding_to_a_group_of_two_is_refused(transport: Transport) -> None:
    group = await start(transport, CAREGIVER, NURSE)
    with pytest.raises(ValidationError):
        await transport.add_participant(group.id, AUNT)
    assert {CAREGIVER, NURSE} == set((await transport.get_conversation(group.id)).participants)


async def test_adding_to_a_one_to_one_chat_is_refused(transport: Transport) -> None:
    chat = await start(transport, CAREGIVER)
    with pytest.raises(ValidationError):
        await transport.add_participant(chat.id, AUNT)


@pytest.mark.needs(Capability.GROUPS)
async def test_removing_from_a_group_of_four_works(transport: Transport) -> None:
    group = await start(transport, CAREGIVER, NURSE, NEIGHBOUR, AUNT)
    smaller = await transport.remove_participant(group.id, AUNT)
    assert {CAREGIVER, NURSE, NEIGHBOUR} == set(smaller.participants)


@pytest.mark.needs(Capability.GROUPS)
async def test_removing_that_would_leave_two_is_refused(transport: Transport) -> None:
    group = await start(transport, CAREGIVER, NURSE, NEIGHBOUR)
    with pytest.raises(ValidationError):
        await transport.remove_participant(group.id, NEIGHBOUR)
    assert len((await transport.get_conversation(group.id)).participants) == 3


@pytest.mark.needs(Capability.UPLOADS)
async def test_an_uploaded_attachment_can_be_sent(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    attachment = await transport.upload_attachment(
        b"\x89PNG fake chart", filename="chart.png", content_type="image/png"
    )
    assert (attachment.filename, attachment.content_type, attachment.size_bytes) == (
        "chart.png",
        "image/png",
        15,
    )
    media = MediaPart(attachment_id=attachment.id, content_type="image/png")
    receipt = await transport.send_message(
        conversation.id, OutgoingMessage((TextPart("Chart"), media))
    )
    sent = await transport.get_message(receipt.message_id)
    assert [("text", "Chart"), ("media", "image")] == outline(sent.parts)


async def test_sending_an_attachment_that_was_never_uploaded_is_not_found(
    transport: Transport,
) -> None:
    conversation = await start(transport, CAREGIVER)
    with pytest.raises(NotFoundError):
        await transport.send_message(
            conversation.id, OutgoingMessage((MediaPart(attachment_id="never-uploaded"),))
        )


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        pytest.param(
            CAREGIVER,
            (Availability.AVAILABLE, Availability.UNAVAILABLE, Availability.AVAILABLE),
            marks=pytest.mark.needs(Capability.IMESSAGE),
        ),
        pytest.param(
            DAUGHTER,
            (Availability.UNAVAILABLE, Availability.AVAILABLE, Availability.AVAILABLE),
            marks=pytest.mark.needs(Capability.RCS),
        ),
        (GRANDSON, (Availability.UNAVAILABLE, Availability.UNAVAILABLE, Availability.AVAILABLE)),
        (OLD_NUMBER, (Availability.UNAVAILABLE, Availability.UNAVAILABLE, Availability.AVAILABLE)),
    ],
)
async def test_capability_lookup_tells_what_a_handle_can_use(
    transport: Transport,
    person: Handle,
    expected: tuple[Availability, Availability, Availability],
) -> None:
    caps = await transport.capabilities(person)
    assert (person, expected) == (caps.handle, (caps.imessage, caps.rcs, caps.sms))
