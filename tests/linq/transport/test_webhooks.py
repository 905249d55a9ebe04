"""``LinqTransport.webhook_app``: the real receiver, wired to the handler on the transport.

Most tests answer after the handler (``ack_after_handler``) to read the relay's
effects at once; the last ones prove the default: stored in the inbox, then
handed over by the in-process worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.linq import LinqTransport
from adapters.linq.asgi import WebhookReceiver
from caresupport_transport import (
    ConfigurationError,
    DeliveryStatus,
    Direction,
    InboundEvent,
    MessageReceived,
    MessageStatusChanged,
    Service,
)
from caresupport_transport.inbound import MemoryEventStore

from ..receiver.support import NOW, SECRET, URL, encode, envelope, standard_headers
from .support import RoutedLinq, make_transport


class Care:
    def __init__(self) -> None:
        self.events: list[InboundEvent] = []

    async def __call__(self, event: InboundEvent) -> None:
        self.events.append(event)


async def post(app: WebhookReceiver, payload: dict[str, object]) -> httpx.Response:
    body = encode(payload)
    headers = standard_headers(body, msg_id=str(payload["event_id"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        return await client.post(URL, content=body, headers=headers)


@pytest.fixture
async def transport(linq: RoutedLinq) -> AsyncIterator[LinqTransport]:
    made, http = make_transport(linq)
    async with http:
        yield made


def app_of(transport: LinqTransport, **options: bool) -> WebhookReceiver:
    return transport.webhook_app(
        MemoryEventStore(),
        secrets=SECRET,
        clock=lambda: float(NOW),
        ack_after_handler=True,
        **options,
    )


async def test_an_inbound_message_reaches_the_registered_handler(transport: LinqTransport) -> None:
    care = Care()
    transport.on_inbound(care)
    response = await post(app_of(transport), envelope("evt-1", text="Is it pill time?"))
    [event] = care.events
    assert isinstance(event, MessageReceived)
    assert (200, "Is it pill time?", Direction.INBOUND) == (
        response.status_code,
        event.message.text,
        event.message.direction,
    )


async def test_our_own_echo_reaches_the_handler_as_a_sent_status(transport: LinqTransport) -> None:
    care = Care()
    transport.on_inbound(care)
    echo = envelope("evt-2", event_type="message.sent", message_id="m-7", direction="outbound")
    await post(app_of(transport), echo)
    assert [
        MessageStatusChanged(
            "evt-2",
            care.events[0].occurred_at,
            "chat-1",
            "m-7",
            DeliveryStatus.SENT,
            service=Service.IMESSAGE,
        )
    ] == care.events


async def test_our_own_echo_is_a_message_when_outbound_is_asked_for(
    transport: LinqTransport,
) -> None:
    care = Care()
    transport.on_inbound(care)
    echo = envelope("evt-3", event_type="message.sent", direction="outbound")
    await post(app_of(transport, include_outbound=True), echo)
    [event] = care.events
    assert isinstance(event, MessageReceived)
    assert Direction.OUTBOUND == event.message.direction


async def test_with_no_handler_the_event_is_refused_and_handled_on_redelivery(
    transport: LinqTransport,
) -> None:
    app = app_of(transport)
    refused = await post(app, envelope("evt-4"))
    care = Care()
    transport.on_inbound(care)
    accepted = await post(app, envelope("evt-4"))
    assert (500, 200, 1) == (refused.status_code, accepted.status_code, len(care.events))


async def test_a_new_handler_takes_over_on_the_same_app(transport: LinqTransport) -> None:
    first, second = Care(), Care()
    transport.on_inbound(first)
    app = app_of(transport)
    transport.on_inbound(second)
    await post(app, envelope("evt-5"))
    assert (0, 1) == (len(first.events), len(second.events))


async def test_with_no_secret_every_delivery_is_refused(linq: RoutedLinq) -> None:
    transport, http = make_transport(linq)
    transport.on_inbound(Care())
    async with http:
        app = transport.webhook_app(MemoryEventStore(), clock=lambda: float(NOW))
        response = await post(app, envelope("evt-6"))
    assert 503 == response.status_code


async def test_the_configured_signing_secret_is_used_by_default(linq: RoutedLinq) -> None:
    transport, http = make_transport(linq, webhook_signing_secret=SECRET)
    care = Care()
    transport.on_inbound(care)
    async with http:
        app = transport.webhook_app(
            MemoryEventStore(), clock=lambda: float(NOW), ack_after_handler=True
        )
        response = await post(app, envelope("evt-7"))
    assert (200, 1) == (response.status_code, len(care.events))


async def wait_for(events: list[InboundEvent], count: int) -> None:
    for _ in range(500):
        if len(events) >= count:
            return
        await asyncio.sleep(0.01)


async def test_by_default_a_delivery_is_stored_then_handed_over_by_the_worker(
    transport: LinqTransport,
) -> None:
    care = Care()
    transport.on_inbound(care)
    store = MemoryEventStore()
    app = transport.webhook_app(store, secrets=SECRET, clock=lambda: float(NOW))
    try:
        first = await post(app, envelope("evt-8", text="Is it pill time?"))
        again = await post(app, envelope("evt-8", text="Is it pill time?"))
        await wait_for(care.events, 1)
    finally:
        await app.aclose()

    assert ("queued", "duplicate") == (first.json()["status"], again.json()["status"])
    [event] = care.events
    assert isinstance(event, MessageReceived)
    assert "Is it pill time?" == event.message.text
    assert {} == store.inbox


async def test_by_default_an_echo_passes_the_relay_through_the_inbox(
    transport: LinqTransport,
) -> None:
    care = Care()
    transport.on_inbound(care)
    app = transport.webhook_app(MemoryEventStore(), secrets=SECRET, clock=lambda: float(NOW))
    echo = envelope("evt-9", event_type="message.sent", message_id="m-9", direction="outbound")
    try:
        response = await post(app, echo)
        await wait_for(care.events, 1)
    finally:
        await app.aclose()

    assert "queued" == response.json()["status"]
    [event] = care.events
    assert isinstance(event, MessageStatusChanged)
    assert DeliveryStatus.SENT == event.status


async def test_the_inbox_settings_are_refused_when_answering_after_the_handler(
    transport: LinqTransport,
) -> None:
    with pytest.raises(ConfigurationError, match="ack_after_handler"):
        transport.webhook_app(
            MemoryEventStore(), secrets=SECRET, ack_after_handler=True, workers=False
        )
