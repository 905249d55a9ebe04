"""Webhook deliveries: signed both ways, parseable in both versions, retried like Linq's."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import standardwebhooks

from adapters.linq.simulator import Faults, SigningScheme, Simulator
from adapters.linq.webhook_events import parse_delivery
from adapters.linq.webhooks import WebhookVerifier
from caresupport_transport.events import (
    ConversationCreated,
    ConversationUpdated,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
    ParticipantAdded,
    ParticipantRemoved,
    ReactionAdded,
    ReactionRemoved,
    TypingStarted,
    TypingStopped,
)
from caresupport_transport.model import DeliveryStatus, Direction

from .conftest import SIGNING_NOW
from .support import (
    AUNT,
    COUSIN,
    GRANDMA,
    SON,
    UNCLE,
    WEBHOOK_URL,
    FakeSleep,
    Recorder,
    create_chat,
)

EXPECTED_EVENTS = {
    "message.received": MessageReceived,
    "message.sent": MessageReceived,
    "message.delivered": MessageStatusChanged,
    "message.read": MessageStatusChanged,
    "message.failed": MessageStatusChanged,
    "message.edited": MessageEdited,
    "reaction.added": ReactionAdded,
    "reaction.removed": ReactionRemoved,
    "participant.added": ParticipantAdded,
    "participant.removed": ParticipantRemoved,
    "chat.created": ConversationCreated,
    "chat.group_name_updated": ConversationUpdated,
    "chat.group_icon_updated": ConversationUpdated,
    "chat.typing_indicator.started": TypingStarted,
    "chat.typing_indicator.stopped": TypingStopped,
}
ALL_EVENTS = list(EXPECTED_EVENTS)


async def _subscribe(api: httpx.AsyncClient, target: str = WEBHOOK_URL) -> str:
    created = await api.post(
        "/v3/webhook-subscriptions", json={"target_url": target, "subscribed_events": ALL_EVENTS}
    )
    secret: str = created.json()["signing_secret"]
    return secret


async def _everything(api: httpx.AsyncClient, sim: Simulator) -> None:
    """Make every event type the simulator emits happen once or more."""
    chat = await create_chat(api, sim.phone, GRANDMA, text="Morning, Mum")
    message_id = chat["message"]["id"]
    await api.patch(f"/v3/messages/{message_id}", json={"text": "Good morning, Mum"})
    await api.post(
        f"/v3/messages/{message_id}/reactions", json={"operation": "add", "type": "like"}
    )
    await api.post(
        f"/v3/messages/{message_id}/reactions", json={"operation": "remove", "type": "like"}
    )
    inbound = sim.inject_inbound_text(GRANDMA, "Did I take my pills?")
    sim.inject_reaction(GRANDMA, message_id, "love")
    sim.inject_typing(GRANDMA, chat["id"])
    sim.inject_typing(GRANDMA, chat["id"], typing=False)
    group = await create_chat(api, sim.phone, AUNT, UNCLE, COUSIN)
    await api.post(f"/v3/chats/{group['id']}/participants", json={"handle": GRANDMA})
    await api.request("DELETE", f"/v3/chats/{group['id']}/participants", json={"handle": UNCLE})
    await api.put(
        f"/v3/chats/{group['id']}",
        json={"display_name": "Mum's care", "group_chat_icon": "https://example.org/i.png"},
    )
    await create_chat(api, sim.phone, SON, preferred_service="iMessage")
    assert inbound.id in sim.world.messages
    await sim.advance(120)


def _payload(body: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(body)
    return decoded


@pytest.mark.parametrize("version", ["2025-01-01", "2026-02-03"])
async def test_every_event_is_delivered_signed_and_parses_into_its_domain_event(
    api: httpx.AsyncClient, sim: Simulator, recorder: Recorder, version: str
) -> None:
    secret = await _subscribe(api, f"{WEBHOOK_URL}?version={version}")
    await _everything(api, sim)
    verifier = WebhookVerifier(secret, clock=lambda: SIGNING_NOW)
    seen: dict[str, type] = {}
    for delivery in recorder.received:
        verifier.verify(delivery.body, delivery.headers)
        payload = _payload(delivery.body)
        assert version == payload["webhook_version"]
        assert payload["event_type"] == delivery.headers["x-webhook-event"]
        event = parse_delivery(delivery.body)
        assert payload["event_id"] == event.event_id
        seen[payload["event_type"]] = type(event)
    expected = dict(EXPECTED_EVENTS)
    if version == "2025-01-01":
        del expected["message.edited"]  # Linq sends edits to 2026-02-03 subscriptions only
    assert expected == seen


async def test_message_events_carry_the_message_as_it_stood(
    api: httpx.AsyncClient, sim: Simulator, recorder: Recorder
) -> None:
    await _subscribe(api)
    chat = await create_chat(api, sim.phone, GRANDMA, text="Lunch at noon")
    await sim.advance(120)
    events = [parse_delivery(d.body) for d in recorder.received]
    sent = next(e for e in events if isinstance(e, MessageReceived))
    statuses = [e.status for e in events if isinstance(e, MessageStatusChanged)]
    assert (chat["message"]["id"], Direction.OUTBOUND, None) == (
        sent.message.id,
        sent.message.direction,
        sent.message.delivered_at,
    )
    assert [DeliveryStatus.DELIVERED, DeliveryStatus.READ] == statuses


async def test_an_inbound_message_reaches_the_receiver_with_its_text_and_sender(
    api: httpx.AsyncClient, sim: Simulator, recorder: Recorder
) -> None:
    await _subscribe(api)
    sim.inject_inbound_text(GRANDMA, "Is the nurse coming today?")
    await sim.deliver_webhooks()
    events = [parse_delivery(d.body) for d in recorder.received]
    received = [e for e in events if isinstance(e, MessageReceived)]
    assert [("Is the nurse coming today?", GRANDMA, Direction.INBOUND)] == [
        (e.message.text, str(e.message.sender), e.message.direction) for e in received
    ]


async def test_a_failed_message_is_reported_with_a_code_and_reason(
    api: httpx.AsyncClient, sim: Simulator, recorder: Recorder
) -> None:
    await _subscribe(api)
    chat = await create_chat(api, sim.phone, SON, preferred_service="iMessage")
    await sim.advance(10)
    failures = [
        e
        for e in (parse_delivery(d.body) for d in recorder.received)
        if isinstance(e, MessageStatusChanged) and e.status is DeliveryStatus.FAILED
    ]
    assert [(chat["message"]["id"], 4005)] == [(e.message_id, e.error_code) for e in failures]
    assert failures[0].reason is not None


@pytest.mark.parametrize("scheme", [SigningScheme.STANDARD, SigningScheme.LEGACY])
async def test_each_signing_scheme_alone_verifies(
    recorder: Recorder, sleeps: FakeSleep, scheme: SigningScheme
) -> None:
    async with recorder.client() as webhook_client:
        simulator = Simulator(
            webhook_client=webhook_client, sleep=sleeps, clock=lambda: SIGNING_NOW, signing=[scheme]
        )
        subscription = simulator.subscribe(WEBHOOK_URL)
        simulator.inject_inbound_text(GRANDMA, "hello")
        await simulator.deliver_webhooks()
    headers = recorder.received[0].headers
    assert ("webhook-signature" in headers) == (scheme is SigningScheme.STANDARD)
    assert ("x-webhook-signature" in headers) == (scheme is SigningScheme.LEGACY)
    WebhookVerifier(subscription.secret, clock=lambda: SIGNING_NOW).verify(
        recorder.received[0].body, headers
    )


async def test_the_legacy_signature_is_keyed_with_the_secret_text_itself(
    sim: Simulator, recorder: Recorder
) -> None:
    subscription = sim.subscribe(WEBHOOK_URL)
    sim.inject_inbound_text(GRANDMA, "hello")
    await sim.deliver_webhooks()
    delivery = recorder.received[0]
    stamp = delivery.headers["x-webhook-timestamp"]
    expected = hmac.new(
        subscription.secret.encode(), f"{stamp}.".encode() + delivery.body, hashlib.sha256
    ).hexdigest()
    assert expected == delivery.headers["x-webhook-signature"]
    assert subscription.id == delivery.headers["x-webhook-subscription-id"]


async def test_standard_signatures_verify_with_the_reference_package(
    recorder: Recorder, sleeps: FakeSleep
) -> None:
    # The reference package checks timestamps against the real clock, so sign with it.
    async with recorder.client() as webhook_client:
        simulator = Simulator(webhook_client=webhook_client, sleep=sleeps, clock=time.time)
        subscription = simulator.subscribe(WEBHOOK_URL)
        simulator.inject_inbound_text(GRANDMA, "hello")
        await simulator.deliver_webhooks()
    delivery = recorder.received[0]
    standard = {k: v for k, v in delivery.headers.items() if k.startswith("webhook-")}
    reference = standardwebhooks.Webhook(subscription.secret)
    assert _payload(delivery.body) == reference.verify(delivery.body, standard)


async def test_a_failing_receiver_gets_retries_with_linqs_backoff_and_the_same_event_id(
    sim: Simulator, recorder: Recorder, sleeps: FakeSleep
) -> None:
    sim.subscribe(WEBHOOK_URL, events=["message.received"])
    recorder.statuses.extend([500, 503, 429])
    sim.inject_inbound_text(GRANDMA, "hello")
    outcomes = await sim.deliver_webhooks()
    received = [
        d for d in recorder.received if _payload(d.body)["event_type"] == "message.received"
    ]
    event_ids = {_payload(d.body)["event_id"] for d in received}
    webhook_ids = {d.headers["webhook-id"] for d in received}
    assert (4, 1) == (len(received), len(event_ids))
    assert event_ids == webhook_ids
    assert [2.0, 4.0, 8.0] == sleeps.calls
    assert [(True, 4)] == [
        (o.delivered, o.attempts) for o in outcomes if o.delivery.event_type == "message.received"
    ]
    assert 4 == sim.counters.deliveries_by_event_id[event_ids.pop()]


async def test_a_receiver_that_keeps_failing_is_given_up_on_after_six_attempts(
    sim: Simulator, recorder: Recorder, sleeps: FakeSleep
) -> None:
    sim.subscribe(WEBHOOK_URL, events=["message.received"])
    recorder.statuses.extend([500] * 10)
    sim.inject_inbound_text(GRANDMA, "hello")
    [outcome] = await sim.deliver_webhooks()
    assert (False, 6, 500) == (outcome.delivered, outcome.attempts, outcome.status)
    assert [2.0, 4.0, 8.0, 16.0, 30.0] == sleeps.calls


async def test_a_4xx_other_than_429_is_not_retried(
    sim: Simulator, recorder: Recorder, sleeps: FakeSleep
) -> None:
    sim.subscribe(WEBHOOK_URL, events=["message.received"])
    recorder.statuses.append(401)
    sim.inject_inbound_text(GRANDMA, "hello")
    [outcome] = await sim.deliver_webhooks()
    assert (False, 1, 401) == (outcome.delivered, outcome.attempts, outcome.status)
    assert [] == sleeps.calls


async def test_a_connection_error_is_retried(sleeps: FakeSleep) -> None:
    calls: list[httpx.Request] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(flaky)) as client:
        simulator = Simulator(webhook_client=client, sleep=sleeps)
        simulator.subscribe(WEBHOOK_URL, events=["message.received"])
        simulator.inject_inbound_text(GRANDMA, "hello")
        [outcome] = await simulator.deliver_webhooks()
    assert (True, 2) == (outcome.delivered, outcome.attempts)
    assert [2.0] == sleeps.calls


async def test_only_subscribed_event_types_go_to_active_subscriptions(
    sim: Simulator, recorder: Recorder, api: httpx.AsyncClient
) -> None:
    sim.subscribe(WEBHOOK_URL, events=["message.received"])
    paused = sim.subscribe(WEBHOOK_URL + "?paused")
    paused.is_active = False
    await create_chat(api, sim.phone, GRANDMA)
    sim.inject_inbound_text(GRANDMA, "hi")
    await sim.advance(120)
    assert ["message.received"] == [_payload(d.body)["event_type"] for d in recorder.received]


async def test_duplicated_deliveries_carry_the_same_event_id(
    recorder: Recorder, sleeps: FakeSleep
) -> None:
    async with recorder.client() as webhook_client:
        simulator = Simulator(
            webhook_client=webhook_client, sleep=sleeps, faults=Faults(webhook_duplicate_rate=1.0)
        )
        simulator.subscribe(WEBHOOK_URL, events=["message.received"])
        simulator.inject_inbound_text(GRANDMA, "hello")
        await simulator.deliver_webhooks()
    ids = [_payload(d.body)["event_id"] for d in recorder.received]
    assert 2 == len(ids)
    assert 1 == len(set(ids))


async def test_reordered_deliveries_arrive_out_of_order(
    recorder: Recorder, sleeps: FakeSleep
) -> None:
    async with recorder.client() as webhook_client:
        simulator = Simulator(
            webhook_client=webhook_client, sleep=sleeps, faults=Faults(webhook_reorder_rate=1.0)
        )
        simulator.subscribe(WEBHOOK_URL, events=["message.received"])
        simulator.inject_inbound_text(GRANDMA, "first")
        simulator.inject_inbound_text(GRANDMA, "second")
        await simulator.deliver_webhooks()
    texts = [parse_delivery(d.body) for d in recorder.received]
    assert ["second", "first"] == [e.message.text for e in texts if isinstance(e, MessageReceived)]


def test_a_subscription_made_without_the_api_must_still_be_on_loopback(sim: Simulator) -> None:
    from caresupport_transport.errors import ValidationError

    with pytest.raises(ValidationError, match="loopback"):
        sim.subscribe("https://hooks.example.org/linq")


async def test_running_in_real_time_moves_the_clock_and_delivers_what_happens(
    api: httpx.AsyncClient, sim: Simulator, recorder: Recorder
) -> None:
    sim.subscribe(WEBHOOK_URL, events=["message.delivered"])
    chat = await create_chat(api, sim.phone, GRANDMA)
    started = sim.world.now
    waits: list[float] = []
    enough = asyncio.Event()

    async def wall_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) >= 40:
            enough.set()
        await asyncio.sleep(0)  # yield to the other loop; no real waiting

    running = asyncio.create_task(sim.run(tick=1.0, speed=2.0, wall_sleep=wall_sleep))
    await enough.wait()
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    delivered = [parse_delivery(d.body) for d in recorder.received]
    assert [chat["message"]["id"]] == [
        e.message_id for e in delivered if isinstance(e, MessageStatusChanged)
    ]
    assert sim.world.now - started >= timedelta(seconds=10)
    assert {1.0, 0.2} == set(waits)
