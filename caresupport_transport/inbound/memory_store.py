"""``MemoryEventStore``: the event store for tests and single-process experiments.

It forgets everything when the process ends; use
:class:`~caresupport_transport.inbound.SqliteEventStore` where restarts happen.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from caresupport_transport.inbound.inbox_entry import (
    InboxEntry,
    InboxLease,
    InboxState,
    InboxStats,
)
from caresupport_transport.inbound.outbox_record import OutboxRecord
from caresupport_transport.inbound.store import DEFAULT_RETENTION, ClaimStatus, EnqueueStatus

__all__ = ["MemoryEventStore", "StoredKey"]


@attrs.frozen
class StoredKey:
    """One remembered key: ``token`` is set while claimed and ``None`` once done."""

    done: bool
    expires_at: datetime
    token: str | None = None


@attrs.define
class MemoryEventStore:
    """An in-memory ``EventStore``; ``keys``, ``cursors`` and ``inbox`` are plain dicts.

    ``inbox`` maps an entry's id to the entry, in the order entries were
    accepted; ``leases`` maps an order key to the ``(token, until)`` of the
    lease on it. Tests read both. Beside them each order key keeps its
    entries' ids in acceptance order, so ``take`` visits one head per key, not
    every entry.

    Args:
        retention: how long a done key is remembered.
    """

    retention: timedelta = DEFAULT_RETENTION
    keys: dict[str, StoredKey] = attrs.field(factory=dict, init=False)
    cursors: dict[str, str] = attrs.field(factory=dict, init=False)
    # (expires_at, key) in expiry order, so pruning visits only what expired;
    # an entry whose key has since changed is skipped when popped.
    _expiries: list[tuple[datetime, str]] = attrs.field(factory=list, init=False)
    inbox: dict[str, InboxEntry] = attrs.field(factory=dict, init=False)
    leases: dict[str, tuple[int, datetime]] = attrs.field(factory=dict, init=False)
    _last_token: int = attrs.field(default=0, init=False)
    outbox: dict[str, OutboxRecord] = attrs.field(factory=dict, init=False)
    _by_message: dict[str, str] = attrs.field(factory=dict, init=False)
    # order key -> its entries' ids (pending and dead) in acceptance order;
    # entry id -> its acceptance number.
    _queues: dict[str, list[str]] = attrs.field(factory=dict, init=False)
    _accepted: dict[str, int] = attrs.field(factory=dict, init=False)
    _last_accepted: int = attrs.field(default=0, init=False)

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

    async def enqueue(self, entry: InboxEntry, *, now: datetime) -> EnqueueStatus:
        if entry.id in self.inbox or any(self._recorded(key, now) for key in entry.keys):
            return EnqueueStatus.DUPLICATE
        for key in entry.keys:
            self._put(key, StoredKey(done=True, expires_at=now + self.retention))
        if entry.attempts or entry.state is not InboxState.PENDING or entry.last_error:
            entry = attrs.evolve(entry, attempts=0, state=InboxState.PENDING, last_error=None)
        self.inbox[entry.id] = entry
        self._last_accepted += 1
        self._accepted[entry.id] = self._last_accepted
        self._queues.setdefault(entry.order_key, []).append(entry.id)
        return EnqueueStatus.QUEUED

    async def take(self, *, now: datetime, until: datetime, limit: int) -> list[InboxLease]:
        eligible: list[tuple[datetime, int, InboxEntry]] = []
        for key, ids in self._queues.items():
            if not self._lease_ended(key, now):
                continue
            head = next(
                (
                    e
                    for e in map(self.inbox.get, ids)
                    if e is not None and e.state is InboxState.PENDING
                ),
                None,
            )
            if head is not None and head.due_at <= now:
                eligible.append((head.due_at, self._accepted[head.id], head))
        eligible.sort(key=lambda item: (item[0], item[1]))
        leases = []
        for _, _, entry in eligible[: max(limit, 0)]:
            self._last_token += 1
            taken = attrs.evolve(entry, attempts=entry.attempts + 1)
            self.inbox[entry.id] = taken
            self.leases[entry.order_key] = (self._last_token, until)
            leases.append(InboxLease(taken, self._last_token, until))
        return leases

    async def heartbeat(self, lease: InboxLease, *, until: datetime) -> bool:
        if not self._holds(lease):
            return False
        self.leases[lease.entry.order_key] = (lease.token, until)
        return True

    async def ack(self, lease: InboxLease, *, now: datetime) -> bool:
        if not self._holds(lease):
            return False
        self._remove(lease.entry.id)
        del self.leases[lease.entry.order_key]
        return True

    async def ack_turn(self, lease: InboxLease, entry_ids: Sequence[str], *, now: datetime) -> bool:
        if not self._holds(lease):
            return False
        order_key = lease.entry.order_key
        for entry_id in {lease.entry.id, *entry_ids}:
            entry = self.inbox.get(entry_id)
            if (
                entry is not None
                and entry.order_key == order_key
                and entry.state is InboxState.PENDING
            ):
                self._remove(entry_id)
        del self.leases[order_key]
        return True

    async def pending_of(self, order_key: str, *, limit: int) -> list[InboxEntry]:
        chosen = (
            e
            for e in map(self.inbox.get, self._queues.get(order_key, ()))
            if e is not None and e.state is InboxState.PENDING
        )
        return [entry for _, entry in zip(range(max(limit, 0)), chosen, strict=False)]

    async def retry(self, lease: InboxLease, *, error: str, due_at: datetime) -> bool:
        if not self._holds(lease):
            return False
        entry = self.inbox[lease.entry.id]
        self.inbox[entry.id] = attrs.evolve(entry, due_at=due_at, last_error=error)
        del self.leases[lease.entry.order_key]
        return True

    async def bury(self, lease: InboxLease, *, error: str) -> bool:
        if not self._holds(lease):
            return False
        entry = self.inbox[lease.entry.id]
        self.inbox[entry.id] = attrs.evolve(entry, state=InboxState.DEAD, last_error=error)
        del self.leases[lease.entry.order_key]
        return True

    async def entries(self, *, state: InboxState | None, limit: int) -> list[InboxEntry]:
        chosen = (e for e in self.inbox.values() if state is None or e.state is state)
        return [entry for _, entry in zip(range(max(limit, 0)), chosen, strict=False)]

    async def entry(self, entry_id: str) -> InboxEntry | None:
        return self.inbox.get(entry_id)

    async def replay(self, entry_id: str, *, now: datetime) -> bool:
        entry = self.inbox.get(entry_id)
        if entry is None:
            return False
        self.inbox[entry_id] = attrs.evolve(entry, state=InboxState.PENDING, due_at=now, attempts=0)
        return True

    async def discard(self, entry_id: str) -> bool:
        return self._remove(entry_id)

    async def stats(self, *, now: datetime) -> InboxStats:
        pending = [e for e in self.inbox.values() if e.state is InboxState.PENDING]
        return InboxStats(
            pending=len(pending),
            due=sum(1 for e in pending if e.due_at <= now),
            leased=sum(1 for _, until in self.leases.values() if until > now),
            dead=len(self.inbox) - len(pending),
            oldest_pending=min((e.received_at for e in pending), default=None),
        )

    async def put_record(self, record: OutboxRecord, job: InboxEntry, *, now: datetime) -> bool:
        if record.id in self.outbox:
            return False
        self.outbox[record.id] = attrs.evolve(record, version=1)
        for message_id in record.message_ids:
            self._by_message[message_id] = record.id
        await self.enqueue(job, now=now)
        return True

    async def get_record(self, record_id: str) -> OutboxRecord | None:
        return self.outbox.get(record_id)

    async def replace_record(self, record: OutboxRecord, *, expected_version: int) -> bool:
        stored = self.outbox.get(record.id)
        if stored is None or stored.version != expected_version:
            return False
        for message_id in stored.message_ids:
            if self._by_message.get(message_id) == record.id:
                del self._by_message[message_id]
        self.outbox[record.id] = attrs.evolve(record, version=expected_version + 1)
        for message_id in record.message_ids:
            self._by_message[message_id] = record.id
        return True

    async def record_for_message(self, message_id: str) -> str | None:
        return self._by_message.get(message_id)

    async def records(self, *, state: str | None, limit: int) -> list[OutboxRecord]:
        chosen = sorted(
            (r for r in self.outbox.values() if state is None or r.state == state),
            key=lambda r: (r.created_at, r.id),
        )
        return chosen[: max(limit, 0)]

    async def record_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.outbox.values():
            counts[record.state] = counts.get(record.state, 0) + 1
        return counts

    async def close(self) -> None:
        """Nothing to release; present for the protocol."""

    def _remove(self, entry_id: str) -> bool:
        entry = self.inbox.pop(entry_id, None)
        if entry is None:
            return False
        self._accepted.pop(entry_id, None)
        ids = self._queues.get(entry.order_key)
        if ids is not None:
            if ids and ids[0] == entry_id:
                del ids[0]
            elif entry_id in ids:
                ids.remove(entry_id)
            if not ids:
                del self._queues[entry.order_key]
        return True

    def _recorded(self, key: str, now: datetime) -> bool:
        entry = self.keys.get(key)
        return entry is not None and (entry.done or entry.expires_at > now)

    def _lease_ended(self, order_key: str, now: datetime) -> bool:
        held = self.leases.get(order_key)
        return held is None or held[1] <= now

    def _holds(self, lease: InboxLease) -> bool:
        held = self.leases.get(lease.entry.order_key)
        entry = self.inbox.get(lease.entry.id)
        return (
            held is not None
            and held[0] == lease.token
            and entry is not None
            and entry.state is InboxState.PENDING
        )

    def _put(self, key: str, entry: StoredKey) -> None:
        self.keys[key] = entry
        heapq.heappush(self._expiries, (entry.expires_at, key))
