"""``VirtualTime``: a clock and a sleep on which no real time passes, for whole-worker tests."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import TypeVar

import attrs

from .builders import T0

_T = TypeVar("_T")


@attrs.define
class VirtualTime:
    """Moves the clock to the next sleeper's wake-up whenever every task is blocked."""

    now: datetime = T0
    _sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = attrs.field(factory=list)
    _order: itertools.count[int] = attrs.field(factory=itertools.count)

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        due = self.now + timedelta(seconds=max(seconds, 0.0))
        heapq.heappush(self._sleepers, (due, next(self._order), wake))
        await wake

    async def run(self, main: Awaitable[_T], *, limit: timedelta = timedelta(hours=2)) -> _T:
        """Run ``main`` to its end, moving the clock; fail if it outlives ``limit``."""
        task = asyncio.ensure_future(main)
        end = self.now + limit
        while not task.done():
            for _ in range(200):
                await asyncio.sleep(0)
            if task.done():
                break
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)
            if not self._sleepers:
                raise AssertionError("every task is blocked and nobody sleeps")
            self.now = max(self.now, self._sleepers[0][0])
            if self.now > end:
                task.cancel()
                raise AssertionError(f"still running after {limit}")
            while self._sleepers and self._sleepers[0][0] <= self.now:
                _, _, wake = heapq.heappop(self._sleepers)
                if not wake.done():
                    wake.set_result(None)
        return task.result()
