"""InboundDispatcher with the default sleep: a timer, not a task per event, starts the renewals.

These run on real time with leases of a fraction of a second (no timing is
asserted, only what the store holds).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from caresupport_transport import InboundEvent
from caresupport_transport.inbound import (
    ClaimStatus,
    DispatchOutcome,
    InboundDispatcher,
    MemoryEventStore,
)

from .builders import typing

LEASE = timedelta(seconds=0.3)


def _now() -> datetime:
    return datetime.now(UTC)


async def test_a_handler_slower_than_its_lease_keeps_its_claim_through_timer_started_renewals() -> (
    None
):
    store = MemoryEventStore()
    halfway = asyncio.Event()
    finish = asyncio.Event()

    async def slow(event: InboundEvent) -> None:
        await asyncio.sleep(LEASE.total_seconds() * 2)  # two leases: renewed at least 3 times
        halfway.set()
        await finish.wait()

    dispatcher = InboundDispatcher(slow, store, lease=LEASE)
    task = asyncio.create_task(dispatcher.dispatch(typing("e1")))
    await halfway.wait()

    now = _now()
    assert ClaimStatus.BUSY == await store.claim(
        ["event:e1"], token="other", now=now, until=now + LEASE
    )
    finish.set()
    assert DispatchOutcome.HANDLED == await task


async def test_a_quick_handler_starts_no_task_and_leaves_no_timer_behind() -> None:
    store = MemoryEventStore()
    tasks_during: list[int] = []

    async def quick(event: InboundEvent) -> None:
        tasks_during.append(len(asyncio.all_tasks()))

    dispatcher = InboundDispatcher(quick, store, lease=LEASE)
    before = len(asyncio.all_tasks())
    assert DispatchOutcome.HANDLED == await dispatcher.dispatch(typing("e1"))
    await asyncio.sleep(LEASE.total_seconds())  # a timer left behind would start a renewal now

    assert [before] == tasks_during
    assert before == len(asyncio.all_tasks())
    assert await store.is_done("event:e1")


async def test_a_cancellation_as_a_slow_handler_returns_is_not_swallowed() -> None:
    store = MemoryEventStore()
    loop = asyncio.get_running_loop()
    task: asyncio.Task[DispatchOutcome] | None = None

    async def slow_then_cancelled(event: InboundEvent) -> None:
        await asyncio.sleep(LEASE.total_seconds() / 2)  # past a third: the renewals run
        assert task is not None
        loop.call_soon(task.cancel)  # lands while the dispatcher stops the renewals

    dispatcher = InboundDispatcher(slow_then_cancelled, store, lease=LEASE)
    task = asyncio.create_task(dispatcher.dispatch(typing("e1")))

    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await store.is_done("event:e1")
