"""The durable inbox over the memory store: intake, workers, retries, dead letters, order."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta

import attrs
import pytest

from adapters.memory import InMemoryTransport
from caresupport_transport import (
    ConfigurationError,
    Direction,
    InboundEvent,
    MessageReceived,
    OutgoingMessage,
)
from caresupport_transport.inbound import (
    DispatchOutcome,
    Inbox,
    InboxLease,
    InboxState,
    InboxWorker,
    MemoryEventStore,
    RetrySchedule,
    reply_key,
)

from .builders import FakeClock, Recorder, received, settle, typing

FAST = RetrySchedule(first_delay=timedelta(seconds=10), jitter=0.0)


def make(*, order_key: object = None) -> tuple[Inbox, MemoryEventStore, FakeClock]:
    store = MemoryEventStore()
    clock = FakeClock()
    inbox = (
        Inbox(store, clock=clock)
        if order_key is None
        else Inbox(store, clock=clock, order_key=order_key)  # type: ignore[arg-type]
    )
    return inbox, store, clock


async def test_an_event_is_stored_at_intake_and_handled_by_a_worker_later() -> None:
    inbox, store, _ = make()
    handler = Recorder()
    worker = InboxWorker(inbox, handler)
    event = received("e1")

    assert DispatchOutcome.QUEUED == await inbox.dispatch(event)
    assert [] == handler.handled
    assert 1 == await worker.run_once()

    assert [event] == handler.handled
    assert [] == await inbox.entries()
    assert await store.is_done("event:e1")
    assert await store.is_done(f"message:{event.message.id}")
    assert 1 == worker.handled


async def test_duplicates_by_event_or_by_message_id_are_recognised_at_intake() -> None:
    inbox, _, _ = make()
    first = received("e1", message_id="m1")
    polled = received("poll:m1", message_id="m1")

    outcomes = [await inbox.dispatch(e) for e in (first, first, polled)]

    assert [DispatchOutcome.QUEUED, DispatchOutcome.DUPLICATE, DispatchOutcome.DUPLICATE] == (
        outcomes
    )
    assert ["e1"] == [entry.id for entry in await inbox.entries()]


async def test_our_own_echoes_are_filtered_at_intake_unless_asked_for() -> None:
    inbox, _, clock = make()
    echo = received("e1", direction=Direction.OUTBOUND)
    keeping = Inbox(MemoryEventStore(), clock=clock, include_outbound=True)

    assert DispatchOutcome.FILTERED == await inbox.dispatch(echo)
    assert [] == await inbox.entries()
    assert DispatchOutcome.QUEUED == await keeping.dispatch(echo)


async def test_an_order_key_function_that_returns_no_string_is_refused_naming_it() -> None:
    inbox, _, _ = make(order_key=lambda event: None)

    with pytest.raises(ConfigurationError, match="order_key"):
        await inbox.dispatch(received("e1"))
    assert [] == await inbox.entries()


async def test_events_of_one_conversation_are_handled_in_order_and_others_alongside() -> None:
    inbox, _, _ = make()
    started: list[str] = []
    release = asyncio.Event()

    async def slow(event: InboundEvent) -> None:
        started.append(event.event_id)
        await release.wait()

    worker = InboxWorker(inbox, slow, concurrency=4)
    for event in (received("a1"), received("a2"), received("b1", conversation="chat-2")):
        await inbox.dispatch(event)

    running = asyncio.create_task(worker.run_once())
    await settle()
    assert ["a1", "b1"] == sorted(started), "a2 waits behind a1; chat-2 goes alongside"
    release.set()
    await running
    await worker.run_once()
    assert ["a1", "b1", "a2"] == started


async def test_a_family_order_key_serialises_two_conversations() -> None:
    def family(event: InboundEvent) -> str:
        return "family:lopez"

    inbox, _, _ = make(order_key=family)
    handler = Recorder()
    worker = InboxWorker(inbox, handler, concurrency=4)
    await inbox.dispatch(received("a1", conversation="chat-mum"))
    await inbox.dispatch(received("b1", conversation="chat-son"))

    assert 1 == await worker.run_once()
    assert 1 == await worker.run_once()
    assert ["a1", "b1"] == [e.event_id for e in handler.handled]


async def test_a_failure_is_retried_on_the_schedule_and_later_events_of_the_key_wait() -> None:
    inbox, _, clock = make()
    handler = Recorder(failures_left=1)
    worker = InboxWorker(inbox, handler, schedule=FAST)
    await inbox.dispatch(received("e1"))
    await inbox.dispatch(received("e2"))

    assert 1 == await worker.run_once()
    (waiting, _) = await inbox.entries()
    assert (1, clock.now + timedelta(seconds=10)) == (waiting.attempts, waiting.due_at)
    assert waiting.last_error is not None
    assert waiting.last_error.startswith("RuntimeError")
    assert 0 == await worker.run_once(), "e1 is not due and e2 waits behind it"

    clock.advance(timedelta(seconds=10))
    await worker.drain()

    assert ["e1", "e2"] == [e.event_id for e in handler.handled]
    assert (1, 2) == (worker.failed, worker.handled)


async def test_an_event_that_always_fails_becomes_a_dead_letter_and_frees_its_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    schedule = RetrySchedule(first_delay=timedelta(minutes=1), max_attempts=3, jitter=0.0)
    inbox, _, clock = make()
    handled: list[str] = []

    async def poisoned(event: InboundEvent) -> None:
        if event.event_id == "poison":
            dose = "metformin 500mg"
            raise ValueError(f"cannot parse {dose!r}")
        handled.append(event.event_id)

    worker = InboxWorker(inbox, poisoned, schedule=schedule)
    await inbox.dispatch(received("poison"))
    await inbox.dispatch(received("next"))
    await inbox.dispatch(received("other", conversation="chat-2"))

    for _ in range(3):
        await worker.drain()
        clock.advance(timedelta(minutes=5))
    await worker.drain()

    (dead,) = await inbox.entries(InboxState.DEAD)
    assert ("poison", 3) == (dead.id, dead.attempts)
    assert dead.last_error is not None
    assert "metformin" not in dead.last_error, "an error's message may hold health details"
    assert "dead letter" in caplog.text
    assert "metformin" not in caplog.text
    assert ["other", "next"] == handled
    stats = await inbox.stats()
    assert (0, 1) == (stats.pending, stats.dead)


async def test_a_dead_letter_replayed_after_a_fix_is_handled() -> None:
    schedule = RetrySchedule(max_attempts=1)
    inbox, _, _ = make()
    handler = Recorder(failures_left=1)
    worker = InboxWorker(inbox, handler, schedule=schedule)
    await inbox.dispatch(received("e1"))
    await worker.drain()
    assert 1 == worker.buried

    assert await inbox.replay("e1")
    assert not await inbox.replay("absent")
    await worker.drain()

    assert ["e1"] == [e.event_id for e in handler.handled]
    assert [] == await inbox.entries()


async def test_a_discarded_entry_is_never_handled_and_stays_a_duplicate() -> None:
    inbox, _, _ = make()
    handler = Recorder()
    await inbox.dispatch(received("e1"))

    assert await inbox.discard("e1")
    await InboxWorker(inbox, handler).drain()

    assert [] == handler.handled
    assert DispatchOutcome.DUPLICATE == await inbox.dispatch(received("e1"))


async def test_an_unreadable_payload_is_buried_at_once_with_the_reason() -> None:
    inbox, store, _ = make()
    await inbox.dispatch(received("e1"))
    store.inbox["e1"] = attrs.evolve(store.inbox["e1"], payload='{"type": "FromTheFuture"}')
    handler = Recorder()

    await InboxWorker(inbox, handler).drain()

    (dead,) = await inbox.entries(InboxState.DEAD)
    assert dead.last_error is not None
    assert "ProtocolError" in dead.last_error
    assert [] == handler.handled


async def test_the_schedule_gives_up_a_day_after_receipt_by_default() -> None:
    inbox, _, clock = make()
    handler = Recorder(failures_left=10_000)
    worker = InboxWorker(inbox, handler, rng=random.Random(7))
    await inbox.dispatch(received("e1"))

    while (await inbox.stats()).pending:
        await worker.drain()
        clock.advance(timedelta(minutes=1))

    (dead,) = await inbox.entries(InboxState.DEAD)
    assert 20 <= dead.attempts <= 40
    assert clock.now - dead.received_at <= timedelta(hours=24, minutes=1)


async def test_a_worker_that_lost_its_lease_cannot_acknowledge_and_the_event_is_handled_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, _, clock = make()
    stalled = asyncio.Event()
    calls: list[str] = []

    async def stalls_once(event: InboundEvent) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            await stalled.wait()

    async def never(seconds: float) -> None:
        await asyncio.Event().wait()

    first = InboxWorker(inbox, stalls_once, lease=timedelta(seconds=30), sleep=never)
    second = InboxWorker(inbox, stalls_once, lease=timedelta(seconds=30), sleep=never)
    await inbox.dispatch(received("e1"))
    running = asyncio.create_task(first.run_once())
    await settle()

    clock.advance(timedelta(seconds=31))
    assert 1 == await second.run_once()
    stalled.set()
    with caplog.at_level(logging.WARNING):
        await running

    assert ["e1", "e1"] == calls
    assert (1, 1) == (second.handled, first.fenced)
    assert "taken over" in caplog.text


async def test_a_slow_handler_keeps_its_lease_by_heartbeat() -> None:
    inbox, _, clock = make()
    sleeps: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()

    async def manual(seconds: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await sleeps.put(wake)
        await wake

    done = asyncio.Event()

    async def slow(event: InboundEvent) -> None:
        await done.wait()

    worker = InboxWorker(inbox, slow, lease=timedelta(seconds=30), sleep=manual)
    other = InboxWorker(inbox, Recorder())
    await inbox.dispatch(received("e1"))
    running = asyncio.create_task(worker.run_once())
    for _ in range(5):  # 5 heartbeats, 10 s apart: 50 s, past the first lease
        clock.advance(timedelta(seconds=10))
        (await sleeps.get()).set_result(None)
        await settle()
    assert 0 == await other.run_once()
    done.set()
    await running
    assert 1 == worker.handled


class SwallowsOneCancel(MemoryEventStore):
    """A heartbeat that waits for a free connection and loses a cancel arriving with it.

    As Python 3.11's ``asyncio.wait_for`` does (it returns the result that came in
    with the cancellation), and psycopg_pool waits for a pooled connection with it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.waiting = asyncio.Event()
        self.free = asyncio.Event()
        self.heartbeats = 0

    async def heartbeat(self, lease: InboxLease, *, until: datetime) -> bool:
        self.waiting.set()
        try:
            await self.free.wait()
        except asyncio.CancelledError:
            await self.free.wait()  # the connection came in with the cancel: carry on
        self.heartbeats += 1
        return await super().heartbeat(lease, until=until)


