"""Twilio end to end over real loopback sockets.

The Twilio simulator is served by uvicorn on 127.0.0.1; ``TwilioTransport``
(its own ``httpx`` client) sends through it over TCP with a ``StatusCallback``
pointing at the project's receiver, served by a second uvicorn (``webhook_app``
as in production: signature check on the URL it is reached at, durable inbox on
a ``MemoryEventStore``, in-process worker). The simulator posts its signed,
form-encoded status callbacks and inbound texts over that socket, and the
worker hands them to the care handler, which answers over SMS.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from adapters.linq.config import Secret
from adapters.memory import RecipientKind, World
from adapters.twilio import TwilioClient, TwilioConfig, TwilioTransport
from adapters.twilio.simulator import TwilioSimulator
from caresupport_transport import (
    DeliveryStatus,
    Direction,
    Handle,
    InboundEvent,
    MessageReceived,
    MessageStatusChanged,
    OutgoingMessage,
)
from caresupport_transport.inbound import Inbox, MemoryEventStore

from .servers import listening_socket, serving, url_of

pytest.importorskip("uvicorn", reason="the loopback tests need uvicorn (dev deps)")

GRANDSON = Handle("+16515550103")


async def test_an_sms_goes_out_its_statuses_come_back_and_a_reply_is_answered() -> None:
    world = World(seed=2026)
    world.add_recipient(GRANDSON, RecipientKind.SMS_ONLY)
    events: list[InboundEvent] = []
    with listening_socket() as api_socket, listening_socket() as hook_socket:
        receiver_origin = url_of(hook_socket)
        async with httpx.AsyncClient() as webhook_http:
            simulator = TwilioSimulator(
                world, webhook_client=webhook_http, sms_url=f"{receiver_origin}/twilio/sms"
            )
            config = TwilioConfig(
                account_sid=simulator.account_sid,
                auth_token=Secret(simulator.auth_token),
                from_number=simulator.phone,
                status_callback_url=f"{receiver_origin}/twilio/status",
                base_url=url_of(api_socket),
            )
            client = TwilioClient(config)
            transport = TwilioTransport(client)

            async def care(event: InboundEvent) -> None:
                events.append(event)
                if isinstance(event, MessageReceived):
                    await transport.send_message(
                        event.conversation_id,
                        OutgoingMessage.of_text("Yes, at 8am."),
                        idempotency_key=f"reply-{event.message.id}",
                    )

            transport.on_inbound(care)
            app = transport.webhook_app(MemoryEventStore())
            assert isinstance(app.sink, Inbox)
            inbox = app.sink

            async def settle() -> None:
                async with asyncio.timeout(10):
                    while (await inbox.stats()).pending:  # noqa: ASYNC110 (the store is polled)
                        await asyncio.sleep(0.01)

            async with serving(simulator, api_socket), serving(app, hook_socket):
                started = await transport.start_conversation(
                    [GRANDSON], OutgoingMessage.of_text("Hi, this is CareSupport.")
                )
                await simulator.advance(600)
                await settle()
                simulator.inject_inbound_text(GRANDSON, "Did mum take her pills?")
                await simulator.deliver_webhooks()
                await settle()
                await simulator.advance(600)
                await settle()
                if app.worker is not None:
                    await app.worker.stop()
            await client.aclose()

    sent = started.receipt.message_ids[0]
    assert [DeliveryStatus.SENT, DeliveryStatus.DELIVERED] == [
        e.status for e in events if isinstance(e, MessageStatusChanged) and e.message_id == sent
    ]
    assert ["Did mum take her pills?"] == [
        e.message.text
        for e in events
        if isinstance(e, MessageReceived) and e.message.direction is Direction.INBOUND
    ]
    assert ["Hi, this is CareSupport.", "Yes, at 8am."] == [
        m.text for m in simulator.texts_to(GRANDSON)
    ]
    assert all(m.status is DeliveryStatus.DELIVERED for m in simulator.texts_to(GRANDSON))
