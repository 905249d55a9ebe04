"""``InboundDispatcher``: hands each inbound event to the care logic, de-duplicated.

The rules, in the order ``dispatch`` applies them:

1. Events of one conversation wait their turn (arrival order); other
   conversations run concurrently. Duplicates of one event also wait for each
   other, even when they name different conversations.
2. The event's keys (``event:<event_id>``, plus ``message:<id>`` for a received
   message, so a message seen by webhook and by polling counts once) are
   claimed in the store. Already done: ``DUPLICATE``. Claimed by another
   worker right now: ``IN_PROGRESS`` (answer "retry later").
3. Outbound echoes are ``FILTERED`` (and recorded as done) unless asked for.
4. The handler runs. Only when it returns are the keys recorded as done. If it
   raises, the claim is given back and the exception propagates, so the
   receiver answers 5xx and the provider delivers the event again.

A crash between the handler's effect and the done mark (while the handler
runs, or after it returned but before the mark is stored) makes a redelivery
handle the event again: the guarantee is "at least once, de-duplicated", not
exactly once.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

import attrs

from caresupport_transport.errors import ConfigurationError
from caresupport_transport.events import InboundEvent, MessageReceived
from caresupport_transport.inbound.store import ClaimStatus, EventStore, dedup_keys
from caresupport_transport.keyed_locks import KeyedLocks
from caresupport_transport.model import Direction
from caresupport_transport.port import InboundHandler

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_PRUNE_INTERVAL",
    "DispatchOutcome",
    "InboundDispatcher",
    "event_keys",
    "is_outbound_echo",
]

_log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(seconds=20)
"""How long a claim lives without renewal; renewed every third of it while the handler runs.

Short on purpose: a worker that dies mid-handler leaves its claim behind, and
every redelivery is answered "in progress" until the claim runs out. Linq
retries for about a minute (attempts 2, 4, 8, 16 and 30 seconds apart), so a
claim must run out within the last gap (30 s), or a death during a redelivery
loses the event.
"""

DEFAULT_PRUNE_INTERVAL = timedelta(hours=1)
"""How often ``dispatch`` asks the store to forget expired keys."""


class DispatchOutcome(enum.Enum):
    """What ``InboundDispatcher.dispatch`` did with an event."""

    HANDLED = "handled"
    """The handler ran and returned; the event is recorded as done."""

    DUPLICATE = "duplicate"
    """Already handled before; the handler was not called."""

    FILTERED = "filtered"
    """An outbound echo, recorded as done without calling the handler."""

    IN_PROGRESS = "in progress"
    """Another worker sharing the store is handling it now; deliver it again later."""

    QUEUED = "queued"
    """Stored in the durable inbox; a worker will hand it to the handler (``Inbox`` only)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def is_outbound_echo(event: InboundEvent) -> bool:
    """Whether ``event`` is a received message we sent ourselves (filtered unless asked for)."""
    return isinstance(event, MessageReceived) and event.message.direction is Direction.OUTBOUND


def event_keys(event: InboundEvent) -> tuple[str, ...]:
    """The de-duplication keys of ``event``: its event id, and a received message's id."""
    message_id = event.message.id if isinstance(event, MessageReceived) else None
    return dedup_keys(event.event_id, message_id)


