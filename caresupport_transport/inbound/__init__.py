"""Inbound events to the care logic: de-duplicated, acknowledged after success, in order.

:class:`InboundDispatcher` is fed by any inbound path (a verified webhook, a
polling loop) and remembers what was handled in an :class:`EventStore`:
:class:`MemoryEventStore` for tests, :class:`SqliteEventStore` in production.
"""

from caresupport_transport.inbound.dispatcher import (
    DEFAULT_LEASE,
    DEFAULT_PRUNE_INTERVAL,
    DispatchOutcome,
    InboundDispatcher,
    event_keys,
)
from caresupport_transport.inbound.memory_store import MemoryEventStore, StoredKey
from caresupport_transport.inbound.sqlite_store import SqliteEventStore
from caresupport_transport.inbound.store import DEFAULT_RETENTION, ClaimStatus, EventStore

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_PRUNE_INTERVAL",
    "DEFAULT_RETENTION",
    "ClaimStatus",
    "DispatchOutcome",
    "EventStore",
    "InboundDispatcher",
    "MemoryEventStore",
    "SqliteEventStore",
    "StoredKey",
    "event_keys",
]
