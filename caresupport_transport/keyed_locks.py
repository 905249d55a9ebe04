"""Named asyncio locks that exist only while someone holds or awaits them.

Shared by the inbound dispatcher (one lock per conversation and per event key)
and adapters that serialise work per key (the Linq capability cache, per handle).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

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

    async def acquire_all(self, names: Sequence[str]) -> None:
        """Take the lock of each of ``names`` in turn (no context manager: for hot paths).

        Registers for the first before suspending, like ``hold``. The caller
        must pass the same names to ``release_all`` once done; if this raises
        (cancelled while waiting), nothing stays held.
        """
        taken = 0
        try:
            for name in names:
                entry = self._entries.get(name)
                if entry is None:
                    entry = self._entries[name] = _Entry()
                entry.users += 1
                try:
                    await entry.lock.acquire()
                except BaseException:
                    self._leave(name, entry)
                    raise
                taken += 1
        except BaseException:
            self.release_all(names[:taken])
            raise

    def release_all(self, names: Sequence[str]) -> None:
        """Give back the locks ``acquire_all(names)`` took (in reverse order)."""
        for name in reversed(names):
            entry = self._entries[name]
            entry.lock.release()
            self._leave(name, entry)

    def _leave(self, name: str, entry: _Entry) -> None:
        entry.users -= 1
        if entry.users == 0:
            del self._entries[name]

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
