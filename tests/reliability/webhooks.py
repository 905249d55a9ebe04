"""The webhook side of the soak: Linq redelivering into a receiver that may crash.

:class:`LinqRedelivery` plays Linq on a virtual clock: each delivery's first
attempt is due at its place in the stream, some are duplicated (a copy with
its own retries) or swapped with their neighbour, and every attempt that gets
no 2xx is tried again on Linq's schedule (after 2, 4, 8, 16 and 30 seconds, 6
attempts in all) until it is acknowledged or Linq gives up.

:class:`ReceiverProcess` is the process being delivered to: a
``SqliteEventStore`` on one file, an ``InboundDispatcher`` and a
``WebhookReceiver``. :meth:`ReceiverProcess.crash` kills it the way a process
dies: the store accepts no further write (writes already on their way to the
disk may land or not), the requests in flight get no answer, and claims taken
by the dead process stay in the file until their lease runs out.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx

from adapters.linq.asgi import WebhookReceiver
from adapters.linq.simulator import RETRY_DELAYS, Simulator
from adapters.linq.webhook_events import parse_delivery
from adapters.linq.webhooks import WebhookVerifier, sign_standard
from adapters.memory import RecipientKind
from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound import DispatchOutcome, InboundDispatcher, SqliteEventStore

__all__ = [
    "SECRET",
    "CareLogic",
    "EventDelivery",
    "LinqRedelivery",
    "ReceiverProcess",
    "make_deliveries",
]

SECRET = "whsec_Y2FyZXN1cHBvcnQtcmVsaWFiaWxpdHktc29haw=="
EPOCH = 1_780_000_000
"""Unix seconds at virtual time 0."""
T0 = datetime.fromtimestamp(EPOCH, UTC)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@attrs.frozen
class EventDelivery:
    """One event as Linq sends it: its id, its conversation and the exact body."""

    event_id: str
    conversation_id: str
    body: bytes = attrs.field(repr=False)


def make_deliveries(count: int, *, senders: int, seed: int) -> list[EventDelivery]:
    """``count`` ``message.received`` deliveries from ``senders`` people, built by the simulator."""
    sim = Simulator(seed=seed)
    people = [sim.add_recipient(f"+1651556{n:04d}", RecipientKind.IMESSAGE) for n in range(senders)]
    sim.subscribe("http://127.0.0.1:8080/linq/webhooks", events=["message.received"], secret=SECRET)
    for n in range(count):
        sim.inject_inbound_text(people[n % senders], f"Question {n}: did she eat lunch?")
    sim.deliverer.enqueue_events()
    deliveries = []
    for delivery in sim.deliverer.queue:
        conversation_id = parse_delivery(delivery.body).conversation_id
        assert conversation_id is not None
        deliveries.append(EventDelivery(delivery.event_id, conversation_id, delivery.body))
    return deliveries


def failure_roll(seed: int, event_id: str, call: int) -> float:
    """A die rolled once per (event, call number): failures do not depend on timing."""
    return random.Random(f"{seed}:{event_id}:{call}").random()


@attrs.define
class CareLogic:
    """The care logic's handler: fails ``fail_rate`` of calls, records every effect.

    Calls are numbered per event (1 for the first call with that event).

    Attributes:
        fail_on: ``(event_id, call)`` pairs that fail, besides the random ones.
        die_before_effect: pairs where the process dies while the handler runs,
            before its effect (the call never returns).
        die_after_effect: pairs where the effect happens, then the process dies
            before the answer goes back (the call never returns).
        on_death: called when a call "kills the process".
        handled: effects per event (successful calls).
        handled_by: the events each process incarnation handled.
        called: per conversation, every call's event in call order.
        returned: per conversation, the events of calls that returned, in order.
        overlaps: calls that started while a call of the same conversation ran.
    """

    fail_rate: float
    seed: int
    fail_on: set[tuple[str, int]] = attrs.Factory(set)
    die_before_effect: set[tuple[str, int]] = attrs.Factory(set)
    die_after_effect: set[tuple[str, int]] = attrs.Factory(set)
    on_death: Callable[[], None] = lambda: None
    incarnation: int = 0
    """Which process is running; set by ``ReceiverProcess.start``."""
    handled: Counter[str] = attrs.Factory(Counter)
    handled_by: dict[int, set[str]] = attrs.Factory(lambda: defaultdict(set))
    called: dict[str, list[str]] = attrs.Factory(lambda: defaultdict(list))
    returned: dict[str, list[str]] = attrs.Factory(lambda: defaultdict(list))
    calls: Counter[str] = attrs.Factory(Counter)
    failures: int = 0
    overlaps: int = 0
    _busy: set[str] = attrs.Factory(set)

    async def __call__(self, event: InboundEvent) -> None:
        conversation = event.conversation_id or ""
        if conversation in self._busy:
            self.overlaps += 1
        self._busy.add(conversation)
        try:
            await asyncio.sleep(0)  # let other deliveries run meanwhile
            self.calls[event.event_id] += 1
            self.called[conversation].append(event.event_id)
            call = (event.event_id, self.calls[event.event_id])
            if call in self.die_before_effect:
                await self._die()
            if call in self.fail_on or failure_roll(self.seed, *call) < self.fail_rate:
                self.failures += 1
                raise RuntimeError(f"care logic failed on {event.event_id}")
            self.handled[event.event_id] += 1
            self.handled_by[self.incarnation].add(event.event_id)
            if call in self.die_after_effect:
                await self._die()
            self.returned[conversation].append(event.event_id)
        finally:
            self._busy.discard(conversation)

    async def _die(self) -> None:
        self.on_death()
        await asyncio.Event().wait()  # the process is gone: this call never returns


@attrs.define
class Arrival:
    event_id: str
    conversation_id: str | None
    outcome: DispatchOutcome | None = None


@attrs.define
class ArrivalRecordingDispatcher(InboundDispatcher):
    """The dispatcher, noting the order events reach it and what it did with each."""

    arrivals: list[Arrival] = attrs.field(factory=list, kw_only=True)

    async def dispatch(self, event: InboundEvent) -> DispatchOutcome:
        arrival = Arrival(event.event_id, event.conversation_id)
        self.arrivals.append(arrival)
        arrival.outcome = await super().dispatch(event)
        return arrival.outcome


async def _never(_: float) -> None:
    # Lease renewal waits on this; handlers take no virtual time, so it never renews.
    await asyncio.Event().wait()


@attrs.define
class ReceiverProcess:
    """The receiving process: store, dispatcher and receiver, restartable on one file.

    It is also the ASGI app Linq posts to: while the process is down, a
    connection is refused.
    """

    path: Path
    handler: CareLogic
    now: Callable[[], float]
    incarnations: int = 0
    arrivals: list[Arrival] = attrs.Factory(list)
    _store: SqliteEventStore | None = None
    _receiver: WebhookReceiver | None = None

    def start(self) -> None:
        self._store = SqliteEventStore(self.path)
        dispatcher = ArrivalRecordingDispatcher(
            self.handler,
            self._store,
            clock=lambda: T0 + timedelta(seconds=self.now()),
            sleep=_never,
            arrivals=self.arrivals,
        )
        verifier = WebhookVerifier(SECRET, clock=lambda: EPOCH + self.now())
        self._receiver = WebhookReceiver(verifier, dispatcher)
        self.incarnations += 1
        self.handler.incarnation = self.incarnations

    async def crash(self) -> None:
        """Die: from now on no write reaches the store (``close`` refuses them at once)."""
        store, self._store, self._receiver = self._store, None, None
        if store is not None:
            await store.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        receiver = self._receiver
        if receiver is None:
            raise httpx.ConnectError("connection refused: the receiver is down")
        await receiver(scope, receive, send)


@attrs.define
class Copy:
    """One copy of a delivery on Linq's side (a duplicate is a second copy)."""

    delivery: EventDelivery
    due: float
    copy: int = 0
    attempts: int = 0
    done: bool = False
    gave_up: bool = False


