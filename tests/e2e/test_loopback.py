"""End to end over real loopback sockets: nothing in-process between the parts.

The Linq simulator is served by uvicorn on 127.0.0.1; the real ``LinqTransport``
(with the production ``httpx`` pool ``from_config`` makes) talks to it over TCP;
the webhook subscription is created through the API, and the simulator delivers
its signed webhooks over a second socket to the project's receiver
(``webhook_app`` as in production: verifier, durable inbox on a
``MemoryEventStore``, in-process worker), served by a second uvicorn, whose
worker hands the events to a care handler. Time is the simulator's virtual
clock, moved by the test; the test waits only for the inbox to empty.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import attrs
import pytest

from adapters.linq import LinqConfig, LinqTransport
from adapters.linq.simulator import BASE_PATH, Faults, Simulator
from adapters.memory import RecipientKind, World
from caresupport_transport import (
    DeliveryStatus,
    Direction,
    Handle,
    InboundEvent,
    MessageReceived,
    MessageStatusChanged,
    OutgoingMessage,
    Service,
)
from caresupport_transport.inbound import Inbox, MemoryEventStore

from .servers import listening_socket, serving, url_of

pytest.importorskip("uvicorn", reason="the loopback tests need uvicorn (dev deps)")

CAREGIVER = Handle("+16515550101")
GRANDSON = Handle("+16515550103")
OLD_NUMBER = Handle("+16515550104")
EVENTS = [
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
    "message.received",
]
ANSWER = "Yes, at 8am with breakfast."


async def _no_wait(seconds: float) -> None:
    """Webhook retries would wait here; none should be needed."""


class CareLogic:
    """Records every event; answers each inbound message in its conversation."""

    def __init__(self, transport: LinqTransport) -> None:
        self.transport = transport
        self.events: list[InboundEvent] = []
        self.answers: list[str] = []

    async def __call__(self, event: InboundEvent) -> None:
        self.events.append(event)
        if isinstance(event, MessageReceived) and event.message.direction is Direction.INBOUND:
            receipt = await self.transport.send_message(
                event.conversation_id, OutgoingMessage.of_text(ANSWER)
            )
            self.answers.append(receipt.message_id)

    def statuses(self, message_id: str) -> list[DeliveryStatus]:
        return [
            e.status
            for e in self.events
            if isinstance(e, MessageStatusChanged) and e.message_id == message_id
        ]

    def received_texts(self) -> list[str]:
        return [
            e.message.text
            for e in self.events
            if isinstance(e, MessageReceived) and e.message.direction is Direction.INBOUND
        ]


@attrs.frozen
class Loopback:
    simulator: Simulator
    transport: LinqTransport
    care: CareLogic
    inbox: Inbox

    async def settle(self) -> None:
        """Wait until the receiver's worker has handled everything the inbox holds."""
        async with asyncio.timeout(10):
            while (await self.inbox.stats()).pending:  # noqa: ASYNC110 (the store is polled)
                await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def over_loopback(faults: Faults | None = None) -> AsyncIterator[Loopback]:
    """The simulator and the receiver each on their own socket; the transport between them."""
    simulator = Simulator(world=World(seed=2026), sleep=_no_wait, faults=faults)
    for handle, kind in (
        (CAREGIVER, RecipientKind.IMESSAGE),
        (GRANDSON, RecipientKind.SMS_ONLY),
        (OLD_NUMBER, RecipientKind.UNREACHABLE),
    ):
        simulator.add_recipient(handle, kind)
    with listening_socket() as api_socket, listening_socket() as hook_socket:
        async with serving(simulator.app, api_socket) as api_origin:
            config = LinqConfig(
                api_token=simulator.token,
                phone_number=simulator.phone,
                base_url=api_origin + BASE_PATH,
            )
            async with LinqTransport.from_config(config) as transport:
                hook_url = f"{url_of(hook_socket)}/linq/webhooks?version=2026-02-03"
                created = await transport.client.create_webhook_subscription(hook_url, EVENTS)
                care = CareLogic(transport)
                transport.on_inbound(care)
                receiver = transport.webhook_app(
                    MemoryEventStore(), secrets=created.signing_secret.reveal()
                )
                assert isinstance(receiver.sink, Inbox)
                async with serving(receiver, hook_socket):
                    yield Loopback(simulator, transport, care, receiver.sink)
    await simulator.aclose()


async def test_sends_go_over_the_socket_and_their_statuses_come_back_as_webhooks() -> None:
    async with over_loopback() as loop:
        hello = OutgoingMessage.of_text("Hi, this is CareSupport.")
        ingrid = await loop.transport.start_conversation([CAREGIVER], hello)
        erik = await loop.transport.start_conversation([GRANDSON], hello)
        landline = await loop.transport.start_conversation([OLD_NUMBER], hello)
        await loop.simulator.advance(120)
        await loop.settle()

    assert (Service.IMESSAGE, Service.SMS, Service.SMS) == (
        ingrid.receipt.service,
        erik.receipt.service,
        landline.receipt.service,
    )
    sent, delivered, read, failed = (
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.FAILED,
    )
    assert [sent, delivered, read] == loop.care.statuses(ingrid.receipt.message_id)
    assert [sent, delivered] == loop.care.statuses(erik.receipt.message_id)
    assert [failed] == loop.care.statuses(landline.receipt.message_id)
    counters = loop.simulator.counters
    assert 1 == counters.requests["POST /v3/webhook-subscriptions"]
    assert 3 == counters.requests["POST /v3/chats"]
    assert [] == [o for o in loop.simulator.deliveries if (o.delivered, o.status) != (True, 200)]


async def test_an_inbound_message_reaches_the_handler_which_answers_over_the_socket() -> None:
    async with over_loopback() as loop:
        loop.simulator.inject_inbound_text(CAREGIVER, "Did mum take her 2pm pill?")
        await loop.simulator.deliver_webhooks()
        await loop.settle()
        [answer_id] = loop.care.answers
        await loop.simulator.advance(5)
        await loop.settle()
        [received] = [e for e in loop.care.events if isinstance(e, MessageReceived)]
        history = [m.text async for m in loop.transport.messages(received.conversation_id)]

    assert ["Did mum take her 2pm pill?"] == loop.care.received_texts()
    assert [ANSWER, "Did mum take her 2pm pill?"] == history
    assert [DeliveryStatus.SENT, DeliveryStatus.DELIVERED] == loop.care.statuses(answer_id)


async def test_duplicated_and_reordered_deliveries_reach_the_handler_once_each() -> None:
    faults = Faults(webhook_duplicate_rate=1.0, webhook_reorder_rate=0.5, seed=3)
    async with over_loopback(faults) as loop:
        loop.simulator.inject_inbound_text(CAREGIVER, "Is the nurse coming today?")
        loop.simulator.inject_inbound_text(GRANDSON, "Can I visit on Sunday?")
        await loop.simulator.deliver_webhooks()
        await loop.settle()
        posted = sum(loop.simulator.counters.deliveries_by_event_id.values())

    assert ["Can I visit on Sunday?", "Is the nurse coming today?"] == sorted(
        loop.care.received_texts()
    )
    assert 2 == len(loop.care.answers)
    assert posted > len({e.event_id for e in loop.care.events})
