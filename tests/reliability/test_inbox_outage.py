"""The care logic down for ten minutes: nothing waits on Linq's retries, nothing is lost.

On every store kind (memory, SQLite, PostgreSQL, Redis), in virtual time: the
inbox's clock, the verifier's clock and the signatures' timestamps are one
virtual clock, the worker's sleeps never return (it is driven poll by poll,
one poll per virtual second, as ``DEFAULT_POLL_INTERVAL`` says), and the test
moves the clock.

Linq delivers 400 ``message.received`` events over 40 conversations during
the first nine minutes, to the real receiver (``WebhookReceiver`` over an
``Inbox``, no worker of its own). Like Linq, this sender retries any attempt
without a 2xx (after 2, 4, 8, ... seconds) and gives up on an event 30 minutes
after its first attempt. The care logic's handler raises for ten minutes, from
minute one to minute eleven. The ``InboxWorker`` uses the default
``RetrySchedule`` (10 s, doubling, jitter 20%).

Asserted: Linq needed one attempt per event (the receiver acknowledged on
storing, so nothing depended on its retries, nor on how long it keeps them
up); every event was handled exactly once, none during the outage, each
conversation in the order its events were accepted; a conversation whose
head event failed came back no later than the schedule's next attempt after
its last failure (its delay, jitter included, plus one poll), with everything
that queued behind the head in that same poll; no dead letters, nothing left.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import httpx
import pytest

from adapters.linq.asgi import WebhookReceiver
from adapters.linq.webhook_events import parse_delivery
from adapters.linq.webhooks import WebhookVerifier, sign_standard
from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound import (
    DEFAULT_POLL_INTERVAL,
    EventStore,
    Inbox,
    InboxWorker,
    MemoryEventStore,
    RetrySchedule,
    open_event_store,
)
from tests.stores.conftest import BACKENDS, backend_url, forget_namespace, fresh_namespace

from .figures import FIGURES
from .inbox_support import delivery_body
from .webhooks import SECRET, T0

pytestmark = pytest.mark.reliability

EVENTS = 400
CONVERSATIONS = 40
ARRIVALS = timedelta(minutes=9)
"""Deliveries are spread evenly over the first nine minutes."""
OUTAGE = (timedelta(minutes=1), timedelta(minutes=11))
"""The handler raises from minute one to minute eleven: ten minutes."""
LINQ_RETRY_FIRST = timedelta(seconds=2)
LINQ_GIVES_UP_AFTER = timedelta(minutes=30)
POLL = timedelta(seconds=DEFAULT_POLL_INTERVAL)
GIVE_UP_ON_TEST = timedelta(hours=2)
"""Virtual time after which the test fails rather than go on polling."""


@attrs.define
class VirtualClock:
    now: datetime = T0

    def utc(self) -> datetime:
        return self.now

    def unix(self) -> float:
        return self.now.timestamp()


@attrs.frozen
class Arrival:
    at: datetime
    event_id: str
    conversation: str
    body: bytes = attrs.field(repr=False)


@attrs.define
class CareLogic:
    """Raises while the clock is in the outage; otherwise records the event as handled."""

    clock: VirtualClock
    down_from: datetime
    down_until: datetime
    failures: Counter[str] = attrs.Factory(Counter)
    last_failure: dict[str, datetime] = attrs.Factory(dict)
    handled: Counter[str] = attrs.Factory(Counter)
    handled_at: dict[str, datetime] = attrs.Factory(dict)
    order: dict[str, list[str]] = attrs.Factory(lambda: defaultdict(list))

    async def __call__(self, event: InboundEvent) -> None:
        now = self.clock.now
        if self.down_from <= now < self.down_until:
            self.failures[event.event_id] += 1
            self.last_failure[event.event_id] = now
            raise ConnectionError("the care logic's language model does not answer")
        self.handled[event.event_id] += 1
        self.handled_at[event.event_id] = now
        self.order[event.conversation_id or ""].append(event.event_id)


@attrs.define
class Linq:
    """Posts each delivery at its time; retries without a 2xx, doubling, for 30 minutes."""

    http: httpx.AsyncClient
    clock: VirtualClock
    attempts: Counter[str] = attrs.Factory(Counter)
    answers: Counter[str] = attrs.Factory(Counter)
    acknowledged: set[str] = attrs.Factory(set)
    given_up: set[str] = attrs.Factory(set)
    retries: list[tuple[datetime, Arrival]] = attrs.Factory(list)

    async def deliver(self, arrival: Arrival) -> None:
        self.attempts[arrival.event_id] += 1
        headers = sign_standard(
            arrival.body, SECRET, msg_id=arrival.event_id, timestamp=int(self.clock.unix())
        )
        response = await self.http.post(
            "/linq/webhooks",
            content=arrival.body,
            headers={**headers, "Content-Type": "application/json"},
        )
        answer = response.json()
        self.answers[f"{response.status_code} {answer.get('status') or answer.get('error')}"] += 1
        if response.is_success:
            self.acknowledged.add(arrival.event_id)
            return
        wait = LINQ_RETRY_FIRST * 2 ** (self.attempts[arrival.event_id] - 1)
        if self.clock.now + wait - arrival.at > LINQ_GIVES_UP_AFTER:
            self.given_up.add(arrival.event_id)
        else:
            self.retries.append((self.clock.now + wait, arrival))

    async def deliver_due(self, arrivals: list[Arrival]) -> None:
        """Every first attempt and retry due by now, each at its own moment."""
        due = [(a.at, a) for a in arrivals if a.at <= self.clock.now]
        due += [(at, a) for at, a in self.retries if at <= self.clock.now]
        self.retries = [(at, a) for at, a in self.retries if at > self.clock.now]
        arrivals[:] = [a for a in arrivals if a.at > self.clock.now]
        now = self.clock.now
        for at, arrival in sorted(due, key=lambda pair: pair[0]):
            self.clock.now = at
            await self.deliver(arrival)
        self.clock.now = now


def make_arrivals() -> list[Arrival]:
    arrivals = []
    for n in range(EVENTS):
        conversation = f"chat-{n % CONVERSATIONS:02d}"
        event_id = f"evt_{n:04d}"
        body = delivery_body(
            event_id=event_id,
            message_id=f"msg_{n:04d}",
            chat_id=conversation,
            person=f"+1651556{n % CONVERSATIONS:04d}",
            text=f"message {n // CONVERSATIONS} in {conversation}",
        )
        assert parse_delivery(body).conversation_id == conversation
        arrivals.append(Arrival(T0 + ARRIVALS * n / EVENTS, event_id, conversation, body))
    return arrivals


async def _asleep_forever(_: float) -> None:
    # Lease renewals and idle polls wait on this: handlers take no virtual time,
    # and the test itself polls (``drain``) once per virtual second.
    await asyncio.Event().wait()


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    """A store of each kind in turn, in a namespace of its own."""
    kind: str = request.param
    if kind == "memory":
        yield MemoryEventStore()
        return
    url = backend_url(kind, request, tmp_path)
    namespace = fresh_namespace()
    opened = await open_event_store(url, namespace=namespace)
    try:
        yield opened
    finally:
        await opened.close()
        forget_namespace(kind, url, namespace)


async def test_a_ten_minute_outage_of_the_care_logic_loses_nothing_and_needs_no_redelivery(
    store: EventStore, request: pytest.FixtureRequest
) -> None:
    kind = request.node.callspec.params["store"]
    began = time.monotonic()
    clock = VirtualClock()
    schedule = RetrySchedule()
    handler = CareLogic(clock, T0 + OUTAGE[0], T0 + OUTAGE[1])
    inbox = Inbox(store, clock=clock.utc)
    worker = InboxWorker(
        inbox, handler, schedule=schedule, sleep=_asleep_forever, rng=random.Random(20_260_601)
    )
    receiver = WebhookReceiver(WebhookVerifier(SECRET, clock=clock.unix), inbox)
    arrivals = make_arrivals()
    accepted = [a.event_id for a in arrivals]
    pending = list(arrivals)
    polls = 0
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as http:
        linq = Linq(http, clock)
        while True:
            await linq.deliver_due(pending)
            await worker.drain()
            polls += 1
            if not pending and not linq.retries and (await inbox.stats()).pending == 0:
                break
            assert clock.now - T0 < GIVE_UP_ON_TEST, f"still pending: {await inbox.stats()}"
            clock.now += POLL
    stats = await inbox.stats()

    outage_end = T0 + OUTAGE[1]
    longest_wait = max(at - outage_end for at in handler.handled_at.values())
    bound_after = {
        event_id: handler.last_failure[event_id]
        + _longest_delay(schedule, handler.failures[event_id])
        + POLL
        for event_id in handler.failures
    }
    conversation_of = {a.event_id: a.conversation for a in arrivals}
    arrived_at = {a.event_id: a.at for a in arrivals}
    back_at: dict[str, datetime] = {}
    """When each conversation whose head failed was handled again."""
    for event_id in handler.failures:
        conversation = conversation_of[event_id]
        at = handler.handled_at[event_id]
        back_at[conversation] = min(at, back_at.get(conversation, at))
    FIGURES.record(
        f"inbox, ten-minute outage of the care logic ({kind}, virtual time)",
        events=f"{EVENTS} over {CONVERSATIONS} conversations, arriving over "
        f"{ARRIVALS.total_seconds() / 60:g} min",
        outage=f"minute {OUTAGE[0].total_seconds() / 60:g} to {OUTAGE[1].total_seconds() / 60:g}",
        linq_attempts=linq.attempts.total(),
        linq_retries_needed=linq.attempts.total() - len(arrivals),
        handler_failures=handler.failures.total(),
        most_failures_of_one_event=max(handler.failures.values()),
        handled=handler.handled.total(),
        longest_wait_after_the_handler_came_back_s=f"{longest_wait.total_seconds():.0f}",
        last_handled_at_min=f"{(max(handler.handled_at.values()) - T0).total_seconds() / 60:.1f}",
        polls=polls,
        seconds=f"{time.monotonic() - began:.1f}",
    )

    assert {"200 queued": EVENTS} == dict(linq.answers)
    assert (EVENTS, set()) == (linq.attempts.total(), linq.given_up)
    assert {event_id: 1 for event_id in accepted} == dict(handler.handled)
    assert handler.failures, "the outage was not felt"
    assert all(not (handler.down_from <= at < outage_end) for at in handler.handled_at.values())
    for conversation, handled in handler.order.items():
        assert [e for e in accepted if conversation_of[e] == conversation] == handled
    late = {e: bound for e, bound in bound_after.items() if handler.handled_at[e] > bound}
    assert {} == late, "handled later than the schedule's delay after its last failure"
    for event_id, at in handler.handled_at.items():
        conversation = conversation_of[event_id]
        if at >= outage_end and arrived_at[event_id] <= back_at[conversation]:
            assert back_at[conversation] == at, f"{event_id} waited past its head's return"
    assert (0, 0) == (stats.pending, stats.dead)


def _longest_delay(schedule: RetrySchedule, attempts: int) -> timedelta:
    """The longest wait the schedule can pick after the ``attempts``-th failure (full jitter)."""
    seconds = schedule.first_delay.total_seconds() * schedule.factor ** max(attempts - 1, 0)
    seconds = min(seconds, schedule.max_delay.total_seconds())
    return timedelta(seconds=seconds * (1 + schedule.jitter))
