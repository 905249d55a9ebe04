"""Inbound events to the care logic: de-duplicated, acknowledged after success, in order.

:class:`InboundDispatcher` is fed by any inbound path (a verified webhook, a
polling loop) and remembers what was handled in an :class:`EventStore`:
:class:`MemoryEventStore` for tests, :class:`SqliteEventStore` on one host,
``PostgresEventStore`` or ``RedisEventStore`` (optional extras, in their own
modules) for many receivers and workers; :func:`open_event_store` opens any of
them from a URL.
"""

from caresupport_transport.inbound.dispatcher import (
    DEFAULT_LEASE,
    DEFAULT_PRUNE_INTERVAL,
    DispatchOutcome,
    InboundDispatcher,
    event_keys,
)
from caresupport_transport.inbound.inbox_entry import (
    InboxEntry,
    InboxLease,
    InboxState,
    InboxStats,
)
from caresupport_transport.inbound.memory_store import MemoryEventStore, StoredKey
from caresupport_transport.inbound.sqlite_store import SqliteEventStore
from caresupport_transport.inbound.store import (
    DEFAULT_RETENTION,
    ClaimStatus,
    EnqueueStatus,
    EventStore,
)
from caresupport_transport.inbound.urls import STORE_SCHEMES, open_event_store

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_PRUNE_INTERVAL",
    "DEFAULT_RETENTION",
    "STORE_SCHEMES",
    "ClaimStatus",
    "DispatchOutcome",
    "EnqueueStatus",
    "EventStore",
    "InboundDispatcher",
    "InboxEntry",
    "InboxLease",
    "InboxState",
    "InboxStats",
    "MemoryEventStore",
    "SqliteEventStore",
    "StoredKey",
    "event_keys",
    "open_event_store",
]
