"""Simulator fidelity: ids fresh per run, no events from before a subscription,
and effects or replies sent where the service cannot carry them are caught."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from adapters.cli.main import build_parser
from adapters.cli.simulate import build_simulator, control_url, print_banner
from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.asgi import WebhookReceiver
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.linq.webhooks import WebhookVerifier
from caresupport_transport.capabilities import Feature
from caresupport_transport.content import Effect, EffectKind, OutgoingMessage, ReplyTo
from caresupport_transport.events import InboundEvent, MessageReceived
from caresupport_transport.inbound import InboundDispatcher, SqliteEventStore

from .conftest import SIGNING_NOW
from .support import GRANDMA, NURSE, SON, WEBHOOK_URL, FakeSleep, Recorder, populate

SECRET = "whsec_Y2FyZXN1cHBvcnQtc2ltdWxhdG9yLXRlc3Q="
CONFETTI = Effect(EffectKind.SCREEN, "confetti")


# -- ids: random per run unless seeded ---------------------------------------------


def _message_and_event_ids(sim: Simulator) -> tuple[str, ...]:
    message = sim.inject_inbound_text(GRANDMA, "Did I take my 9am pill?")
    return (message.id, *(item.event.event_id for item in sim.backend.take_events()))


def test_a_restarted_simulator_issues_new_message_and_event_ids() -> None:
    first, restarted = Simulator(), Simulator()

    assert first.seed != restarted.seed
    assert not set(_message_and_event_ids(first)) & set(_message_and_event_ids(restarted))


def test_a_seeded_simulator_repeats_its_ids_and_takes_a_given_worlds_seed() -> None:
    assert _message_and_event_ids(Simulator(seed=5)) == _message_and_event_ids(Simulator(seed=5))
    random_run = Simulator()
    assert _message_and_event_ids(random_run) == _message_and_event_ids(
        Simulator(seed=random_run.seed)
    )


class CareLogic:
    def __init__(self) -> None:
        self.handled: list[InboundEvent] = []

    async def __call__(self, event: InboundEvent) -> None:
        self.handled.append(event)


async def _one_run(store_path: Path, text: str, *, seed: int | None) -> list[str]:
    """A simulator run (a fresh process, as far as ids go) into a receiver on a saved store."""
    care = CareLogic()
    store = SqliteEventStore(store_path)
    receiver = WebhookReceiver(
        WebhookVerifier(SECRET, clock=lambda: SIGNING_NOW), InboundDispatcher(care, store)
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as client:
            sim = Simulator(
                seed=seed, webhook_client=client, sleep=FakeSleep(), clock=lambda: SIGNING_NOW
            )
            sim.subscribe(WEBHOOK_URL, events=["message.received"], secret=SECRET)
            sim.inject_inbound_text(GRANDMA, text)
            await sim.deliver_webhooks()
    finally:
        await store.close()
    return [e.message.text for e in care.handled if isinstance(e, MessageReceived)]


async def test_a_saved_event_store_handles_the_new_messages_of_a_restarted_simulator(
    tmp_path: Path,
) -> None:
    store = tmp_path / "events.sqlite"

    assert ["Morning pills done"] == await _one_run(store, "Morning pills done", seed=None)
    assert ["Evening pills done"] == await _one_run(store, "Evening pills done", seed=None)


async def test_a_restart_with_the_same_seed_is_what_made_a_saved_store_drop_messages(
    tmp_path: Path,
) -> None:
    """Why ids are random by default: the same seed re-issues the first run's event ids."""
    store = tmp_path / "events.sqlite"

    assert ["Morning pills done"] == await _one_run(store, "Morning pills done", seed=5)
    assert [] == await _one_run(store, "Evening pills done", seed=5)


def test_simulate_draws_a_seed_unless_given_one_and_names_it() -> None:
    def built(*argv: str) -> Simulator:
        return build_simulator(build_parser().parse_args(["simulate", "--token", "t", *argv]))

    unseeded = [built(), built()]
    assert unseeded[0].seed != unseeded[1].seed
    assert not set(_message_and_event_ids(unseeded[0])) & set(_message_and_event_ids(unseeded[1]))
    seeded = [built("--seed", "5"), built("--seed", "5")]
    assert [5, 5] == [s.seed for s in seeded]
    assert [s.world.seed for s in seeded] == [5, 5]
    assert seeded[0].faults.faults.seed == 5
    out = io.StringIO()
    print_banner(unseeded[0], "127.0.0.1", 8787, out)
    assert f"--seed {unseeded[0].seed}" in out.getvalue()


# -- subscriptions see only what happens after them ------------------------------------


def _event_types(recorder: Recorder) -> list[str]:
    return [json.loads(r.body)["event_type"] for r in recorder.received]


async def test_events_from_before_a_subscription_are_not_delivered_to_it(
    sim: Simulator, recorder: Recorder
) -> None:
    sim.inject_inbound_text(GRANDMA, "Before anyone listened")
    sim.world.receive_text(NURSE, "Also before, still in the World's outbox")
    sim.subscribe(WEBHOOK_URL, events=["message.received"], secret=SECRET)
    sim.inject_inbound_text(GRANDMA, "After the subscription")
    await sim.deliver_webhooks()

    texts = [json.loads(r.body)["data"]["parts"][0]["value"] for r in recorder.received]
    assert ["After the subscription"] == texts