@attrs.define
class Kill:
    """Kill the process after the handler's ``after_calls``-th call (or from a crash victim)."""

    after_calls: int | None
    downtime: float


@attrs.define
class LinqRedelivery:
    """Linq's side: a stream of deliveries, duplicated, reordered and retried on schedule.

    Args:
        deliveries: the events, in the order Linq emits them.
        process: the receiving process (started by :meth:`run`).
        per_second: first attempts due per virtual second.
        concurrency: attempts in flight at once.
        kills: when to kill the process, in the order they happen.
    """

    deliveries: Sequence[EventDelivery]
    process: ReceiverProcess
    duplicate_rate: float
    reorder_rate: float
    seed: int
    per_second: float = 40.0
    concurrency: int = 25
    kills: list[Kill] = attrs.Factory(list)
    now: float = 0.0
    copies: list[Copy] = attrs.Factory(list)
    statuses: Counter[str] = attrs.Factory(Counter)
    crashes: int = 0
    in_flight_at_crash: set[str] = attrs.Factory(set)
    """Events whose handler had succeeded but whose delivery was not acknowledged
    when the process died: these alone may be handled twice."""
    _kill_requested: asyncio.Event = attrs.Factory(asyncio.Event)
    _down_until: float | None = None
    _acked_here: set[str] = attrs.Factory(set)

    def request_kill(self) -> None:
        self._kill_requested.set()

    def plan(self) -> None:
        """Lay out the copies: due times, duplicates and neighbour swaps (seeded)."""
        rng = random.Random(f"{self.seed}:linq")
        dues = [n / self.per_second for n in range(len(self.deliveries))]
        for n in range(len(dues) - 1):
            if rng.random() < self.reorder_rate:
                dues[n], dues[n + 1] = dues[n + 1], dues[n]
        for delivery, due in zip(self.deliveries, dues, strict=True):
            self.copies.append(Copy(delivery, due))
            if rng.random() < self.duplicate_rate:
                self.copies.append(Copy(delivery, due + rng.uniform(0.0, 5.0), copy=1))
        self.copies.sort(key=lambda c: c.due)

    def single_copy_events(self) -> list[str]:
        """Events Linq sends once (no duplicate), in order; call after :meth:`plan`."""
        copies = Counter(c.delivery.event_id for c in self.copies)
        return [d.event_id for d in self.deliveries if copies[d.event_id] == 1]

    async def run(self, *, max_seconds: float = 3_600.0) -> None:
        """Deliver until every copy is acknowledged or given up (plans first if need be)."""
        if not self.copies:
            self.plan()
        self.process.start()
        transport = httpx.ASGITransport(app=self.process)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as http:
            while any(not (c.done or c.gave_up) for c in self.copies):
                if self.now > max_seconds:
                    raise AssertionError(f"deliveries still pending after {max_seconds} s")
                if self._down_until is not None and self.now >= self._down_until:
                    self._down_until = None
                    self._acked_here.clear()
                    self.process.start()
                due = [c for c in self.copies if not (c.done or c.gave_up) and c.due <= self.now]
                for start in range(0, len(due), self.concurrency):
                    await self._send_wave(http, due[start : start + self.concurrency])
                self.now += 1.0
        await self.process.crash()

    async def _send_wave(self, http: httpx.AsyncClient, wave: list[Copy]) -> None:
        tasks = {asyncio.create_task(self._attempt(http, copy)): copy for copy in wave}
        waiting = set(tasks)
        killer = asyncio.create_task(self._kill_requested.wait())
        try:
            while waiting:
                done, _ = await asyncio.wait(
                    {*waiting, killer}, return_when=asyncio.FIRST_COMPLETED
                )
                waiting -= done
                if killer in done:
                    await self._crash(waiting)
                    waiting = set()
                elif self._plain_kill_due():
                    self.request_kill()
        finally:
            killer.cancel()
        for task, copy in tasks.items():
            self._settle(copy, None if task.cancelled() else task.result())

    def _plain_kill_due(self) -> bool:
        if not self.kills or self.kills[0].after_calls is None:
            return False
        return self.process.handler.calls.total() >= self.kills[0].after_calls

    async def _crash(self, in_flight: set[asyncio.Task[int | None]]) -> None:
        kill = self.kills.pop(0)
        self._kill_requested.clear()
        self.crashes += 1
        handler = self.process.handler
        # Cut every request off first: none of them runs another step before the
        # store is closed, so nothing more is written (a write already handed to
        # the store's thread may still land, as on a real crash).
        for task in in_flight:
            task.cancel()
        await self.process.crash()
        await asyncio.gather(*in_flight, return_exceptions=True)
        self.in_flight_at_crash |= handler.handled_by[handler.incarnation] - self._acked_here
        self._down_until = self.now + kill.downtime

    async def _attempt(self, http: httpx.AsyncClient, copy: Copy) -> int | None:
        headers = sign_standard(
            copy.delivery.body,
            SECRET,
            msg_id=copy.delivery.event_id,
            timestamp=int(EPOCH + self.now),
        )
        headers["Content-Type"] = "application/json"
        try:
            response = await http.post(
                "/linq/webhooks", content=copy.delivery.body, headers=headers
            )
        except httpx.TransportError:
            return None  # refused or dropped: no answer
        if response.is_success:
            self._acked_here.add(copy.delivery.event_id)
        return response.status_code

    def _settle(self, copy: Copy, status: int | None) -> None:
        copy.attempts += 1
        self.statuses["no answer" if status is None else str(status)] += 1
        if status is not None and 200 <= status < 300:
            copy.done = True
        elif status is not None and status < 500 and status != 429:
            copy.gave_up = True  # a 4xx is a refusal Linq does not retry
        elif copy.attempts > len(RETRY_DELAYS):
            copy.gave_up = True
        else:
            copy.due = self.now + RETRY_DELAYS[copy.attempts - 1]

    @property
    def posts(self) -> int:
        return sum(c.attempts for c in self.copies)

    @property
    def redeliveries(self) -> int:
        return sum(max(c.attempts - 1, 0) for c in self.copies)

    @property
    def given_up(self) -> list[Copy]:
        return [c for c in self.copies if c.gave_up]

    @property
    def duplicates_sent(self) -> int:
        return sum(1 for c in self.copies if c.copy)
