"""The simulator's late messages: reconciled into the past, failed then delivered, line and card.

A message Linq recovers late carries ``reconciled_at`` on REST messages and on
2026-02-03 events, and sits in its chat by its old time; the poller, which has
already passed that time, still delivers it, once. A failed message can be
reported delivered after all. Line status and contact cards arrive as webhooks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.linq.webhook_events import parse_delivery
from caresupport_transport import InboundEvent, MessageReceived
from caresupport_transport.events import (
    ContactCardReceived,
    LineReputation,
    LineStatus,
    LineStatusChanged,
    MessageStatusChanged,
)
from caresupport_transport.inbound import MemoryEventStore
from caresupport_transport.model import DeliveryStatus

from .support import GRANDMA, WEBHOOK_URL, Recorder, create_chat


async def _no_sleep(seconds: float) -> None:
    """Client back-off waits on nothing here."""


@pytest.fixture
async def polling(sim: Simulator) -> AsyncIterator[tuple[LinqTransport, list[InboundEvent]]]:
    heard: list[InboundEvent] = []

    async def care(event: InboundEvent) -> None:
        heard.append(event)

    async with httpx.AsyncClient(transport=sim.transport()) as http:
        config = LinqConfig(
            api_token=sim.token, phone_number=sim.phone, base_url=IN_PROCESS_BASE_URL
        )
        transport = LinqTransport(
            LinqClient(config, http=http, sleep=_no_sleep), wall_clock=lambda: sim.world.now
        )
        transport.on_inbound(care)
        yield transport, heard


async def test_a_message_reconciled_into_the_past_after_the_poller_passed_is_polled_once(
    sim: Simulator, polling: tuple[LinqTransport, list[InboundEvent]]
) -> None:
    transport, heard = polling
    store = MemoryEventStore()
    sim.inject_inbound_text(GRANDMA, "Good morning")
    start = sim.world.now
    await sim.advance(1800)
    sim.inject_inbound_text(GRANDMA, "Lunch was lovely")
    await sim.advance(600)
    await transport.poll_once(store)  # the poller has passed "Lunch", half an hour in
    await sim.advance(3600)
    sim.inject_inbound_text(GRANDMA, "Tea time")
    await sim.advance(60)
    late = sim.inject_reconciled(GRANDMA, "I felt dizzy", sent_at=start + timedelta(minutes=10))
    listed = [m.text for m in sim.world.history(late.conversation_id)]

    await transport.poll_once(store)
    await transport.poll_once(store)

    texts = [e.message.text for e in heard if isinstance(e, MessageReceived)]
    assert ["Tea time", "Lunch was lovely", "I felt dizzy", "Good morning"] == listed
    assert ["Good morning", "Lunch was lovely", "Tea time", "I felt dizzy"] == texts
    [reconciled] = [e for e in heard if isinstance(e, MessageReceived) and e.reconciled]
    assert (late.id, sim.world.now) == (reconciled.message.id, reconciled.message.reconciled_at)


async def test_rest_messages_carry_reconciled_at_only_when_recovered_late(
    sim: Simulator, api: httpx.AsyncClient
) -> None:
    live = sim.inject_inbound_text(GRANDMA, "Hello")
    late = sim.inject_reconciled(GRANDMA, "Old news", sent_at=sim.world.now - timedelta(hours=1))
    answers = [(await api.get(f"/v3/messages/{m.id}")).json() for m in (live, late)]
    assert ["reconciled_at" in a for a in answers] == [False, True]
    assert answers[1]["created_at"] < answers[1]["reconciled_at"]


@pytest.mark.parametrize(("version", "carried"), [("2026-02-03", True), ("2025-01-01", False)])
async def test_a_reconciled_message_event_says_so_in_the_2026_payload(
    sim: Simulator, recorder: Recorder, version: str, carried: bool
) -> None:
    sim.subscribe(f"{WEBHOOK_URL}?version={version}")
    late = sim.inject_reconciled(GRANDMA, "Old news", sent_at=sim.world.now - timedelta(hours=1))
    await sim.deliver_webhooks()
    [event] = [
        e
        for e in (parse_delivery(d.body) for d in recorder.received)
        if isinstance(e, MessageReceived)
    ]
    assert (late.id, carried) == (event.message.id, event.reconciled)


async def test_a_failed_message_can_be_reported_delivered_after_all(
    sim: Simulator, api: httpx.AsyncClient, recorder: Recorder
) -> None:
    sim.subscribe(WEBHOOK_URL)
    sim.fail_next_send(GRANDMA)
    chat = await create_chat(api, sim.phone, GRANDMA, text="Pills at 9")
    await sim.advance(120)
    sim.deliver_after_failure(chat["message"]["id"])
    await sim.deliver_webhooks()
    statuses = [
        e.status
        for e in (parse_delivery(d.body) for d in recorder.received)
        if isinstance(e, MessageStatusChanged)
    ]
    message = (await api.get(f"/v3/messages/{chat['message']['id']}")).json()
    assert [DeliveryStatus.FAILED, DeliveryStatus.DELIVERED] == statuses
    assert "delivered" == message["delivery_status"]


async def test_line_status_and_contact_cards_arrive_as_typed_webhooks(
    sim: Simulator, recorder: Recorder
) -> None:
    sim.subscribe(WEBHOOK_URL)
    sim.set_line_status(LineStatus.FLAGGED, LineReputation.CRITICAL)
    sim.share_contact_card_with_line(GRANDMA, "Rose", "Okafor")
    await sim.deliver_webhooks()
    line, card = (parse_delivery(d.body) for d in recorder.received)
    assert isinstance(line, LineStatusChanged)
    assert isinstance(card, ContactCardReceived)
    assert (sim.phone, LineStatus.FLAGGED, LineStatus.ACTIVE, LineReputation.CRITICAL) == (
        str(line.line),
        line.status,
        line.previous_status,
        line.reputation,
    )
    assert (GRANDMA, "Rose", "Okafor") == (str(card.person), card.first_name, card.last_name)
    payload = json.loads(recorder.received[1].body)
    assert "contact_card.received" == payload["event_type"]
