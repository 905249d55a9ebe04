"""Sending through ``LinqTransport``: the body Linq gets, degradations, keys, re-sends."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.linq import LinqTransport
from caresupport_transport import (
    AlreadySentError,
    Degradation,
    DegradationAction,
    DeliveryStatus,
    Effect,
    FallbackPolicy,
    Feature,
    Handle,
    InboundEvent,
    MessageStatusChanged,
    NotFoundError,
    OutgoingMessage,
    ReplyTo,
    SendAttempt,
    Service,
    ServicePreference,
    UnsupportedError,
    ValidationError,
)
from caresupport_transport.inbound import MemoryEventStore

from .support import (
    CHAT_ID,
    GRANDMA,
    LINE,
    SON,
    RoutedLinq,
    group_json,
    make_transport,
    message_json,
    one_to_one_json,
    sent_json,
)

SEND = f"/v3/chats/{CHAT_ID}/messages"
CELEBRATE = OutgoingMessage.of_text("Mum walked to the garden!", effect=Effect.screen("confetti"))
RESEND = FallbackPolicy(resend_on_failure=True)


def chat_with(linq: RoutedLinq, handle: str = GRANDMA) -> None:
    linq.on_json("GET", f"/v3/chats/{CHAT_ID}", body=one_to_one_json(CHAT_ID, handle))


def features(degradations: tuple[Degradation, ...]) -> list[tuple[Feature, DegradationAction]]:
    return [(d.feature, d.action) for d in degradations]


async def test_auto_sends_no_preferred_service(linq: RoutedLinq, transport: LinqTransport) -> None:
    chat_with(linq)
    linq.capable(GRANDMA, imessage=True)
    linq.on_json("POST", SEND, 202, sent_json())
    await transport.send_message(CHAT_ID, OutgoingMessage.of_text("Hi"), idempotency_key="k-1")
    [body] = linq.bodies("POST", SEND)
    assert {"parts": [{"type": "text", "value": "Hi"}], "idempotency_key": "k-1"} == body["message"]


async def test_a_pinned_service_is_sent_as_preferred_service(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    chat_with(linq)
    linq.capable(GRANDMA, imessage=True)
    linq.on_json("POST", SEND, 202, sent_json(service="SMS"))
    receipt = await transport.send_message(
        CHAT_ID, OutgoingMessage.of_text("Hi"), preference=ServicePreference.SMS
    )
    [body] = linq.bodies("POST", SEND)
    assert ("SMS", Service.SMS, ()) == (
        body["message"]["preferred_service"],
        receipt.service,
        receipt.degradations,
    )


@pytest.mark.parametrize(
    ("imessage", "rcs", "service", "effect_sent"),
    [(True, False, "iMessage", True), (False, True, "RCS", False), (False, False, "SMS", False)],
)
async def test_what_a_service_cannot_carry_is_degraded_before_sending(
    linq: RoutedLinq,
    transport: LinqTransport,
    imessage: bool,
    rcs: bool,
    service: str,
    effect_sent: bool,
) -> None:
    chat_with(linq)
    linq.capable(GRANDMA, imessage=imessage, rcs=rcs)
    linq.on_json("POST", SEND, 202, sent_json(service=service))
    receipt = await transport.send_message(CHAT_ID, CELEBRATE)
    [body] = linq.bodies("POST", SEND)
    assert effect_sent == ("effect" in body["message"])
    assert "preferred_service" not in body["message"]  # AUTO: Linq still falls back itself
    expected = [] if effect_sent else [(Feature.EFFECT, DegradationAction.DROPPED)]
    assert expected == features(receipt.degradations)


async def test_long_text_to_sms_goes_as_bubbles_under_derived_keys(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    chat_with(linq, SON)
    linq.capable(SON, imessage=False, rcs=False)
    linq.on(
        "POST",
        SEND,
        *(httpx.Response(202, json=sent_json(message_id=f"m-{n}", service="SMS")) for n in (1, 2)),
    )
    text = " ".join(["Remember the blood pressure tablets after breakfast."] * 50)
    receipt = await transport.send_message(
        CHAT_ID, OutgoingMessage.of_text(text), idempotency_key="plan"
    )
    keys = [b["message"]["idempotency_key"] for b in linq.bodies("POST", SEND)]
    assert (["plan:1", "plan:2"], ("m-1", "m-2")) == (keys, receipt.message_ids)
    assert [(Feature.LONG_TEXT, DegradationAction.SPLIT)] == features(receipt.degradations)


async def test_a_send_without_a_key_gets_one_and_returns_it(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    chat_with(linq)
    linq.capable(GRANDMA, imessage=True)
    linq.on_json("POST", SEND, 202, sent_json())
    receipt = await transport.send_message(CHAT_ID, OutgoingMessage.of_text("Hi"))
    [request] = linq.sent("POST", SEND)
    assert ("gen-1", "gen-1") == (receipt.idempotency_key, request.headers["Idempotency-Key"])


async def test_a_pinned_service_the_recipient_lacks_sends_nothing(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    chat_with(linq, SON)
    linq.capable(SON, imessage=False)
    with pytest.raises(UnsupportedError):
        await transport.send_message(
            CHAT_ID, OutgoingMessage.of_text("Hi"), preference=ServicePreference.IMESSAGE
        )
    assert [] == linq.sent("POST", SEND)


async def test_a_reply_to_a_message_of_another_chat_is_refused_before_sending(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    chat_with(linq)
    linq.on_json("GET", "/v3/messages/elsewhere", body=message_json("elsewhere", chat_id="other"))
    reply = OutgoingMessage.of_text("About this", reply_to=ReplyTo("elsewhere"))
    with pytest.raises(ValidationError) as info:
        await transport.send_message(CHAT_ID, reply)
    assert "reply_to.message_id" == info.value.field
    assert [] == linq.sent("POST", SEND)


async def test_a_failed_send_is_resent_on_the_next_service_under_a_derived_key(
    linq: RoutedLinq,
) -> None:
    transport, http = make_transport(linq, policy=RESEND)
    chat_with(linq)
    linq.capable(GRANDMA, imessage=True, rcs=True)
    linq.on(
        "POST",
        SEND,
        httpx.Response(
            202, json=sent_json(message_id="m-1", service="iMessage", delivery_status="failed")
        ),
        httpx.Response(202, json=sent_json(message_id="m-2", service="RCS")),
    )
    async with http:
        receipt = await transport.send_message(CHAT_ID, CELEBRATE, idempotency_key="k")
    first, second = linq.bodies("POST", SEND)
    assert ("effect" in first["message"], "effect" in second["message"]) == (True, False)
    assert ("RCS", "k:fallback:rcs") == (
        second["message"]["preferred_service"],
        second["message"]["idempotency_key"],
    )
    assert (
        SendAttempt(Service.IMESSAGE, "m-1", DeliveryStatus.FAILED, "k"),
        SendAttempt(Service.RCS, "m-2", DeliveryStatus.QUEUED, "k:fallback:rcs"),
    ) == receipt.attempts
    assert (("m-2",), Service.RCS, DeliveryStatus.QUEUED) == (
        receipt.message_ids,
        receipt.service,
        receipt.status,
    )
    assert [
        (Feature.SERVICE, DegradationAction.FELL_BACK),
        (Feature.EFFECT, DegradationAction.DROPPED),
    ] == features(receipt.degradations)


async def test_a_resend_skips_a_service_the_recipient_lacks(linq: RoutedLinq) -> None:
    transport, http = make_transport(linq, policy=RESEND)
    chat_with(linq)
    linq.capable(GRANDMA, imessage=True, rcs=False)
    linq.on(
        "POST",
        SEND,
        httpx.Response(202, json=sent_json(message_id="m-1", delivery_status="failed")),
        httpx.Response(202, json=sent_json(message_id="m-2", service="SMS")),
    )
    async with http:
        receipt = await transport.send_message(
            CHAT_ID, OutgoingMessage.of_text("Hi"), idempotency_key="k"
        )
    assert ["k", "k:fallback:sms"] == [
        b["message"]["idempotency_key"] for b in linq.bodies("POST", SEND)
    ]
    assert Service.SMS == receipt.service


@pytest.mark.parametrize(
    ("policy", "preference"),
    [(FallbackPolicy(), ServicePreference.AUTO), (RESEND, ServicePreference.IMESSAGE)],
)
async def test_a_failed_send_is_not_resent_unless_allowed_and_unpinned(
    linq: RoutedLinq, policy: FallbackPolicy, preference: ServicePreference
) -> None:
    transport, http = make_transport(linq, policy=policy)
    chat_with(linq)
    linq.capable(GRANDMA, imessage=True, rcs=True)
    linq.on_json("POST", SEND, 202, sent_json(message_id="m-1", delivery_status="failed"))
    async with http:
        receipt = await transport.send_message(
            CHAT_ID, OutgoingMessage.of_text("Hi"), preference=preference
        )
    assert (1, DeliveryStatus.FAILED, ()) == (
        len(linq.sent("POST", SEND)),
        receipt.status,
        receipt.attempts,
    )


async def test_a_later_failure_event_is_passed_on_and_not_resent(linq: RoutedLinq) -> None:
    """Re-sending it is the outbox's rule, after a grace for a late delivery (one mechanism)."""
    transport, http = make_transport(linq, policy=RESEND)
    heard: list[InboundEvent] = []

    async def care(event: InboundEvent) -> None:
        heard.append(event)

    transport.on_inbound(care)
    chat_with(linq)
    linq.capable(GRANDMA, imessage=True, rcs=True)
    linq.on(
        "POST",
        SEND,
        httpx.Response(202, json=sent_json(message_id="m-1")),
        httpx.Response(202, json=sent_json(message_id="m-2", service="RCS")),
    )
    failure = MessageStatusChanged(
        "evt-9", datetime(2026, 3, 1, tzinfo=UTC), CHAT_ID, "m-1", DeliveryStatus.FAILED
    )
    async with http:
        await transport.send_message(CHAT_ID, OutgoingMessage.of_text("Hi"), idempotency_key="k")
        await transport.inbound_dispatcher(MemoryEventStore()).dispatch(failure)
    assert ["k"] == [b["message"]["idempotency_key"] for b in linq.bodies("POST", SEND)]
    assert [failure] == heard


