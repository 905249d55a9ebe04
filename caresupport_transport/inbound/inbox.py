"""``Inbox``: inbound events stored durably at intake, handled later by workers.

A receiver (webhook or polling) calls :meth:`Inbox.dispatch` and can answer
2xx as soon as it returns ``QUEUED``: the event is in the store, with its
de-duplication keys, and an :class:`~caresupport_transport.inbound.InboxWorker`
(in this process or another) hands it to the care logic, retrying on the
inbox's own :class:`~caresupport_transport.inbound.RetrySchedule` for as long as
a day, then keeping it as a dead letter for :meth:`replay`. Nothing depends on
the provider retrying, so an outage of the care logic longer than the
provider's retry window loses nothing.

Events are handled one at a time per *order key*, in the order they were
accepted. The key is the conversation by default; pass ``order_key`` to
serialise more widely, for example per family::

    inbox = Inbox(store, order_key=lambda event: f"family:{family_of(event)}")

Every receiver and worker sharing a store must use the same function.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import attrs

from caresupport_transport.errors import ConfigurationError
from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound.codec import decode_event, encode_delivery, encode_event
from caresupport_transport.inbound.delivery import Delivery
from caresupport_transport.inbound.dispatcher import (
    DispatchOutcome,
    event_keys,
    is_outbound_echo,
)
from caresupport_transport.inbound.inbox_entry import InboxEntry, InboxState, InboxStats
from caresupport_transport.inbound.store import EnqueueStatus, EventStore

__all__ = [
    "DEFAULT_LIST_LIMIT",
    "ROLE_CURSOR",
    "Inbox",
    "by_conversation",
    "claim_store_role",
    "store_role",
]

DEFAULT_LIST_LIMIT = 100
"""How many entries :meth:`Inbox.entries` lists unless told otherwise."""

_MAX_ORDER_KEY_CHARS = 500


ROLE_CURSOR = "store:role"
"""The cursor naming what a store serves (``inbox`` or ``outbox``), set on first use."""


async def store_role(store: EventStore) -> str | None:
    """What ``store`` serves (``"inbox"``, ``"outbox"``), or ``None`` before its first use."""
    return await store.get_cursor(ROLE_CURSOR)


async def claim_store_role(store: EventStore, role: str) -> None:
    """Mark ``store`` as serving ``role``, or refuse a store that serves another.

    The inbox and the outbox both queue work in a store; a store serving both
    would hand each the other's jobs.

    Raises:
        ConfigurationError: the store serves another role.
    """
    found = await store_role(store)
    if found is None:
        await store.set_cursor(ROLE_CURSOR, role)
    elif found != role:
        raise ConfigurationError(
            f"store: it holds an {found}; give the {role} a store of its own "
            "(another SQLite file, or another namespace on PostgreSQL or Redis)"
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def by_conversation(event: InboundEvent) -> str:
    """The default order key: the event's conversation (or the event alone, when it has none)."""
    return _conversation_key(event.conversation_id, event.event_id)


def _conversation_key(conversation_id: str | None, event_id: str) -> str:
    if conversation_id is not None:
        return f"conversation:{conversation_id}"
    return f"event:{event_id}"


