"""Inbound events to the care logic: stored durably, de-duplicated, in order per key.

Two ways to hand events over, both fed by any inbound path (a verified webhook,
a polling loop) through the :class:`InboundSink` protocol:

* :class:`Inbox` (the default for receivers) stores each event at intake and
  :class:`InboxWorker` processes hand it to the care logic later, retrying on a
  :class:`RetrySchedule` and keeping dead letters; replies are keyed with
  :func:`reply_key` so a re-handled event never texts twice; given a
  :class:`Coalescing`, a worker hands a key's quick events over as one
  :class:`Turn`;
* :class:`InboundDispatcher` runs the handler inside the delivery and
  acknowledges after it succeeded.

A receiver may hand the inbox a verified :class:`Delivery` (``Inbox.accept``)
instead of a parsed event: it is stored as received and parsed by the worker.

Both remember what was seen in an :class:`EventStore`:
:class:`MemoryEventStore` for tests, :class:`SqliteEventStore` on one host,
``PostgresEventStore`` or ``RedisEventStore`` (optional extras, in their own
modules) for many receivers and workers; :func:`open_event_store` opens any of
them from a URL.
"""

from caresupport_transport.inbound.coalescing import (
    DEFAULT_CHECK_INTERVAL,
    DEFAULT_MAX_TURN_EVENTS,
    DEFAULT_MAX_WAIT,
    DEFAULT_QUIET,
    Coalescing,
)
from caresupport_transport.inbound.codec import (
    DELIVERY_ENTRY_POINTS,
    decode_event,
    encode_delivery,
    encode_event,
    register_delivery_source,
)
from caresupport_transport.inbound.delivery import Delivery
from caresupport_transport.inbound.dispatcher import (
    DEFAULT_LEASE,
    DEFAULT_PRUNE_INTERVAL,
    DispatchOutcome,
    InboundDispatcher,
    event_keys,
    is_outbound_echo,
)
from caresupport_transport.inbound.inbox import (
    DEFAULT_LIST_LIMIT,
    ROLE_CURSOR,
    Inbox,
    by_conversation,
    claim_store_role,
    store_role,
)
from caresupport_transport.inbound.inbox_entry import (
    InboxEntry,
    InboxLease,
    InboxState,
    InboxStats,
)
from caresupport_transport.inbound.inbox_worker import (
    DEFAULT_CONCURRENCY,
    DEFAULT_INBOX_LEASE,
    DEFAULT_POLL_INTERVAL,
    InboxWorker,
)
from caresupport_transport.inbound.memory_store import MemoryEventStore, StoredKey
from caresupport_transport.inbound.outbox_record import OutboxRecord
from caresupport_transport.inbound.replies import reply_key
from caresupport_transport.inbound.schedule import RetrySchedule
from caresupport_transport.inbound.sink import InboundSink
from caresupport_transport.inbound.sqlite_store import SYNCHRONOUS_LEVELS, SqliteEventStore
from caresupport_transport.inbound.store import (
    DEFAULT_RETENTION,
    ClaimStatus,
    EnqueueStatus,
    EventStore,
    dedup_keys,
)
from caresupport_transport.inbound.turn import Turn
from caresupport_transport.inbound.urls import STORE_SCHEMES, open_event_store

__all__ = [
    "DEFAULT_CHECK_INTERVAL",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_INBOX_LEASE",
    "DEFAULT_LEASE",
    "DEFAULT_LIST_LIMIT",
    "DEFAULT_MAX_TURN_EVENTS",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_PRUNE_INTERVAL",
    "DEFAULT_QUIET",
    "DEFAULT_RETENTION",
    "DELIVERY_ENTRY_POINTS",
    "ROLE_CURSOR",
    "STORE_SCHEMES",
    "SYNCHRONOUS_LEVELS",
    "ClaimStatus",
    "Coalescing",
    "Delivery",
    "DispatchOutcome",
    "EnqueueStatus",
    "EventStore",
    "InboundDispatcher",
    "InboundSink",
    "Inbox",
    "InboxEntry",
    "InboxLease",
    "InboxState",
    "InboxStats",
    "InboxWorker",
    "MemoryEventStore",
    "OutboxRecord",
    "RetrySchedule",
    "SqliteEventStore",
    "StoredKey",
    "Turn",
    "by_conversation",
    "claim_store_role",
    "decode_event",
    "dedup_keys",
    "encode_delivery",
    "encode_event",
    "event_keys",
    "is_outbound_echo",
    "open_event_store",
    "register_delivery_source",
    "reply_key",
    "store_role",
]