@attrs.define
class InboundDispatcher:
    """Calls the care logic's handler once per event, in order per conversation.

    Args:
        handler: the care logic's async handler; raising means "not handled".
        store: where handled keys (and polling cursors) are remembered.
        include_outbound: also hand over received messages we sent ourselves.
        clock: the current time (aware UTC).
        lease: how long a claim lives without renewal (see ``DEFAULT_LEASE``).
        sleep: waits between lease renewals (injected by tests).
        prune_interval: how often expired keys are pruned from the store.
    """

    handler: InboundHandler
    store: EventStore
    include_outbound: bool = attrs.field(default=False, kw_only=True)
    clock: Callable[[], datetime] = attrs.field(default=_utc_now, kw_only=True)
    lease: timedelta = attrs.field(default=DEFAULT_LEASE, kw_only=True)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, kw_only=True)
    prune_interval: timedelta = attrs.field(default=DEFAULT_PRUNE_INTERVAL, kw_only=True)
    _locks: KeyedLocks = attrs.field(factory=KeyedLocks, init=False)
    _last_prune: datetime | None = attrs.field(default=None, init=False)

    @lease.validator
    def _check_lease(self, _attribute: object, value: timedelta) -> None:
        if value <= timedelta(0):
            raise ConfigurationError(f"lease must be positive, got {value}")

    @property
    def lock_count(self) -> int:
        """Locks alive right now (conversations and keys with work in flight); 0 when idle."""
        return len(self._locks)

    async def dispatch(self, event: InboundEvent) -> DispatchOutcome:
        """Hand ``event`` to the handler unless it is a duplicate or a filtered echo.

        Returns:
            What happened; see :class:`DispatchOutcome`.

        Raises:
            Exception: whatever the handler (or the store) raised; the event is
                then not recorded as done and a redelivery will be handled.
        """
        keys = event_keys(event)
        # Always conversation first, then keys in sorted order: no lock cycles.
        names = [f"key:{key}" for key in sorted(keys)]
        if event.conversation_id is not None:
            names.insert(0, f"conversation:{event.conversation_id}")
        # No await before the first lock: the order of calls is the order of handling.
        await self._locks.acquire_all(names)
        try:
            outcome = await self._dispatch_held(event, keys)
        finally:
            self._locks.release_all(names)
        await self._maybe_prune()
        return outcome

    async def dispatch_many(self, events: Iterable[InboundEvent]) -> list[DispatchOutcome]:
        """Dispatch ``events`` one after another, in order (for polled batches).

        Stops at the first failure and raises it; the events before it are
        recorded, so dispatching the same batch again resumes where it stopped.
        """
        return [await self.dispatch(event) for event in events]

    async def _dispatch_held(self, event: InboundEvent, keys: tuple[str, ...]) -> DispatchOutcome:
        token = uuid.uuid4().hex
        now = self.clock()
        status = await self.store.claim(keys, token=token, now=now, until=now + self.lease)
        if status is ClaimStatus.DONE:
            return DispatchOutcome.DUPLICATE
        if status is ClaimStatus.BUSY:
            return DispatchOutcome.IN_PROGRESS
        try:
            if self._is_filtered(event):
                outcome = DispatchOutcome.FILTERED
            else:
                await self._run_handler(event, keys, token)
                outcome = DispatchOutcome.HANDLED
        except BaseException:
            await self._release(keys, token)
            raise
        await self.store.complete(keys, now=self.clock())
        return outcome

    def _is_filtered(self, event: InboundEvent) -> bool:
        return not self.include_outbound and is_outbound_echo(event)

    async def _run_handler(self, event: InboundEvent, keys: tuple[str, ...], token: str) -> None:
        renewal = _Renewal(self, keys, token)
        try:
            await self.handler(event)
        finally:
            await renewal.stop()

    async def _keep_claim(self, keys: tuple[str, ...], token: str, *, now: bool = False) -> None:
        """Renew the claim while a slow handler runs, so no other worker takes over.

        ``now``: renew at once (the timer already waited), then every third of the lease.
        """
        interval = self.lease.total_seconds() / 3
        while True:
            if not now:
                await self.sleep(interval)
            now = False
            try:
                await self.store.renew(keys, token=token, until=self.clock() + self.lease)
            except Exception:
                _log.exception("could not renew the claim on %s", ", ".join(keys))

    async def _release(self, keys: tuple[str, ...], token: str) -> None:
        try:
            await self.store.release(keys, token=token)
        except Exception:
            # The lease runs out on its own; the handler's error matters more.
            _log.exception("could not release the claim on %s", ", ".join(keys))

    async def _maybe_prune(self) -> None:
        now = self.clock()
        if self._last_prune is not None and now - self._last_prune < self.prune_interval:
            return
        self._last_prune = now
        try:
            removed = await self.store.prune(now)
        except Exception:
            _log.exception("could not prune the event store")
            return
        if removed:
            _log.debug("pruned %d expired keys from the event store", removed)


class _Renewal:
    """The claim renewals of one handler run, started by a timer only if the handler is slow.

    With the default ``sleep``, a handler that returns within a third of the
    lease (nearly all) costs one timer, not a task; past that, a task renews at
    once and then every third of the lease. With an injected ``sleep`` (tests),
    the task starts at once and waits through it.
    """

    def __init__(self, dispatcher: InboundDispatcher, keys: tuple[str, ...], token: str) -> None:
        self._dispatcher = dispatcher
        self._keys = keys
        self._token = token
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        loop = asyncio.get_running_loop()
        if dispatcher.sleep is asyncio.sleep:
            self._timer = loop.call_later(dispatcher.lease.total_seconds() / 3, self._start)
        else:
            self._task = loop.create_task(dispatcher._keep_claim(keys, token))

    def _start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._dispatcher._keep_claim(self._keys, self._token, now=True)
        )

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        renewer = self._task
        if renewer is None:
            return
        renewer.cancel()
        try:
            await renewer
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