async def test_a_heartbeat_that_loses_its_cancellation_does_not_keep_the_entry_from_its_ack() -> (
    None
):
    store = SwallowsOneCancel()
    inbox = Inbox(store)

    async def handler(event: InboundEvent) -> None:
        await store.waiting.wait()  # the lease keeper waits for a connection...
        asyncio.get_running_loop().call_soon(store.free.set)  # ...which comes with the cancel

    async def brief(seconds: float) -> None:
        await asyncio.sleep(0)

    worker = InboxWorker(inbox, handler, sleep=brief)
    await inbox.dispatch(received("e1"))

    assert 1 == await asyncio.wait_for(worker.run_once(), timeout=5)
    assert (1, 1) == (worker.handled, store.heartbeats)
    assert [] == await inbox.entries()


async def test_run_and_stop_handle_what_arrives_while_running() -> None:
    inbox, _, _ = make()
    handler = Recorder()
    worker = InboxWorker(inbox, handler, poll_interval=30.0)

    worker.start()
    assert worker.started
    await inbox.dispatch(received("e1"))
    await inbox.dispatch(typing("e2"))
    for _ in range(100):
        if len(handler.handled) == 2:
            break
        await asyncio.sleep(0.01)
    await worker.stop()

    assert ["e1", "e2"] == [e.event_id for e in handler.handled]
    assert not worker.started


