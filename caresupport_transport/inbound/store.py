"""The ``EventStore`` protocol: handled events, the durable inbox, leases, polling cursors.

A key goes through two states. ``claim`` takes it for one attempt (a lease, so
that a crashed worker's claim runs out and a redelivery can try again);
``complete`` records it as done only after the handler succeeded; ``release``
gives a failed attempt back. A key is therefore never marked done before the
care logic handled it, and two workers sharing one store never handle the same
event at the same time.

The same store holds the durable inbox (see
:mod:`caresupport_transport.inbound.inbox_entry`): ``enqueue`` records an
event's keys and appends it to its order key's queue in one step; ``take``
leases order keys to a worker with fencing tokens; ``ack``, ``retry`` and
``bury`` end an attempt, and refuse a lease that was taken over. A *turn*
(several entries of one key handled together) reads the key's queue with
``pending_of`` and ends with ``ack_turn``, which removes them all at once.

Every method is async so that a networked store (PostgreSQL, Redis) implements
the same protocol; one conformance suite (``tests/stores``) holds all four to it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from caresupport_transport.inbound.inbox_entry import (
    InboxEntry,
    InboxLease,
    InboxState,
    InboxStats,
)
from caresupport_transport.inbound.outbox_record import OutboxRecord

__all__ = ["DEFAULT_RETENTION", "ClaimStatus", "EnqueueStatus", "EventStore", "dedup_keys"]


def dedup_keys(event_id: str, message_id: str | None = None) -> tuple[str, ...]:
    """The keys an event is remembered by: ``event:<id>``, and ``message:<id>`` for a message."""
    if message_id is None:
        return (f"event:{event_id}",)
    return (f"event:{event_id}", f"message:{message_id}")


DEFAULT_RETENTION = timedelta(hours=48)
"""How long a done key is remembered; longer than any provider's retry window."""


class ClaimStatus(enum.Enum):
    """What ``EventStore.claim`` found."""

    CLAIMED = "claimed"
    """The caller now holds every key and must ``complete`` or ``release`` them."""

    DONE = "done"
    """At least one key was already handled: the event is a duplicate."""

    BUSY = "busy"
    """Another attempt holds a live claim on at least one key; try again later."""


class EnqueueStatus(enum.Enum):
    """What ``EventStore.enqueue`` did."""

    QUEUED = "queued"
    """The entry is stored; a worker will handle it."""

    DUPLICATE = "duplicate"
    """One of its keys (or its id) was seen before; nothing was written."""


