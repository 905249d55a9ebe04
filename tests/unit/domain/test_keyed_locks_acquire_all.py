"""KeyedLocks.acquire_all / release_all: the dispatcher's hot path without context managers."""

from __future__ import annotations

import asyncio

import pytest

from caresupport_transport.keyed_locks import KeyedLocks


async def test_callers_get_the_locks_in_the_order_they_asked_and_idle_names_are_dropped() -> None:
    locks = KeyedLocks()
    order: list[int] = []

    async def worker(n: int) -> None:
        names = ["conversation:c1", f"key:event:{n}"]
        await locks.acquire_all(names)
        try:
            await asyncio.sleep(0)
            order.append(n)
        finally:
            locks.release_all(names)

    await asyncio.gather(*(worker(n) for n in range(10)))

    assert list(range(10)) == order
    assert 0 == len(locks)


async def test_a_caller_cancelled_while_waiting_holds_nothing_afterwards() -> None:
    locks = KeyedLocks()
    await locks.acquire_all(["b"])
    waiting = asyncio.create_task(locks.acquire_all(["a", "b"]))  # takes "a", waits on "b"
    await asyncio.sleep(0)
    assert 2 == len(locks)

    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert 1 == len(locks)  # only "b", still held by the first caller
    await asyncio.wait_for(locks.acquire_all(["a"]), timeout=1)  # "a" was given back
    locks.release_all(["a"])
    locks.release_all(["b"])
    assert 0 == len(locks)