@attrs.define
class Inbox:
    """Accepts inbound events into a store and administers what waits there.

    Args:
        store: any :class:`~caresupport_transport.inbound.EventStore` (memory,
            SQLite, PostgreSQL, Redis); shared by every receiver and worker.
        order_key: events with the same key are handled one at a time, in order.
        include_outbound: also accept our own outbound echoes (dropped at
            intake otherwise, answered ``FILTERED``).
        clock: the current time (aware UTC).
    """

    store: EventStore
    order_key: Callable[[InboundEvent], str] = attrs.field(default=by_conversation, kw_only=True)
    include_outbound: bool = attrs.field(default=False, kw_only=True)
    clock: Callable[[], datetime] = attrs.field(default=_utc_now, kw_only=True)
    _queued: asyncio.Event = attrs.field(factory=asyncio.Event, init=False, repr=False)
    _role_checked: bool = attrs.field(default=False, init=False, repr=False)

    async def dispatch(self, event: InboundEvent) -> DispatchOutcome:
        """Store ``event`` for the workers; ``QUEUED``, ``DUPLICATE`` or ``FILTERED``.

        When this returns, the event is durable (or was seen before): a
        receiver may acknowledge it.

        Raises:
            ConfigurationError: ``order_key`` returned something other than a
                non-empty string of at most 500 characters.
            UnreachableError: the store did not answer; nothing is stored and
                the receiver must not acknowledge.
        """
        if self._is_outbound_echo(event):
            return DispatchOutcome.FILTERED
        return await self._enqueue(
            event.event_id, self.order_key(event), event_keys(event), encode_event(event)
        )

    async def accept(self, delivery: Delivery) -> DispatchOutcome:
        """Store a verified ``delivery`` unparsed; the workers parse it. As :meth:`dispatch`.

        The entry gets the keys and order key the parsed event would get: with
        the default order key, from the delivery's conversation; with another,
        the delivery is parsed here to call it. An outbound echo is
        ``FILTERED`` unless ``include_outbound``.

        Raises:
            ConfigurationError: as :meth:`dispatch`.
            ProtocolError: a custom ``order_key`` needed the event and the
                delivery's decoder could not build it.
            UnreachableError: as :meth:`dispatch`.
        """
        if delivery.outbound and not self.include_outbound:
            return DispatchOutcome.FILTERED
        payload = encode_delivery(delivery)
        if self.order_key is by_conversation:
            order_key = _conversation_key(delivery.conversation_id, delivery.event_id)
        else:
            order_key = self.order_key(decode_event(payload))
        return await self._enqueue(delivery.event_id, order_key, delivery.keys, payload)

    async def _enqueue(
        self, event_id: str, order_key: object, keys: tuple[str, ...], payload: str
    ) -> DispatchOutcome:
        if not self._role_checked:
            await claim_store_role(self.store, "inbox")
            self._role_checked = True
        if not isinstance(order_key, str) or not 0 < len(order_key) <= _MAX_ORDER_KEY_CHARS:
            raise ConfigurationError(
                f"order_key: must return a string of 1 to {_MAX_ORDER_KEY_CHARS} characters, "
                f"got {type(order_key).__name__}"
            )
        now = self.clock()
        entry = InboxEntry(
            id=event_id,
            order_key=order_key,
            keys=keys,
            payload=payload,
            received_at=now,
            due_at=now,
        )
        status = await self.store.enqueue(entry, now=now)
        if status is EnqueueStatus.DUPLICATE:
            return DispatchOutcome.DUPLICATE
        self._queued.set()
        return DispatchOutcome.QUEUED

    async def dispatch_many(self, events: Iterable[InboundEvent]) -> list[DispatchOutcome]:
        """Store ``events`` one after another, in order (a polled batch); stops at a failure."""
        return [await self.dispatch(event) for event in events]

    def notify(self) -> None:
        """Wake this process's workers: something was queued here by other means."""
        self._queued.set()

    async def wait_queued(self) -> None:
        """Return once this process queued something since the last call (wakes local workers)."""
        await self._queued.wait()
        self._queued.clear()

    async def entries(
        self, state: InboxState | None = None, *, limit: int = DEFAULT_LIST_LIMIT
    ) -> list[InboxEntry]:
        """Entries in the order they were accepted: all, or those in ``state``."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ConfigurationError(f"limit: must be an int of at least 0, got {limit!r}")
        return await self.store.entries(state=state, limit=limit)

    async def entry(self, entry_id: str) -> InboxEntry | None:
        """The entry with id ``entry_id`` (the event's id), if the inbox holds it."""
        return await self.store.entry(entry_id)

    @staticmethod
    def event_of(entry: InboxEntry) -> InboundEvent:
        """The event ``entry`` holds.

        Raises:
            ProtocolError: the payload was written by a version that knows
                events this one does not.
        """
        return decode_event(entry.payload)

    async def replay(self, entry_id: str) -> bool:
        """Try the entry again now, its attempts counted from zero; ``False`` if absent."""
        replayed = await self.store.replay(entry_id, now=self.clock())
        if replayed:
            self._queued.set()
        return replayed

    async def discard(self, entry_id: str) -> bool:
        """Drop the entry for good (a redelivery stays a duplicate); ``False`` if absent."""
        return await self.store.discard(entry_id)

    async def stats(self) -> InboxStats:
        """How many entries are pending, due, leased and dead now."""
        return await self.store.stats(now=self.clock())

    def _is_outbound_echo(self, event: InboundEvent) -> bool:
        return not self.include_outbound and is_outbound_echo(event)
