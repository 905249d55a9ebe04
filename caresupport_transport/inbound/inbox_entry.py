"""The durable inbox's values: an entry, a lease on it, and the inbox's counts.

An *entry* is one accepted inbound event waiting for (or refused by) the care
logic. Entries that share an ``order_key`` (a conversation, or a family chosen
by the caller) are handled one at a time, in the order they were accepted: a
worker *leases* the order key and gets the oldest pending entry of that key.
Every lease carries a fencing *token*, a number the store never issued before,
so a worker whose lease ran out and was taken over can neither acknowledge nor
reschedule the entry any more.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

__all__ = ["InboxEntry", "InboxLease", "InboxState", "InboxStats"]


class InboxState(enum.Enum):
    """Where an entry stands; a handled entry leaves the inbox (its keys stay done)."""

    PENDING = "pending"
    """Waiting for a worker: new, or rescheduled after a failed attempt."""

    DEAD = "dead"
    """Gave up after the retry schedule ran out; waits for ``replay`` or ``discard``."""


def _keys(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class InboxEntry:
    """One accepted inbound event, as the store keeps it.

    Attributes:
        id: the event's id (unique in the inbox).
        order_key: entries with the same order key are handled one at a time, in
            the order they were accepted.
        keys: the de-duplication keys recorded at intake (``event:<id>``,
            ``message:<id>``).
        payload: the event, encoded (see :mod:`caresupport_transport.inbound.codec`).
        received_at: when the inbox accepted it.
        due_at: the earliest time a worker may take it (next).
        attempts: how many times a worker took it.
        state: pending or dead.
        last_error: why the last attempt failed (the error's class and the
            failing frames, never its message: it may quote health details).
    """

    id: str
    order_key: str
    keys: tuple[str, ...] = attrs.field(converter=_keys)
    payload: str = attrs.field(repr=False)
    received_at: datetime
    due_at: datetime
    attempts: int = 0
    state: InboxState = InboxState.PENDING
    last_error: str | None = None


@attrs.frozen
class InboxLease:
    """A worker's hold on one order key, and the entry it must handle now.

    Attributes:
        entry: the oldest pending entry of the key (``attempts`` already counts
            this attempt).
        token: the fencing token; the store refuses ``ack``, ``retry``, ``bury``
            and ``heartbeat`` from a lease whose token is no longer the key's.
        until: when the lease runs out unless renewed by ``heartbeat``.
    """

    entry: InboxEntry
    token: int
    until: datetime


@attrs.frozen
class InboxStats:
    """How many entries the inbox holds, by state.

    Attributes:
        pending: entries waiting (due now or later), leased ones included.
        due: pending entries whose time has come (``due_at`` not after now).
        leased: order keys a worker holds right now (live leases).
        dead: entries that ran out of retries.
        oldest_pending: ``received_at`` of the oldest pending entry, if any.
    """

    pending: int
    due: int
    leased: int
    dead: int
    oldest_pending: datetime | None = None
