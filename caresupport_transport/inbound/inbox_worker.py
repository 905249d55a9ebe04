"""``InboxWorker``: hands the inbox's events to the care logic, retrying, in order per key.

A worker leases order keys from the store (several at once, ``concurrency``),
decodes each key's oldest pending event and calls the handler:

* it returns: the entry is acknowledged (removed; its keys stay done);
* it raises: the entry is rescheduled by the :class:`RetrySchedule`, with the
  error's class and frames (never its message) noted, or buried as a dead
  letter once the schedule gives up;
* the payload cannot be decoded: buried at once (trying again cannot help).

While a handler runs, the lease is renewed every third of ``lease``, so a slow
language model does not let another worker take the key over. A worker that
dies (or stalls past its lease) loses the key; another worker takes it over
under a newer fencing token, and the store refuses the late worker's
acknowledgement. The event is then handled again: replies sent under
:func:`~caresupport_transport.inbound.reply_key` are not sent twice.

Given ``turns`` (a :class:`Coalescing`), the worker hands the handler a
:class:`Turn` instead: it holds the key's lease while the key's burst goes
quiet, then gives every event waiting for the key at once, and removes them
all (``ack_turn``) only when the handler returns. A failure retries the
turn's first entry, so the whole turn (and whatever arrived since) comes back
together; a dead letter is that first entry alone, and the rest form the
next turn. A turn's later entries count no attempts of their own.

Run it in the receiver's process (``start()`` / ``stop()``) or on its own
(``caresupport-transport inbox work``); any number of workers may share a store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from caresupport_transport._log_safe import describe_failure
from caresupport_transport.errors import ConfigurationError, ProtocolError
from caresupport_transport.events import InboundEvent, MessageReceived
from caresupport_transport.inbound.coalescing import Coalescing
from caresupport_transport.inbound.inbox import Inbox
from caresupport_transport.inbound.inbox_entry import InboxEntry, InboxLease
from caresupport_transport.inbound.schedule import RetrySchedule
from caresupport_transport.inbound.turn import Turn
from caresupport_transport.model import Direction

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_INBOX_LEASE",
    "DEFAULT_POLL_INTERVAL",
    "InboxWorker",
]

_log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
"""Order keys one worker handles at once."""

DEFAULT_INBOX_LEASE = timedelta(seconds=30)
"""How long a key stays leased without a heartbeat: how soon a dead worker's key is taken over."""