async def test_a_group_send_plans_for_the_least_capable_member(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", f"/v3/chats/{CHAT_ID}", body=group_json(CHAT_ID, [GRANDMA, SON]))
    linq.capable(GRANDMA, imessage=True)
    linq.capable(SON, imessage=False)
    linq.on_json("POST", SEND, 202, sent_json(service="SMS"))
    receipt = await transport.send_message(CHAT_ID, CELEBRATE)
    assert (Service.SMS, [(Feature.EFFECT, DegradationAction.DROPPED)]) == (
        receipt.service,
        features(receipt.degradations),
    )


async def test_linq_falling_back_by_itself_is_reported(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    chat_with(linq)
    linq.capable(GRANDMA, imessage=True)
    linq.on_json("POST", SEND, 202, sent_json(service="SMS"))
    receipt = await transport.send_message(CHAT_ID, OutgoingMessage.of_text("Hi"))
    assert (Service.SMS, [(Feature.SERVICE, DegradationAction.FELL_BACK)]) == (
        receipt.service,
        features(receipt.degradations),
    )


async def test_starting_a_conversation_creates_the_chat_with_its_first_message(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.capable(GRANDMA, imessage=True)
    created = {
        "chat": {
            "id": CHAT_ID,
            "display_name": None,
            "service": "iMessage",
            "is_group": False,
            "handles": one_to_one_json(CHAT_ID, GRANDMA)["handles"],
            "message": sent_json()["message"],
        }
    }
    linq.on_json("POST", "/v3/chats", 201, created)
    started = await transport.start_conversation(
        [Handle(GRANDMA)], OutgoingMessage.of_text("Hello"), idempotency_key="intro"
    )
    [body] = linq.bodies("POST", "/v3/chats")
    assert {
        "from": LINE,
        "to": [GRANDMA],
        "message": {"parts": [{"type": "text", "value": "Hello"}], "idempotency_key": "intro"},
    } == body
    assert ((Handle(GRANDMA),), CHAT_ID, "intro") == (
        started.conversation.participants,
        started.receipt.conversation_id,
        started.receipt.idempotency_key,
    )


GONE = {"success": False, "error": {"status": 404, "code": 2001, "message": "Message not found"}}


async def test_a_404_on_the_clients_retry_of_a_sent_message_is_already_sent_not_a_missing_chat(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    """The first attempt's answer was lost (503); by the retry the message is gone: 404."""
    chat_with(linq)
    linq.capable(GRANDMA, imessage=True)
    linq.on(
        "POST",
        SEND,
        httpx.Response(503, json={"success": False, "error": {"status": 503, "code": 3006}}),
        httpx.Response(404, json=GONE),
    )
    with pytest.raises(AlreadySentError) as caught:
        await transport.send_message(CHAT_ID, OutgoingMessage.of_text("Hi"), idempotency_key="k")
    assert ["k", "k"] == [b["message"]["idempotency_key"] for b in linq.bodies("POST", SEND)]
    assert ("k", 404, 2001) == (
        caught.value.idempotency_key,
        caught.value.status,
        caught.value.code,
    )


async def test_a_404_to_a_send_into_a_chat_that_is_gone_stays_not_found(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on(
        "GET",
        f"/v3/chats/{CHAT_ID}",
        httpx.Response(200, json=one_to_one_json(CHAT_ID, GRANDMA)),
        httpx.Response(404, json={"success": False, "error": {"status": 404, "code": 2001}}),
    )
    linq.capable(GRANDMA, imessage=True)
    linq.on("POST", SEND, httpx.Response(404, json=GONE))
    with pytest.raises(NotFoundError) as caught:
        await transport.send_message(CHAT_ID, OutgoingMessage.of_text("Hi"), idempotency_key="k")
    assert not isinstance(caught.value, AlreadySentError)
