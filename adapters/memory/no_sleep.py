"""``NoSleep``: a pause that returns at once, for tests of code that waits."""

from __future__ import annotations

import asyncio

import attrs

from adapters.memory.world import World

__all__ = ["NoSleep"]


@attrs.define
class NoSleep:
    """An awaitable ``sleep(seconds)`` that returns at once and remembers what was asked.

    Pass it where the library waits: ``send_bubbles(..., pause=no_sleep)``,
    ``LinqClient(..., sleep=no_sleep)``, ``Simulator(sleep=no_sleep)``. Given a
    ``World``, it moves the world's virtual clock on by each pause, so delivery
    statuses fall due as they would have after a real wait.

    Args:
        world: the world whose clock the pauses move on; ``None`` for none.

    Attributes:
        slept: every pause asked for, in seconds, in order.
    """

    world: World | None = None
    slept: list[float] = attrs.Factory(list)

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.world is not None and seconds > 0:
            self.world.advance(seconds)
        await asyncio.sleep(0)  # still let other tasks run, as a real pause would