async def test_a_reply_sent_under_reply_key_is_not_sent_twice_when_the_event_is_handled_again() -> (
    None
):
    transport = InMemoryTransport(seed=1)
    inbox, _, clock = make()
    person = "+15551234567"
    incoming = transport.world.receive_text(person, "Did Mum take her pills?")
    event = MessageReceived("e1", clock.now, incoming.conversation_id, incoming)
    deaths = 1

    async def care_logic(event: InboundEvent) -> None:
        nonlocal deaths
        assert isinstance(event, MessageReceived)
        await transport.send_message(
            event.conversation_id,
            OutgoingMessage.of_text("Yes, at 8:02."),
            idempotency_key=reply_key(event, "answer"),
        )
        if deaths:
            deaths -= 1
            raise asyncio.CancelledError  # the worker dies before it marks the event done

    await inbox.dispatch(event)
    with pytest.raises(asyncio.CancelledError):
        await InboxWorker(inbox, care_logic).run_once()
    clock.advance(timedelta(minutes=1))
    await InboxWorker(inbox, care_logic).drain()

    assert ["Yes, at 8:02."] == [m.text for m in transport.sent]
    assert [] == await inbox.entries()


def test_reply_keys_are_stable_per_message_and_label_and_safe_as_idempotency_keys() -> None:
    by_webhook = received("e1", message_id="m1")
    by_polling = received("poll:m1", message_id="m1")

    assert reply_key(by_webhook, "answer") == reply_key(by_polling, "answer")
    assert reply_key(by_webhook, "answer") != reply_key(by_webhook, "reminder")
    assert reply_key(by_webhook) != reply_key(received("e2", message_id="m2"))
    assert reply_key(typing("t1")) != reply_key(typing("t2"))
    key = reply_key(by_webhook)
    from caresupport_transport.checks import check_idempotency_key

    assert key == check_idempotency_key(key)
    assert 38 == len(key)