DEFAULT_POLL_INTERVAL = 1.0
"""Seconds an idle worker waits before asking the store again (sooner when woken locally)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@attrs.define
class InboxWorker:
    """Takes events from an :class:`Inbox` and hands them to ``handler`` (see the module notes).

    Args:
        inbox: where the events wait (its store, and its clock).
        handler: the care logic's async handler; raising means "not handled".
        decode: what the handler is given for an entry (the event, by default;
            the outbox hands its jobs to its own handler this way).
        schedule: when to try a failed event again, and when to give up.
        concurrency: order keys handled at once.
        lease: how long a key stays leased without a heartbeat.
        poll_interval: seconds between asking the store when idle.
        sleep: waits between heartbeats and polls (injected by tests).
        rng: jitter for the retry schedule.
        turns: coalesce each key's quick events into one :class:`Turn` for
            the handler (inbound events only; see the module notes).
        adapt: with ``turns``, what each stored event becomes in the turn
            (a transport's ``inbound_relay().adapt``: echoes read as
            statuses, opt-outs learned, numbered replies read as votes); the
            events as stored, by default.

    Raises:
        ConfigurationError: a setting out of range, naming it.
    """

    inbox: Inbox
    handler: Callable[[Any], Awaitable[None]]
    decode: Callable[[InboxEntry], object] = attrs.field(default=Inbox.event_of, kw_only=True)
    schedule: RetrySchedule = attrs.field(factory=RetrySchedule, kw_only=True)
    concurrency: int = attrs.field(default=DEFAULT_CONCURRENCY, kw_only=True)
    lease: timedelta = attrs.field(default=DEFAULT_INBOX_LEASE, kw_only=True)
    poll_interval: float = attrs.field(default=DEFAULT_POLL_INTERVAL, kw_only=True)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, kw_only=True)
    rng: random.Random = attrs.field(factory=random.Random, kw_only=True, repr=False)
    turns: Coalescing | None = attrs.field(default=None, kw_only=True)
    adapt: Callable[[InboundEvent], Awaitable[Sequence[InboundEvent]]] | None = attrs.field(
        default=None, kw_only=True
    )
    handled: int = attrs.field(default=0, init=False)
    failed: int = attrs.field(default=0, init=False)
    buried: int = attrs.field(default=0, init=False)
    fenced: int = attrs.field(default=0, init=False)
    _task: asyncio.Task[None] | None = attrs.field(default=None, init=False, repr=False)
    _stopping: asyncio.Event = attrs.field(factory=asyncio.Event, init=False, repr=False)
    _running: set[asyncio.Task[None]] = attrs.field(factory=set, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int)
            or self.concurrency < 1
        ):
            raise ConfigurationError(
                f"concurrency: must be a positive int, got {self.concurrency!r}"
            )
        if not isinstance(self.lease, timedelta) or self.lease <= timedelta(0):
            raise ConfigurationError(f"lease: must be a positive timedelta, got {self.lease!r}")
        if (
            isinstance(self.poll_interval, bool)
            or not isinstance(self.poll_interval, int | float)
            or not 0 < self.poll_interval <= 3600
        ):
            raise ConfigurationError(
                "poll_interval: must be seconds above 0 and at most 3600, "
                f"got {self.poll_interval!r}"
            )

    @property
    def busy(self) -> int:
        """Events being handled right now."""
        return len(self._running)

    async def run_once(self) -> int:
        """Take what is due (up to ``concurrency`` keys), handle it all, and return how many.

        For tests and scripts that drive the inbox step by step; :meth:`run`
        keeps taking as slots free up.
        """
        leases = await self._take(self.concurrency)
        await asyncio.gather(*(self._handle(lease) for lease in leases))
        return len(leases)

    async def drain(self, *, max_rounds: int = 10_000) -> int:
        """Handle what is due until nothing is; return how many were handled (for tests)."""
        total = 0
        for _ in range(max_rounds):
            taken = await self.run_once()
            if not taken:
                return total
            total += taken
        return total

    async def run(self) -> None:
        """Handle events until :meth:`stop`; store errors are logged and waited out."""
        self._stopping.clear()
        try:
            while not self._stopping.is_set():
                free = self.concurrency - len(self._running)
                leases: list[InboxLease] = []
                if free > 0:
                    try:
                        leases = await self._take(free)
                    except Exception as exc:
                        _log.error("could not take from the inbox: %s", describe_failure(exc))
                for lease in leases:
                    task = asyncio.create_task(self._handle(lease))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
                if not leases or len(self._running) >= self.concurrency:
                    await self._idle()
        finally:
            await self._finish_running()

    def start(self) -> None:
        """Run :meth:`run` in the background of the running event loop (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run())

    @property
    def started(self) -> bool:
        """Whether a background run started by :meth:`start` is going."""
        return self._task is not None and not self._task.done()

    async def stop(self, *, grace: float = 10.0) -> None:
        """Stop taking events; let handlers in flight finish for ``grace`` seconds, then cancel.

        A cancelled handler's entry is not acknowledged: its lease runs out and
        another worker (or this one, later) handles it again.
        """
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _idle(self) -> None:
        waits: set[asyncio.Future[object]] = {
            asyncio.ensure_future(self.inbox.wait_queued()),
            asyncio.ensure_future(self.sleep(self.poll_interval)),
            asyncio.ensure_future(self._stopping.wait()),
        }
        waits.update(asyncio.ensure_future(asyncio.shield(task)) for task in self._running)
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _finish_running(self) -> None:
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _take(self, limit: int) -> list[InboxLease]:
        now = self.inbox.clock()
        return await self.inbox.store.take(now=now, until=now + self.lease, limit=limit)

    async def _handle(self, lease: InboxLease) -> None:
        if self.turns is not None:
            await self._handle_turn(lease, self.turns)
            return
        try:
            item = self.decode(lease.entry)
        except ProtocolError as exc:
            _log.error("burying inbox entry %s: %s", lease.entry.id, describe_failure(exc))
            await self._end(lease, "bury", error=describe_failure(exc))
            return
        finished = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(lease, finished))
        try:
            await self.handler(item)
        except Exception as exc:
            await self._failed(lease, exc)
            return
        finally:
            # The flag too: a store call can swallow the cancellation (Python 3.11's
            # asyncio.wait_for, which psycopg_pool waits for a connection with, returns a
            # result that came in with the cancel), and the keeper would renew for ever.
            finished.set()
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        await self._end(lease, "ack")

    async def _handle_turn(self, lease: InboxLease, policy: Coalescing) -> None:
        try:
            Inbox.event_of(lease.entry)
        except ProtocolError as exc:
            _log.error("burying inbox entry %s: %s", lease.entry.id, describe_failure(exc))
            await self._end(lease, "bury", error=describe_failure(exc))
            return
        finished = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(lease, finished))
        watcher: asyncio.Task[None] | None = None
        try:
            members = await self._gather(lease, policy)
            if not members:
                return  # the entry was discarded meanwhile: the lease runs out
            ids = [entry.id for entry, _ in members]
            store, order_key = self.inbox.store, lease.entry.order_key

            async def newer_message() -> bool:
                queued = await store.pending_of(order_key, limit=len(ids) + policy.max_events)
                return any(entry.id not in ids and _is_received_message(entry) for entry in queued)

            events = [event for _, event in members]
            if self.adapt is not None:
                events = [adapted for event in events for adapted in await self.adapt(event)]
            turn = Turn(
                order_key,
                events,
                attempt=lease.entry.attempts,
                probe=newer_message,
            )
            watcher = asyncio.create_task(self._watch(turn, policy, finished))
            await self.handler(turn)
        except Exception as exc:
            await self._failed(lease, exc)
            return
        finally:
            finished.set()
            for task in (keeper, watcher):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        await self._end(lease, "ack", others=ids[1:])

    async def _gather(
        self, lease: InboxLease, policy: Coalescing
    ) -> list[tuple[InboxEntry, InboundEvent]]:
        """Wait, holding the lease, until the key's burst is over; return the turn's entries."""
        store, lead = self.inbox.store, lease.entry
        while True:
            queued = await store.pending_of(lead.order_key, limit=policy.max_events)
            start = next((i for i, entry in enumerate(queued) if entry.id == lead.id), None)
            if start is None:
                return []
            members: list[tuple[InboxEntry, InboundEvent]] = []
            closed = False
            for entry in queued[start:]:
                try:
                    event = Inbox.event_of(entry)
                except ProtocolError:
                    closed = True  # buried when it heads the key
                    break
                members.append((entry, event))
                if policy.closes_turn(event):
                    closed = True
                    break
            now = self.inbox.clock()
            last = max(entry.received_at for entry, _ in members)
            starts_at = min(last + policy.quiet, lead.received_at + policy.max_wait)
            if closed or len(members) >= policy.max_events or now >= starts_at:
                return members
            wait = min(starts_at - now, policy.check_interval)
            await self.sleep(wait.total_seconds())

    async def _watch(self, turn: Turn, policy: Coalescing, finished: asyncio.Event) -> None:
        """Set ``turn.superseded`` once a newer message for its key waits."""
        while not finished.is_set():
            await self.sleep(policy.check_interval.total_seconds())
            if finished.is_set():
                return
            try:
                if await turn.check_superseded():
                    return
            except Exception as exc:
                _log.warning(
                    "could not look for newer messages during a turn: %s", describe_failure(exc)
                )

    async def _failed(self, lease: InboxLease, exc: Exception) -> None:
        error = describe_failure(exc)
        entry = lease.entry
        now = self.inbox.clock()
        due = self.schedule.next_attempt(
            attempts=entry.attempts, received_at=entry.received_at, now=now, rng=self.rng
        )
        asked = getattr(exc, "retry_after", None)
        if due is not None and isinstance(asked, int | float) and asked > 0:
            # The provider said how long to wait (a 429's Retry-After): never sooner.
            due = max(due, now + timedelta(seconds=min(float(asked), 86_400.0)))
        if due is None:
            _log.error(
                "the handler failed on inbox entry %s for the last time (attempt %d), "
                "now a dead letter: %s",
                entry.id,
                entry.attempts,
                error,
            )
            await self._end(lease, "bury", error=error)
            return
        _log.warning(
            "the handler failed on inbox entry %s (attempt %d); next attempt at %s: %s",
            entry.id,
            entry.attempts,
            due.isoformat(timespec="seconds"),
            error,
        )
        await self._end(lease, "retry", error=error, due_at=due)

    async def _end(
        self,
        lease: InboxLease,
        how: str,
        *,
        error: str = "",
        due_at: datetime | None = None,
        others: Sequence[str] = (),
    ) -> None:
        store = self.inbox.store
        try:
            if how == "ack" and others:
                kept = await store.ack_turn(lease, others, now=self.inbox.clock())
            elif how == "ack":
                kept = await store.ack(lease, now=self.inbox.clock())
            elif how == "retry":
                assert due_at is not None
                kept = await store.retry(lease, error=error, due_at=due_at)
            else:
                kept = await store.bury(lease, error=error)
        except Exception as exc:
            # The lease runs out and the entry is handled again: at least once.
            _log.error(
                "could not record the end of inbox entry %s (%s): %s",
                lease.entry.id,
                how,
                describe_failure(exc),
            )
            return
        if not kept:
            self.fenced += 1
            _log.warning(
                "inbox entry %s: the lease (token %d) was taken over by another worker; "
                "its %s was refused",
                lease.entry.id,
                lease.token,
                how,
            )
            return
        if how == "ack":
            self.handled += 1 + len(others)
        elif how == "retry":
            self.failed += 1
        else:
            self.buried += 1

    async def _keep_lease(self, lease: InboxLease, finished: asyncio.Event) -> None:
        interval = self.lease.total_seconds() / 3
        while not finished.is_set():
            await self.sleep(interval)
            if finished.is_set():
                return
            try:
                kept = await self.inbox.store.heartbeat(
                    lease, until=self.inbox.clock() + self.lease
                )
            except Exception as exc:
                _log.error(
                    "could not renew the lease on inbox entry %s: %s",
                    lease.entry.id,
                    describe_failure(exc),
                )
                continue
            if not kept:
                _log.warning(
                    "inbox entry %s: the lease (token %d) was lost while the handler ran",
                    lease.entry.id,
                    lease.token,
                )
                return


def _is_received_message(entry: InboxEntry) -> bool:
    """Whether ``entry`` holds a message someone sent us (what supersedes a turn)."""
    try:
        event = Inbox.event_of(entry)
    except ProtocolError:
        return False
    return isinstance(event, MessageReceived) and event.message.direction is Direction.INBOUND
