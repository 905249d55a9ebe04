"""Named asyncio locks that exist only while someone holds or awaits them.

Shared by the inbound dispatcher (one lock per conversation and per event key)
and adapters that serialise work per key (the Linq capability cache, per handle).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import attrs

__all__ = ["KeyedLocks"]


@attrs.define
class _Entry:
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    users: int = 0


@attrs.define
class KeyedLocks:
    """One FIFO ``asyncio.Lock`` per name, dropped when its last user leaves.

    Waiters are served in the order they called ``hold`` (``asyncio.Lock`` wakes
    waiters first-in first-out and lets no newcomer jump the queue), and the
    registration happens before the first suspension, so callers that call
    ``hold`` in order get the lock in order.
    """

    _entries: dict[str, _Entry] = attrs.field(factory=dict, init=False)

    def __len__(self) -> int:
        """How many names currently have a holder or waiter."""
        return len(self._entries)

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        entry = self._entries.get(name)
        if entry is None:
            entry = self._entries[name] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[name]