@pytest.mark.parametrize("label", ["", "x" * 201, None])
def test_a_reply_key_label_must_be_a_short_string(label: object) -> None:
    from caresupport_transport import ValidationError

    with pytest.raises(ValidationError, match="label"):
        reply_key(received("e1"), label)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("concurrency", 0),
        ("concurrency", True),
        ("lease", timedelta(0)),
        ("poll_interval", 0),
        ("poll_interval", float("nan")),
    ],
)
def test_worker_settings_out_of_range_are_refused_naming_them(setting: str, value: object) -> None:
    inbox, _, _ = make()
    with pytest.raises(ConfigurationError, match=setting):
        InboxWorker(inbox, Recorder(), **{setting: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("first_delay", timedelta(0)),
        ("max_delay", timedelta(seconds=-1)),
        ("give_up_after", timedelta(0)),
        ("factor", 0.5),
        ("factor", True),
        ("jitter", 1.0),
        ("jitter", -0.1),
        ("max_attempts", 0),
    ],
)
def test_schedule_settings_out_of_range_are_refused_naming_them(
    setting: str, value: object
) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        RetrySchedule(**{setting: value})  # type: ignore[arg-type]


def test_the_schedule_grows_exponentially_up_to_its_cap_with_bounded_jitter() -> None:
    plain = RetrySchedule(jitter=0.0)
    jittered = RetrySchedule(jitter=0.2)
    rng = random.Random(3)

    assert [10, 20, 40, 80] == [plain.delay(n).total_seconds() for n in range(1, 5)]
    assert 3600 == plain.delay(60).total_seconds()
    for attempts in range(1, 40):
        plain_delay = plain.delay(attempts).total_seconds()
        assert (
            0.8 * plain_delay
            <= jittered.delay(attempts, rng).total_seconds()
            <= 1.2 * (plain_delay)
        )
