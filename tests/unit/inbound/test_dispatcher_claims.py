"""InboundDispatcher: a live claim keeps other workers out, its documented defaults, clean exits.

Each test here was written for a change that the mutation script
(``tools/mutate.py dispatcher``) showed the suite did not notice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from caresupport_transport import InboundEvent
from caresupport_transport.inbound import (
    DEFAULT_LEASE,
    DEFAULT_PRUNE_INTERVAL,
    DispatchOutcome,
    InboundDispatcher,
    MemoryEventStore,
)

from .builders import T0, FakeClock, ManualSleep, Recorder, settle, typing

HANDLED = DispatchOutcome.HANDLED
IN_PROGRESS = DispatchOutcome.IN_PROGRESS


class Blocking:
    """A handler that starts, then waits until the test lets it finish."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.finish = asyncio.Event()

    async def __call__(self, event: InboundEvent) -> None:
        self.started.set()
        await self.finish.wait()


async def test_while_a_handler_runs_another_worker_gets_in_progress_until_the_lease_ends() -> None:
    store = MemoryEventStore()
    clock = FakeClock()
    blocking = Blocking()
    # The renewal never runs (its sleep never returns): only the first lease counts.
    first = InboundDispatcher(blocking, store, clock=clock, sleep=ManualSleep())
    second_handler = Recorder()
    second = InboundDispatcher(second_handler, store, clock=clock)
    event = typing("e1")
    running = asyncio.create_task(first.dispatch(event))
    await blocking.started.wait()

    assert IN_PROGRESS == await second.dispatch(event)
    clock.advance(DEFAULT_LEASE - timedelta(milliseconds=1))
    assert IN_PROGRESS == await second.dispatch(event)
    clock.advance(timedelta(milliseconds=1))  # the lease ran out: the first worker counts as dead
    assert HANDLED == await second.dispatch(event)

    blocking.finish.set()
    await running
    assert [event] == second_handler.handled


def test_the_default_lease_and_prune_interval_are_the_documented_ones() -> None:
    dispatcher = InboundDispatcher(Recorder(), MemoryEventStore())

    assert (timedelta(seconds=20), timedelta(hours=1)) == (DEFAULT_LEASE, DEFAULT_PRUNE_INTERVAL)
    assert (DEFAULT_LEASE, DEFAULT_PRUNE_INTERVAL) == (dispatcher.lease, dispatcher.prune_interval)
    assert not dispatcher.include_outbound


async def test_by_default_expired_keys_are_pruned_once_an_hour() -> None:
    clock = FakeClock()
    store = MemoryEventStore(retention=timedelta(minutes=1))
    dispatcher = InboundDispatcher(Recorder(), store, clock=clock)
    await dispatcher.dispatch(typing("first"))  # the first dispatch prunes (nothing yet)

    clock.advance(timedelta(minutes=59))
    await dispatcher.dispatch(typing("second"))
    assert {"event:first", "event:second"} == set(store.keys)

    clock.advance(timedelta(minutes=1))
    await dispatcher.dispatch(typing("third"))
    assert {"event:third"} == set(store.keys)


async def test_the_default_clock_is_the_real_utc_time() -> None:
    store = MemoryEventStore(retention=timedelta(hours=1))
    dispatcher = InboundDispatcher(Recorder(), store)
    before = datetime.now(UTC)

    assert HANDLED == await dispatcher.dispatch(typing("e1"))

    # Done at dispatch time: remembered for the retention window from then, not from T0.
    assert 0 == await store.prune(before + timedelta(minutes=59))
    assert 1 == await store.prune(datetime.now(UTC) + timedelta(hours=1))


def test_options_are_keyword_only() -> None:
    # A value every option would accept: only the keyword-only rule refuses it.
    with pytest.raises(TypeError, match="positional"):
        InboundDispatcher(Recorder(), MemoryEventStore(), timedelta(seconds=20))  # type: ignore[misc]


def test_outcome_values_are_what_the_receiver_answers() -> None:
    assert {
        "handled": DispatchOutcome.HANDLED,
        "duplicate": DispatchOutcome.DUPLICATE,
        "filtered": DispatchOutcome.FILTERED,
        "in progress": DispatchOutcome.IN_PROGRESS,
        "queued": DispatchOutcome.QUEUED,
    } == {outcome.value: outcome for outcome in DispatchOutcome}


async def test_dispatch_leaves_no_task_running_behind_it() -> None:
    dispatcher = InboundDispatcher(Recorder(), MemoryEventStore(), clock=FakeClock())

    assert HANDLED == await dispatcher.dispatch(typing("e1"))

    assert {asyncio.current_task()} == {t for t in asyncio.all_tasks() if not t.done()}


async def test_a_cancellation_that_arrives_as_the_handler_returns_is_not_swallowed() -> None:
    store = MemoryEventStore()
    # An injected sleep: the renewal task runs from the start, so stopping it awaits.
    dispatcher = InboundDispatcher(Recorder(), store, clock=FakeClock(), sleep=ManualSleep())
    loop = asyncio.get_running_loop()
    task: asyncio.Task[DispatchOutcome] | None = None

    async def cancelled_on_return(event: InboundEvent) -> None:
        assert task is not None
        loop.call_soon(task.cancel)  # lands while the dispatcher stops the lease renewal

    dispatcher.handler = cancelled_on_return
    task = asyncio.create_task(dispatcher.dispatch(typing("e1")))

    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await store.is_done("event:e1")  # not handled for good: a redelivery runs it


async def test_a_store_that_cannot_prune_does_not_fail_the_dispatch() -> None:
    class CannotPrune(MemoryEventStore):
        async def prune(self, now: datetime) -> int:
            raise OSError("disk full")

    recorder = Recorder()
    dispatcher = InboundDispatcher(recorder, CannotPrune(), clock=FakeClock())

    assert HANDLED == await dispatcher.dispatch(typing("e1"))
    assert [typing("e1")] == recorder.handled


async def test_the_claim_is_renewed_every_third_of_the_lease_until_the_handler_returns() -> None:
    store = MemoryEventStore()
    clock = FakeClock()
    sleep = ManualSleep()
    blocking = Blocking()
    dispatcher = InboundDispatcher(blocking, store, clock=clock, sleep=sleep)
    task = asyncio.create_task(dispatcher.dispatch(typing("e1")))

    waits = []
    for _ in range(3):
        seconds, wake = await sleep.waiting.get()
        waits.append(seconds)
        clock.advance(timedelta(seconds=1))
        wake.set_result(None)
    await sleep.waiting.get()  # the third renewal is stored when the next wait begins

    assert [DEFAULT_LEASE.total_seconds() / 3] * 3 == waits
    assert T0 + timedelta(seconds=3) + DEFAULT_LEASE == store.keys["event:e1"].expires_at
    blocking.finish.set()
    assert HANDLED == await task
    await settle()
    assert sleep.waiting.empty()  # no renewal after the handler returned
