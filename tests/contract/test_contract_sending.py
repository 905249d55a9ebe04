"""Contract: sending, service choice, degradations, idempotency and delivery status."""

from __future__ import annotations

import pytest

from caresupport_transport import (
    Degradation,
    DegradationAction,
    DeliveryStatus,
    Effect,
    Feature,
    Handle,
    MediaPart,
    MessageStatusChanged,
    NotFoundError,
    OutgoingMessage,
    ReplyTo,
    Service,
    ServicePreference,
    TextPart,
    Transport,
    UnsupportedError,
)

from .harness import Capability, Harness
from .support import (
    CAREGIVER,
    DAUGHTER,
    GRANDSON,
    HELLO,
    NURSE,
    OLD_NUMBER,
    SETTLE,
    collect_conversations,
    history,
    outline,
    start,
    statuses_of,
)

CELEBRATE = OutgoingMessage.of_text(
    "Mum walked to the garden today!", effect=Effect.screen("confetti")
)


def features(degradations: tuple[Degradation, ...]) -> list[tuple[Feature, DegradationAction]]:
    return [(d.feature, d.action) for d in degradations]


@pytest.mark.parametrize(
    ("person", "service"),
    [
        pytest.param(CAREGIVER, Service.IMESSAGE, marks=pytest.mark.needs(Capability.IMESSAGE)),
        pytest.param(DAUGHTER, Service.RCS, marks=pytest.mark.needs(Capability.RCS)),
        (GRANDSON, Service.SMS),
    ],
)
async def test_auto_uses_the_best_service_the_recipient_has(
    transport: Transport, person: Handle, service: Service
) -> None:
    started = await transport.start_conversation([person], HELLO)
    assert service == started.receipt.service
    assert started.receipt.degradations == ()


