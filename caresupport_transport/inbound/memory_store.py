"""``MemoryEventStore``: the event store for tests and single-process experiments.

It forgets everything when the process ends; use
:class:`~caresupport_transport.inbound.SqliteEventStore` where restarts happen.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from caresupport_transport.inbound.store import DEFAULT_RETENTION, ClaimStatus

__all__ = ["MemoryEventStore", "StoredKey"]


@attrs.frozen
class StoredKey:
    """One remembered key: ``token`` is set while claimed and ``None`` once done."""

    done: bool
    expires_at: datetime
    token: str | None = None


@attrs.define
class MemoryEventStore:
    """An in-memory ``EventStore``; ``keys`` and ``cursors`` are plain dicts tests can read.

    Args:
        retention: how long a done key is remembered.
    """

    retention: timedelta = DEFAULT_RETENTION
    keys: dict[str, StoredKey] = attrs.field(factory=dict, init=False)
    cursors: dict[str, str] = attrs.field(factory=dict, init=False)
    # (expires_at, key) in expiry order, so pruning visits only what expired;
    # an entry whose key has since changed is skipped when popped.
    _expiries: list[tuple[datetime, str]] = attrs.field(factory=list, init=False)

    async def claim(
        self, keys: Sequence[str], *, token: str, now: datetime, until: datetime
    ) -> ClaimStatus:
        found = [self.keys[key] for key in keys if key in self.keys]
        if any(entry.done for entry in found):
            return ClaimStatus.DONE
        if any(entry.expires_at > now for entry in found):
            return ClaimStatus.BUSY
        for key in keys:
            self._put(key, StoredKey(done=False, expires_at=until, token=token))
        return ClaimStatus.CLAIMED

    async def renew(self, keys: Sequence[str], *, token: str, until: datetime) -> None:
        for key in keys:
            entry = self.keys.get(key)
            if entry is not None and not entry.done and entry.token == token:
                self._put(key, StoredKey(done=False, expires_at=until, token=token))

    async def complete(self, keys: Sequence[str], *, now: datetime) -> None:
        for key in keys:
            self._put(key, StoredKey(done=True, expires_at=now + self.retention))

    async def release(self, keys: Sequence[str], *, token: str) -> None:
        for key in keys:
            entry = self.keys.get(key)
            if entry is not None and not entry.done and entry.token == token:
                del self.keys[key]

    async def is_done(self, key: str) -> bool:
        entry = self.keys.get(key)
        return entry is not None and entry.done

    async def get_cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    async def set_cursor(self, name: str, value: str) -> None:
        self.cursors[name] = value

    async def prune(self, now: datetime) -> int:
        removed = 0
        while self._expiries and self._expiries[0][0] <= now:
            expires_at, key = heapq.heappop(self._expiries)
            entry = self.keys.get(key)
            if entry is not None and entry.expires_at == expires_at:
                del self.keys[key]
                removed += 1
        return removed

    async def close(self) -> None:
        """Nothing to release; present for the protocol."""

    def _put(self, key: str, entry: StoredKey) -> None:
        self.keys[key] = entry
        heapq.heappush(self._expiries, (entry.expires_at, key))