class EventStore(Protocol):
    """Remembers handled inbound events (by key) and per-chat polling cursors."""

    async def claim(
        self, keys: Sequence[str], *, token: str, now: datetime, until: datetime
    ) -> ClaimStatus:
        """Atomically claim every key for one attempt, or none of them.

        Args:
            keys: the event's de-duplication keys (``event:<id>``, ``message:<id>``).
            token: identifies this attempt; ``renew`` and ``release`` need it.
            now: the current time; claims whose lease ended before it are stale.
            until: when this claim's lease ends unless renewed.

        Returns:
            ``DONE`` if any key is done, else ``BUSY`` if any key holds another
            live claim, else ``CLAIMED``.
        """
        ...

    async def renew(self, keys: Sequence[str], *, token: str, until: datetime) -> None:
        """Extend this attempt's claim (a no-op for keys it no longer holds)."""
        ...

    async def complete(self, keys: Sequence[str], *, now: datetime) -> None:
        """Record every key as done at ``now`` (remembered for the retention window)."""
        ...

    async def release(self, keys: Sequence[str], *, token: str) -> None:
        """Give back this attempt's claim so a redelivery can try again."""
        ...

    async def is_done(self, key: str) -> bool:
        """Whether ``key`` was handled (and not yet pruned)."""
        ...

    async def get_cursor(self, name: str) -> str | None:
        """The cursor saved under ``name`` (one per polled chat), if any."""
        ...

    async def set_cursor(self, name: str, value: str) -> None:
        """Save ``value`` as the cursor under ``name``, replacing the one before."""
        ...

    async def prune(self, now: datetime) -> int:
        """Forget done keys and stale claims that expired by ``now``; return how many."""
        ...

    async def enqueue(self, entry: InboxEntry, *, now: datetime) -> EnqueueStatus:
        """Accept ``entry`` into the inbox, or recognise it as a duplicate, atomically.

        ``DUPLICATE`` (and nothing written) when an entry with the same id is in
        the inbox or any of ``entry.keys`` is recorded (done, or claimed by a live
        claim). Otherwise every key is recorded as done (remembered for the
        retention window, so later deliveries are duplicates) and the entry is
        appended to its order key's queue, after every entry already there.
        """
        ...

    async def take(self, *, now: datetime, until: datetime, limit: int) -> list[InboxLease]:
        """Lease up to ``limit`` order keys whose oldest pending entry is due.

        A key is eligible when its oldest pending entry (dead entries do not
        count) has ``due_at <= now`` and no live lease (one whose ``until`` is
        after ``now``) is held on it. Each lease gets a token greater than every
        token this store issued before, the entry's ``attempts`` goes up by one,
        and the lease returned carries the entry as stored after that. Keys whose
        entries are due soonest come first; among equally due ones, the entry
        accepted first.
        """
        ...

    async def heartbeat(self, lease: InboxLease, *, until: datetime) -> bool:
        """Extend ``lease`` to ``until``; ``False`` when its token is no longer the key's."""
        ...

    async def ack(self, lease: InboxLease, *, now: datetime) -> bool:
        """The entry was handled: remove it and free the key.

        Returns:
            ``False``, changing nothing, when the lease was taken over (another
            token holds the key) or the entry is gone; an expired lease that
            nobody took over still acknowledges.
        """
        ...

    async def ack_turn(self, lease: InboxLease, entry_ids: Sequence[str], *, now: datetime) -> bool:
        """A turn was handled: remove the lease's entry and ``entry_ids``, and free the key.

        One step: the lease's entry and every pending entry of the lease's
        order key named in ``entry_ids`` are removed together (ids that are
        absent, dead or of another key are ignored). Returns ``False``,
        changing nothing, when ``ack`` would.
        """
        ...

    async def pending_of(self, order_key: str, *, limit: int) -> list[InboxEntry]:
        """Up to ``limit`` pending entries of ``order_key``, in the order they were accepted.

        Leased or not, due or not; dead entries are left out. A turn reads
        what else waits behind the entry it leased.
        """
        ...

    async def retry(self, lease: InboxLease, *, error: str, due_at: datetime) -> bool:
        """The attempt failed: the entry waits until ``due_at`` with ``error`` noted.

        The key is freed. Returns ``False``, changing nothing, when the lease was taken over.
        """
        ...

    async def bury(self, lease: InboxLease, *, error: str) -> bool:
        """Give up: the entry becomes dead with ``error``, and the key is freed.

        Returns ``False``, changing nothing, when the lease was taken over.
        """
        ...

    async def entries(self, *, state: InboxState | None, limit: int) -> list[InboxEntry]:
        """Up to ``limit`` entries (of ``state``, or any), in the order they were accepted."""
        ...

    async def entry(self, entry_id: str) -> InboxEntry | None:
        """The entry with id ``entry_id``, if the inbox holds it."""
        ...

    async def replay(self, entry_id: str, *, now: datetime) -> bool:
        """Make the entry pending and due at ``now`` with no attempts counted; ``False`` if absent.

        A replayed entry keeps its place in its key's order (it was accepted
        first, so it is handled before the key's later entries) and its
        ``last_error`` until the next attempt ends.
        """
        ...

    async def discard(self, entry_id: str) -> bool:
        """Remove the entry; ``False`` if absent. Its keys stay done, as duplicates."""
        ...

    async def stats(self, *, now: datetime) -> InboxStats:
        """How many entries are pending, due, leased and dead at ``now``."""
        ...

    async def put_record(self, record: OutboxRecord, job: InboxEntry, *, now: datetime) -> bool:
        """Store a new outbox record and enqueue its first job, atomically.

        ``False``, writing nothing, when a record with the same id exists (the
        intent was already accepted). The job is enqueued as ``enqueue`` would
        (its keys recorded, appended to its order key's queue); a job whose id
        or keys were seen before is not enqueued again, and the record is
        still stored.
        """
        ...

    async def get_record(self, record_id: str) -> OutboxRecord | None:
        """The record with id ``record_id``, if stored."""
        ...

    async def replace_record(self, record: OutboxRecord, *, expected_version: int) -> bool:
        """Replace the stored record of ``record.id`` if its version is ``expected_version``.

        The stored record becomes ``record`` with ``version = expected_version +
        1`` (whatever ``record.version`` says), and the message-id index follows
        ``record.message_ids``. ``False``, changing nothing, when the record is
        absent or another writer changed it first.
        """
        ...

    async def record_for_message(self, message_id: str) -> str | None:
        """The id of the record whose ``message_ids`` hold ``message_id``, if any."""
        ...

    async def records(self, *, state: str | None, limit: int) -> list[OutboxRecord]:
        """Up to ``limit`` records (in ``state``, or any), oldest first (``created_at``, id)."""
        ...

    async def record_counts(self) -> dict[str, int]:
        """How many records are in each state (states with none are left out)."""
        ...

    async def close(self) -> None:
        """Release what the store holds (a database connection); it is not used after."""
        ...
