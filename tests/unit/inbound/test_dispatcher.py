"""InboundDispatcher: once per event, acknowledged after success, in order per conversation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

import caresupport_transport.inbound as inbound
from caresupport_transport import ConfigurationError, Direction, InboundEvent
from caresupport_transport.inbound import (
    ClaimStatus,
    DispatchOutcome,
    InboundDispatcher,
    MemoryEventStore,
    event_keys,
)

from .builders import T0, FakeClock, ManualSleep, Recorder, received, settle, typing, unknown

HANDLED = DispatchOutcome.HANDLED
DUPLICATE = DispatchOutcome.DUPLICATE


def make(
    handler: Callable[[InboundEvent], object] | None = None,
    *,
    store: MemoryEventStore | None = None,
    clock: FakeClock | None = None,
    **options: object,
) -> tuple[InboundDispatcher, Recorder, MemoryEventStore]:
    recorder = Recorder()
    store = store if store is not None else MemoryEventStore()
    dispatcher = InboundDispatcher(
        handler if handler is not None else recorder,  # type: ignore[arg-type]
        store,
        clock=clock or FakeClock(),
        **options,  # type: ignore[arg-type]
    )
    return dispatcher, recorder, store


def _isort_order(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions: the order ``ruff`` (RUF022) keeps."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_public_names_are_sorted_and_importable() -> None:
    assert sorted(inbound.__all__, key=_isort_order) == inbound.__all__
    assert all(hasattr(inbound, name) for name in inbound.__all__)


def test_received_message_has_event_and_message_keys() -> None:
    assert ("event:e1", "message:m1") == event_keys(received("e1", message_id="m1"))
    assert ("event:t1",) == event_keys(typing("t1"))


async def test_event_delivered_twice_reaches_handler_once() -> None:
    dispatcher, recorder, _ = make()
    event = received("e1")

    outcomes = [await dispatcher.dispatch(event), await dispatcher.dispatch(event)]

    assert [HANDLED, DUPLICATE] == outcomes
    assert [event] == recorder.handled


async def test_same_message_from_webhook_and_polling_reaches_handler_once() -> None:
    dispatcher, recorder, _ = make()
    from_webhook = received("evt_webhook_1", message_id="m1")
    from_polling = received("poll:m1", message_id="m1")

    outcomes = [await dispatcher.dispatch(from_webhook), await dispatcher.dispatch(from_polling)]

    assert [HANDLED, DUPLICATE] == outcomes
    assert [from_webhook] == recorder.handled


async def test_duplicate_event_id_with_different_body_is_handled_once() -> None:
    dispatcher, recorder, _ = make()
    first = received("e1", text="first", conversation="chat-1")
    second = received("e1", text="second", conversation="chat-2", message_id="other")

    outcomes = [await dispatcher.dispatch(first), await dispatcher.dispatch(second)]

    assert [HANDLED, DUPLICATE] == outcomes
    assert [first] == recorder.handled


async def test_failed_handler_leaves_event_unacknowledged_and_redelivery_handles_it_once() -> None:
    dispatcher, recorder, store = make()
    recorder.failures_left = 1
    event = received("e1", message_id="m1")

    with pytest.raises(RuntimeError, match="care logic is down"):
        await dispatcher.dispatch(event)
    assert not await store.is_done("event:e1")
    assert not await store.is_done("message:m1")

    outcomes = [await dispatcher.dispatch(event), await dispatcher.dispatch(event)]

    assert [HANDLED, DUPLICATE] == outcomes
    assert [event] == recorder.handled
    assert await store.is_done("event:e1")
    assert await store.is_done("message:m1")


async def test_concurrent_duplicate_deliveries_reach_handler_once() -> None:
    gate = asyncio.Event()
    calls: list[InboundEvent] = []

    async def slow_handler(event: InboundEvent) -> None:
        calls.append(event)
        await gate.wait()

    dispatcher, _, _ = make(slow_handler)
    event = received("e1")
    tasks = [asyncio.create_task(dispatcher.dispatch(event)) for _ in range(5)]
    await settle()
    gate.set()

    outcomes = await asyncio.gather(*tasks)

    assert [HANDLED] + [DUPLICATE] * 4 == outcomes
    assert [event] == calls


async def test_concurrent_duplicates_naming_different_conversations_reach_handler_once() -> None:
    gate = asyncio.Event()
    calls: list[InboundEvent] = []

    async def slow_handler(event: InboundEvent) -> None:
        calls.append(event)
        await gate.wait()

    dispatcher, _, _ = make(slow_handler)
    first = received("e1", conversation="chat-1")
    second = received("e1", conversation="chat-2", message_id="another")
    tasks = [asyncio.create_task(dispatcher.dispatch(e)) for e in (first, second)]
    await settle()
    gate.set()

    assert [HANDLED, DUPLICATE] == await asyncio.gather(*tasks)
    assert [first] == calls


async def test_concurrent_duplicates_where_first_attempt_fails_are_handled_by_the_second() -> None:
    gate = asyncio.Event()
    calls: list[str] = []

    async def fails_first_time(event: InboundEvent) -> None:
        calls.append(event.event_id)
        await gate.wait()
        if len(calls) == 1:
            raise RuntimeError("care logic is down")

    dispatcher, _, _ = make(fails_first_time)
    event = received("e1")
    tasks = [asyncio.create_task(dispatcher.dispatch(event)) for _ in range(3)]
    await settle()
    gate.set()

    results = await asyncio.gather(*tasks, return_exceptions=True)

    assert isinstance(results[0], RuntimeError)
    assert [HANDLED, DUPLICATE] == results[1:]
    assert ["e1", "e1"] == calls


async def test_events_of_one_conversation_are_handled_one_at_a_time_in_arrival_order() -> None:
    gates = {f"e{i}": asyncio.Event() for i in range(1, 6)}
    started: list[str] = []
    finished: list[str] = []
    running = 0
    most_running = 0

    async def handler(event: InboundEvent) -> None:
        nonlocal running, most_running
        running += 1
        most_running = max(most_running, running)
        started.append(event.event_id)
        await gates[event.event_id].wait()
        finished.append(event.event_id)
        running -= 1

    dispatcher, _, _ = make(handler)
    events: list[InboundEvent] = [
        received("e1"),
        typing("e2"),
        received("e3"),
        received("e4", direction=Direction.INBOUND),
        typing("e5"),
    ]
    tasks = [asyncio.create_task(dispatcher.dispatch(e)) for e in events]
    await settle()
    assert ["e1"] == started  # the others wait for e1

    # Open the gates in reverse: order must still follow arrival, not gate opening.
    for event_id in reversed(list(gates)):
        gates[event_id].set()
    await asyncio.gather(*tasks)

    assert ["e1", "e2", "e3", "e4", "e5"] == started
    assert started == finished
    assert 1 == most_running


async def test_different_conversations_are_handled_concurrently() -> None:
    chat_2_started = asyncio.Event()
    chat_1_finished = asyncio.Event()

    async def handler(event: InboundEvent) -> None:
        if event.conversation_id == "chat-1":
            await chat_2_started.wait()  # would never return if chats were serialised
            chat_1_finished.set()
        else:
            chat_2_started.set()

    dispatcher, _, _ = make(handler)
    async with asyncio.timeout(5):
        outcomes = await asyncio.gather(
            dispatcher.dispatch(received("e1", conversation="chat-1")),
            dispatcher.dispatch(received("e2", conversation="chat-2")),
        )

    assert [HANDLED, HANDLED] == list(outcomes)
    assert chat_1_finished.is_set()


async def test_locks_are_dropped_once_conversations_are_idle() -> None:
    dispatcher, recorder, _ = make()
    recorder.failures_left = 1
    with pytest.raises(RuntimeError):
        await dispatcher.dispatch(received("e0", conversation="chat-0"))

    await asyncio.gather(
        *(dispatcher.dispatch(received(f"e{i}", conversation=f"chat-{i}")) for i in range(100))
    )

    assert 0 == dispatcher.lock_count
    assert 100 == len(recorder.handled)


async def test_outbound_echo_is_filtered_and_recorded_as_done() -> None:
    dispatcher, recorder, store = make()
    echo = received("e1", message_id="m1", direction=Direction.OUTBOUND)

    outcomes = [await dispatcher.dispatch(echo), await dispatcher.dispatch(echo)]

    assert [DispatchOutcome.FILTERED, DUPLICATE] == outcomes
    assert [] == recorder.handled
    assert await store.is_done("event:e1")
    assert await store.is_done("message:m1")


async def test_outbound_echo_reaches_handler_when_asked_for() -> None:
    dispatcher, recorder, _ = make(include_outbound=True)
    echo = received("e1", direction=Direction.OUTBOUND)

    assert HANDLED == await dispatcher.dispatch(echo)
    assert [echo] == recorder.handled


async def test_event_without_conversation_is_deduplicated() -> None:
    dispatcher, recorder, _ = make()
    event = unknown("e1")

    outcomes = await asyncio.gather(dispatcher.dispatch(event), dispatcher.dispatch(event))

    assert [HANDLED, DUPLICATE] == list(outcomes)
    assert [event] == recorder.handled


async def test_event_claimed_by_another_worker_is_in_progress_not_handled() -> None:
    store = MemoryEventStore()
    await store.claim(["event:e1"], token="other-worker", now=T0, until=T0 + timedelta(seconds=60))
    dispatcher, recorder, _ = make(store=store)

    assert DispatchOutcome.IN_PROGRESS == await dispatcher.dispatch(typing("e1"))
    assert [] == recorder.handled


async def test_claim_of_a_crashed_worker_runs_out_and_redelivery_is_handled() -> None:
    store = MemoryEventStore()
    clock = FakeClock()
    await store.claim(["event:e1"], token="crashed", now=T0, until=T0 + timedelta(seconds=60))
    dispatcher, recorder, _ = make(store=store, clock=clock)

    clock.advance(timedelta(seconds=61))

    assert HANDLED == await dispatcher.dispatch(typing("e1"))
    assert 1 == len(recorder.handled)


async def test_slow_handler_renews_its_claim_so_no_other_worker_takes_over() -> None:
    store = MemoryEventStore()
    clock = FakeClock()
    sleep = ManualSleep()
    gate = asyncio.Event()
    calls: list[str] = []

    async def slow_handler(event: InboundEvent) -> None:
        calls.append("first worker")
        await gate.wait()

    first = InboundDispatcher(
        slow_handler, store, clock=clock, sleep=sleep, lease=timedelta(seconds=60)
    )
    second, recorder, _ = make(store=store, clock=clock)
    event = typing("e1")
    task = asyncio.create_task(first.dispatch(event))

    seconds, wake = await sleep.waiting.get()
    assert 20.0 == seconds  # a third of the lease
    clock.advance(timedelta(seconds=50))
    wake.set_result(None)
    await sleep.waiting.get()  # the renewal is done when the next wait begins
    clock.advance(timedelta(seconds=50))  # past the first lease, within the renewed one

    assert DispatchOutcome.IN_PROGRESS == await second.dispatch(event)
    gate.set()
    assert HANDLED == await task
    assert DUPLICATE == await second.dispatch(event)
    assert ["first worker"] == calls
    assert [] == recorder.handled


async def test_cancelled_handler_gives_its_claim_back() -> None:
    started = asyncio.Event()

    async def hangs(event: InboundEvent) -> None:
        started.set()
        await asyncio.Event().wait()

    dispatcher, _, store = make(hangs)
    task = asyncio.create_task(dispatcher.dispatch(typing("e1")))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert {} == store.keys
    assert 0 == dispatcher.lock_count


async def test_dispatch_many_stops_at_the_first_failure_and_resumes_on_retry() -> None:
    failing_once = {"e2"}
    handled: list[str] = []

    async def handler(event: InboundEvent) -> None:
        if event.event_id in failing_once:
            failing_once.discard(event.event_id)
            raise RuntimeError("care logic is down")
        handled.append(event.event_id)

    dispatcher, _, _ = make(handler)
    batch = [typing("e1"), typing("e2"), typing("e3")]

    with pytest.raises(RuntimeError):
        await dispatcher.dispatch_many(batch)
    outcomes = await dispatcher.dispatch_many(batch)

    assert [DUPLICATE, HANDLED, HANDLED] == outcomes
    assert ["e1", "e2", "e3"] == handled


async def test_expired_keys_are_pruned_at_most_once_per_interval() -> None:
    clock = FakeClock()
    store = MemoryEventStore(retention=timedelta(hours=48))
    dispatcher, _, _ = make(store=store, clock=clock, prune_interval=timedelta(hours=1))
    await dispatcher.dispatch(typing("old"))

    clock.advance(timedelta(hours=48, minutes=30))
    await dispatcher.dispatch(typing("new"))  # prunes "old"
    assert ["event:new"] == list(store.keys)

    await store.complete(["event:expired"], now=clock.now - timedelta(hours=49))
    clock.advance(timedelta(minutes=59))
    await dispatcher.dispatch(typing("newer"))  # within the interval: no prune
    assert "event:expired" in store.keys

    clock.advance(timedelta(minutes=1))
    await dispatcher.dispatch(typing("newest"))
    assert "event:expired" not in store.keys


async def test_failing_store_surfaces_as_an_error_and_handler_is_not_called() -> None:
    class BrokenStore(MemoryEventStore):
        async def claim(self, *args: object, **kwargs: object) -> ClaimStatus:
            raise OSError("disk full")

    dispatcher, recorder, _ = make(store=BrokenStore())

    with pytest.raises(OSError, match="disk full"):
        await dispatcher.dispatch(typing("e1"))
    assert [] == recorder.handled


def test_non_positive_lease_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="lease must be positive"):
        InboundDispatcher(Recorder(), MemoryEventStore(), lease=timedelta(0))