async def test_a_subscription_made_through_the_api_starts_with_the_next_event(
    sim: Simulator, api: httpx.AsyncClient, recorder: Recorder
) -> None:
    sim.inject_inbound_text(GRANDMA, "Not yet delivered anywhere")
    early = await api.post(
        "/v3/webhook-subscriptions",
        json={"target_url": WEBHOOK_URL, "subscribed_events": ["message.received"]},
    )
    assert 201 == early.status_code
    sim.inject_inbound_text(NURSE, "Seen by the first subscription")
    late = await api.post(
        "/v3/webhook-subscriptions",
        json={"target_url": WEBHOOK_URL + "?late", "subscribed_events": ["message.received"]},
    )
    assert 201 == late.status_code
    sim.inject_inbound_text(SON, "Seen by both")
    await sim.deliver_webhooks()

    by_subscription: dict[str, list[str]] = {}
    for received in recorder.received:
        text = json.loads(received.body)["data"]["parts"][0]["value"]
        by_subscription.setdefault(received.headers["x-webhook-subscription-id"], []).append(text)
    assert {
        early.json()["id"]: ["Seen by the first subscription", "Seen by both"],
        late.json()["id"]: ["Seen by both"],
    } == by_subscription


# -- what a service cannot carry, sent anyway, is caught -------------------------------


@pytest.fixture
async def linq(sim: Simulator, sleeps: FakeSleep) -> AsyncIterator[LinqClient]:
    config = LinqConfig(api_token=sim.token, phone_number=sim.phone, base_url=IN_PROCESS_BASE_URL)
    async with (
        sim.client() as http,
        LinqClient(config, http=http, sleep=sleeps) as client,
    ):
        yield client


async def test_a_raw_client_send_with_an_effect_to_an_sms_only_person_is_recorded(
    linq: LinqClient, sim: Simulator, api: httpx.AsyncClient
) -> None:
    chat = await linq.create_chat([SON], OutgoingMessage.of_text("Hello"))
    sent = await linq.send_message(chat.id, OutgoingMessage.of_text("Party!", effect=CONFETTI))

    assert {"effect:sms": 1} == dict(sim.counters.features_dropped)
    assert {sent.message.id: ("effect",)} == sim.backend.dropped_features
    assert sim.world.messages[sent.message.id].effect is None  # SMS carried none
    state = (await api.get(control_url(IN_PROCESS_BASE_URL) + "/state")).json()
    assert {"effect:sms": 1} == state["features_dropped"]
    assert {sent.message.id: ["effect"]} == state["dropped_features"]


async def test_a_raw_client_reply_in_an_rcs_chat_is_recorded(
    linq: LinqClient, sim: Simulator
) -> None:
    chat = await linq.create_chat([NURSE], OutgoingMessage.of_text("Hello"))
    first = await linq.send_message(chat.id, OutgoingMessage.of_text("Visit at 3?"))
    reply = OutgoingMessage.of_text("Or 4?", reply_to=ReplyTo(first.message.id), effect=CONFETTI)
    sent = await linq.send_message(chat.id, reply)

    assert {"effect:rcs": 1, "reply_to:rcs": 1} == dict(sim.counters.features_dropped)
    assert ("effect", "reply_to") == sim.backend.dropped_features[sent.message.id]


async def test_an_effect_and_reply_on_imessage_are_carried_and_not_recorded(
    linq: LinqClient, sim: Simulator
) -> None:
    chat = await linq.create_chat([GRANDMA], OutgoingMessage.of_text("Hello"))
    first = await linq.send_message(chat.id, OutgoingMessage.of_text("Birthday at 5"))
    reply = OutgoingMessage.of_text("Cake!", reply_to=ReplyTo(first.message.id), effect=CONFETTI)
    sent = await linq.send_message(chat.id, reply)

    assert CONFETTI == sim.world.messages[sent.message.id].effect
    assert ({}, {}) == (dict(sim.counters.features_dropped), sim.backend.dropped_features)


async def test_the_transport_degrades_an_effect_for_sms_before_sending_so_nothing_is_recorded(
    linq: LinqClient, sim: Simulator
) -> None:
    transport = LinqTransport(linq)
    chat = await linq.create_chat([SON], OutgoingMessage.of_text("Hello"))
    receipt = await transport.send_message(
        chat.id, OutgoingMessage.of_text("Party!", effect=CONFETTI)
    )

    assert [Feature.EFFECT] == [d.feature for d in receipt.degradations]
    assert ({}, {}) == (dict(sim.counters.features_dropped), sim.backend.dropped_features)
    assert 1 == sim.counters.messages_by_idempotency_key[receipt.idempotency_key]


def test_resetting_the_counters_clears_the_dropped_features_count() -> None:
    sim = Simulator()
    populate(sim)
    sim.counters.features_dropped["effect:sms"] += 1
    sim.counters.reset()
    assert {} == dict(sim.counters.features_dropped)