@pytest.mark.needs(Capability.IMESSAGE)
async def test_an_effect_goes_through_on_imessage(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    receipt = await transport.send_message(conversation.id, CELEBRATE)
    assert receipt.degradations == ()
    assert Effect.screen("confetti") == (await transport.get_message(receipt.message_id)).effect


@pytest.mark.parametrize("person", [DAUGHTER, GRANDSON])
async def test_an_effect_is_dropped_and_reported_off_imessage(
    transport: Transport, person: Handle
) -> None:
    conversation = await start(transport, person)
    receipt = await transport.send_message(conversation.id, CELEBRATE)
    assert features(receipt.degradations) == [(Feature.EFFECT, DegradationAction.DROPPED)]
    sent = await transport.get_message(receipt.message_id)
    assert (None, CELEBRATE.text) == (sent.effect, sent.text)


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_reply_is_threaded_on_imessage(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    first = (await history(transport, conversation.id))[0]
    reply = OutgoingMessage.of_text("About this:", reply_to=ReplyTo(first.id))
    receipt = await transport.send_message(conversation.id, reply)
    assert ReplyTo(first.id) == (await transport.get_message(receipt.message_id)).reply_to


async def test_a_reply_on_sms_is_sent_unthreaded_and_reported(transport: Transport) -> None:
    conversation = await start(transport, GRANDSON)
    first = (await history(transport, conversation.id))[0]
    reply = OutgoingMessage.of_text("About this:", reply_to=ReplyTo(first.id))
    receipt = await transport.send_message(conversation.id, reply)
    assert features(receipt.degradations) == [(Feature.REPLY_THREAD, DegradationAction.DROPPED)]
    assert (await transport.get_message(receipt.message_id)).reply_to is None


async def test_media_by_url_is_sent_with_its_caption(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    chart = MediaPart(url="https://files.example.org/chart.png", content_type="image/png")
    message = OutgoingMessage((TextPart("This week's chart"), chart))
    receipt = await transport.send_message(conversation.id, message)
    sent = await transport.get_message(receipt.message_id)
    assert [("text", "This week's chart"), ("media", "image")] == outline(sent.parts)


async def test_long_text_on_sms_is_split_into_several_messages(transport: Transport) -> None:
    conversation = await start(transport, GRANDSON)
    long_text = " ".join(["Please remember the blood pressure tablets."] * 60)
    receipt = await transport.send_message(conversation.id, OutgoingMessage.of_text(long_text))
    assert len(receipt.message_ids) >= 2
    assert features(receipt.degradations) == [(Feature.LONG_TEXT, DegradationAction.SPLIT)]
    bubbles = [(await transport.get_message(i)).text for i in receipt.message_ids]
    assert long_text.split() == " ".join(bubbles).split()


async def test_resending_under_one_key_returns_the_same_receipt(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    message = OutgoingMessage.of_text("Pharmacy pickup is at 4pm.")
    first = await transport.send_message(conversation.id, message, idempotency_key="pickup-1")
    again = await transport.send_message(conversation.id, message, idempotency_key="pickup-1")
    assert (first.message_ids, first.idempotency_key) == (again.message_ids, again.idempotency_key)
    assert len(await history(transport, conversation.id)) == 2


async def test_resending_split_text_under_one_key_creates_nothing(transport: Transport) -> None:
    conversation = await start(transport, GRANDSON)
    message = OutgoingMessage.of_text(" ".join(["Long care plan sentence."] * 150))
    first = await transport.send_message(conversation.id, message, idempotency_key="plan-7")
    again = await transport.send_message(conversation.id, message, idempotency_key="plan-7")
    assert first.message_ids == again.message_ids
    assert 1 + len(first.message_ids) == len(await history(transport, conversation.id))


async def test_restarting_under_one_key_creates_nothing(transport: Transport) -> None:
    first = await transport.start_conversation([CAREGIVER], HELLO, idempotency_key="intro-1")
    again = await transport.start_conversation([CAREGIVER], HELLO, idempotency_key="intro-1")
    assert (first.conversation.id, first.receipt.message_ids) == (
        again.conversation.id,
        again.receipt.message_ids,
    )
    assert len(await collect_conversations(transport)) == 1
    assert len(await history(transport, first.conversation.id)) == 1


async def test_a_send_without_a_key_gets_a_fresh_key_on_its_receipt(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    one = await transport.send_message(conversation.id, OutgoingMessage.of_text("One"))
    two = await transport.send_message(conversation.id, OutgoingMessage.of_text("One"))
    assert one.idempotency_key
    assert one.idempotency_key != two.idempotency_key
    assert one.message_id != two.message_id


async def test_a_pinned_service_the_recipient_lacks_fails_without_sending(
    transport: Transport,
) -> None:
    with pytest.raises(UnsupportedError):
        await transport.start_conversation([GRANDSON], HELLO, preference=ServicePreference.IMESSAGE)
    assert await collect_conversations(transport) == []


async def test_a_pinned_service_never_falls_back_in_a_conversation(transport: Transport) -> None:
    conversation = await start(transport, DAUGHTER)
    with pytest.raises(UnsupportedError):
        await transport.send_message(
            conversation.id, OutgoingMessage.of_text("hi"), preference=ServicePreference.IMESSAGE
        )
    assert len(await history(transport, conversation.id)) == 1


async def test_a_pinned_lesser_service_is_used_as_asked(transport: Transport) -> None:
    started = await transport.start_conversation(
        [CAREGIVER], HELLO, preference=ServicePreference.SMS
    )
    assert started.receipt.service == Service.SMS


@pytest.mark.needs(Capability.GROUPS)
async def test_a_group_uses_the_best_service_everyone_has(transport: Transport) -> None:
    started = await transport.start_conversation([CAREGIVER, NURSE, GRANDSON], HELLO)
    assert started.receipt.service == Service.SMS


@pytest.mark.needs(Capability.IMESSAGE)
async def test_imessage_delivery_goes_sent_delivered_read(harness: Harness) -> None:
    started = await harness.transport.start_conversation([CAREGIVER], HELLO)
    assert started.receipt.status == DeliveryStatus.PENDING
    await harness.advance(SETTLE)
    assert statuses_of(harness.received, started.receipt.message_id) == [
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
    ]
    final = await harness.transport.get_message(started.receipt.message_id)
    assert final.status == DeliveryStatus.READ


async def test_sms_delivery_stops_at_delivered(harness: Harness) -> None:
    started = await harness.transport.start_conversation([GRANDSON], HELLO)
    await harness.advance(SETTLE)
    assert statuses_of(harness.received, started.receipt.message_id) == [
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
    ]


async def test_a_message_to_an_unreachable_number_fails(harness: Harness) -> None:
    started = await harness.transport.start_conversation([OLD_NUMBER], HELLO)
    await harness.advance(SETTLE)
    assert statuses_of(harness.received, started.receipt.message_id) == [DeliveryStatus.FAILED]
    failed = await harness.transport.get_message(started.receipt.message_id)
    assert failed.status == DeliveryStatus.FAILED


async def test_a_failed_delivery_event_names_the_message(harness: Harness) -> None:
    conversation = await start(harness.transport, NURSE)
    harness.fail_next_send(NURSE)
    receipt = await harness.transport.send_message(
        conversation.id, OutgoingMessage.of_text("Shift swap tomorrow?")
    )
    await harness.advance(SETTLE)
    failures = [
        e
        for e in harness.received
        if isinstance(e, MessageStatusChanged) and e.status is DeliveryStatus.FAILED
    ]
    assert [(conversation.id, receipt.message_id)] == [
        (e.conversation_id, e.message_id) for e in failures
    ]


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_later_status_is_visible_on_a_resent_receipt(harness: Harness) -> None:
    conversation = await start(harness.transport, CAREGIVER)
    message = OutgoingMessage.of_text("Lunch delivered at noon.")
    await harness.transport.send_message(conversation.id, message, idempotency_key="lunch")
    await harness.advance(SETTLE)
    again = await harness.transport.send_message(conversation.id, message, idempotency_key="lunch")
    assert again.status == DeliveryStatus.READ


@pytest.mark.needs(Capability.IMESSAGE)
async def test_get_message_returns_what_was_sent(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    receipt = await transport.send_message(conversation.id, OutgoingMessage.of_text("See you at 3"))
    message = await transport.get_message(receipt.message_id)
    assert (conversation.id, "See you at 3", Service.IMESSAGE) == (
        message.conversation_id,
        message.text,
        message.service,
    )


async def test_an_unknown_message_is_not_found(transport: Transport) -> None:
    with pytest.raises(NotFoundError):
        await transport.get_message("00000000-0000-4000-8000-000000000000")


async def test_sending_to_an_unknown_conversation_is_not_found(transport: Transport) -> None:
    with pytest.raises(NotFoundError):
        await transport.send_message("00000000-0000-4000-8000-000000000000", HELLO)
