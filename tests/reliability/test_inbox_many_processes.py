"""Two receivers and four workers, real processes, workers SIGKILLed: nothing lost or doubled.

On PostgreSQL, and again on Redis (one namespace per run), the test starts:

* the Linq simulator, one process (``caresupport-transport simulate``), shared
  by every worker: it opens one chat per person and counts the messages each
  idempotency key created;
* two receiver processes, the production ``create_webhook_app(secret, handler,
  store, workers=False)`` under uvicorn (``make_server``), each on a listening
  socket the test made, so they only store;
* four worker processes (``InboxWorker``, lease 2 s, first retry after 0.1 s
  with jitter) whose handler fails 10% of its calls (half before replying,
  half after), replies to the person through a real ``LinqTransport`` under
  ``reply_key(event, "answer")``, and appends each step to an fsynced log
  (``inbox_process.py``).

The test plays Linq: 5,000 signed ``message.received`` deliveries over 60
conversations, each conversation's messages numbered. Linq does not promise
to deliver a chat's messages in order; the inbox's promise is the order of
*acceptance*, so this sender sends a chat's next message only once the one
before was acknowledged (acceptance order = numbering) while the 60 chats run
interleaved. 30% of deliveries go a second time to the *other* receiver,
racing the first copy (or just after it); every attempt without a 2xx is
retried on Linq's schedule (divided by ten). Deliveries begin at 80 a second,
about what the workers handle on two cores, so the sending and the handling
overlap. Every 3-6 s the test SIGKILLs a random working worker and starts a
replacement (20 times at most, about a run's worth on an idle machine).

Asserted: every delivery acknowledged and every event handled (0 lost), and
exactly one ``queued`` answer per event across both receivers; at the
simulator every reply key created exactly one message and there is one reply
per event (0 doubled), each re-send answered with the first message; per
conversation, handler calls start in numbering order and each message's first
completion comes before the next message's first call (order kept across
kills, failures and takeovers); no dead letters, nothing left pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import resource
import signal
import socket
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import attrs
import httpx
import pytest

from adapters.linq.simulator import RETRY_DELAYS
from adapters.linq.webhook_events import parse_delivery
from caresupport_transport.inbound import EventStore, InboxState, open_event_store, reply_key
from tests.stores.conftest import NETWORKED, forget_namespace, fresh_namespace

from .figures import FIGURES
from .inbox_support import (
    Connection,
    InboxProcess,
    LinqSimulator,
    LogLine,
    NoAnswer,
    delivery_body,
    machine_busy_ticks,
    read_log,
    signed_headers,
    started_workers,
    wait_until,
)
from .webhooks import SECRET

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

EVENTS = 5_000
CONVERSATIONS = 60
RECEIVERS = 2
WORKERS = 4
DUPLICATE_RATE = 0.30
DUPLICATE_AFTER = (0.0, 0.2)
"""Seconds after the first copy began that the copy to the other receiver is sent."""
FAIL_RATE = 0.10
LEASE_SECONDS = 2.0
FIRST_RETRY_SECONDS = 0.1
POLL_SECONDS = 0.25
THINK_SECONDS = 0.02
"""The most a handler call thinks before replying (a kill can land in it)."""
KILL_EVERY = (3.0, 6.0)
MIN_KILLS = 5
MAX_KILLS = 20
"""About what a run on an idle two-core machine makes; on a busy one, each restart's
imports would otherwise slow the run, which would then make more kills."""
RATE = 80.0
"""Deliveries (first copies) begun per second, over all conversations."""
TIME_SCALE = 10.0
RETRY_WAITS = tuple(delay / TIME_SCALE for delay in RETRY_DELAYS)
ANSWER_DEADLINE = 10.0
DRAIN_DEADLINE = 360.0
"""Seconds the workers may take, after the last acknowledgement, to empty the inbox."""
STALL_DEADLINE = 60.0
"""Seconds the inbox may go without one entry fewer before the test fails."""
PROBE_DEADLINE = 60.0
WEBHOOK_PATH = "/linq/webhooks"


@attrs.frozen
class Delivery:
    event_id: str
    order_key: str
    number: int
    reply_key: str
    body: bytes = attrs.field(repr=False)


def make_chats(chat_ids: list[str], people: list[str], run: str) -> list[list[Delivery]]:
    """``EVENTS`` deliveries spread over the chats, numbered within each chat."""
    chats: list[list[Delivery]] = [[] for _ in chat_ids]
    for n in range(EVENTS):
        index = n % len(chat_ids)
        number = len(chats[index])
        event_id = f"evt_{run}_{index:02d}_{number:04d}"
        body = delivery_body(
            event_id=event_id,
            message_id=str(uuid.uuid4()),
            chat_id=chat_ids[index],
            person=people[index],
            text=f"message {number} in chat {index}",
        )
        event = parse_delivery(body)
        chats[index].append(
            Delivery(
                event_id,
                f"conversation:{chat_ids[index]}",
                number,
                reply_key(event, "answer"),
                body,
            )
        )
    return chats


@attrs.define
class Linq:
    """Sends each chat's deliveries in order, some twice to the other receiver, retrying.

    Each chat keeps one connection to each receiver (see ``Connection``).
    """

    ports: list[int]
    rng: random.Random
    answers: Counter[str] = attrs.Factory(Counter)
    queued: Counter[str] = attrs.Factory(Counter)
    acknowledged: set[str] = attrs.Factory(set)
    given_up: set[str] = attrs.Factory(set)
    duplicates_sent: int = 0
    attempts: int = 0
    _next_start: float = 0.0

    async def run(self, chats: list[list[Delivery]]) -> None:
        self._next_start = time.monotonic()
        async with asyncio.TaskGroup() as tasks:
            for chat in chats:
                tasks.create_task(self.send_chat(chat))

    async def send_chat(self, chat: list[Delivery]) -> None:
        connections = [Connection("127.0.0.1", port) for port in self.ports]
        try:
            for delivery in chat:
                await self.take_turn()
                first = self.rng.randrange(len(connections))
                copies = [self.deliver(connections[first], delivery, 0.0)]
                if self.rng.random() < DUPLICATE_RATE:
                    other = connections[(first + 1) % len(connections)]
                    copies.append(self.deliver(other, delivery, self.rng.uniform(*DUPLICATE_AFTER)))
                    self.duplicates_sent += 1
                await asyncio.gather(*copies)
        finally:
            for connection in connections:
                connection.close()

    async def take_turn(self) -> None:
        """Wait for the next start: ``RATE`` first copies begin per second, over every chat."""
        now = time.monotonic()
        start = max(self._next_start, now)  # a turn missed is not made up in a burst
        self._next_start = start + 1 / RATE
        await asyncio.sleep(start - now)

    async def deliver(self, connection: Connection, delivery: Delivery, after: float) -> None:
        await asyncio.sleep(after)
        for wait in (0.0, *RETRY_WAITS):
            await asyncio.sleep(wait)
            if await self.attempt(connection, delivery):
                self.acknowledged.add(delivery.event_id)
                return
        self.given_up.add(delivery.event_id)

    async def attempt(self, connection: Connection, delivery: Delivery) -> bool:
        """One signed POST (signed afresh, as Linq does); whether it was acknowledged."""
        self.attempts += 1
        headers = signed_headers(delivery.body, delivery.event_id)
        try:
            status, body = await connection.post(
                WEBHOOK_PATH, delivery.body, headers, within=ANSWER_DEADLINE
            )
        except NoAnswer as exc:
            self.answers[f"no answer ({exc})"] += 1
            return False
        answer = json.loads(body)
        outcome = answer.get("status") or answer.get("error")
        self.answers[f"{status} {outcome}"] += 1
        if outcome == "queued":
            self.queued[delivery.event_id] += 1
        return 200 <= status < 300


@attrs.define
class Workers:
    """``WORKERS`` worker processes; :meth:`kill_at_random` SIGKILLs one and starts another."""

    argv: list[str]
    store_url: str
    log: Path
    directory: Path
    rng: random.Random
    running: list[InboxProcess] = attrs.Factory(list)
    killed: list[tuple[int, float]] = attrs.Factory(list)
    """(pid, Unix time) of every kill."""
    all: list[InboxProcess] = attrs.Factory(list)

    def spawn(self) -> InboxProcess:
        output = self.directory / f"worker-{len(self.all) + 1}.out"
        process = InboxProcess(self.argv, self.store_url, output).start()
        self.all.append(process)
        return process

    def start(self) -> None:
        self.running = [self.spawn() for _ in range(WORKERS)]

    def up(self) -> list[InboxProcess]:
        """The running workers that are working (not still starting)."""
        started = started_workers(self.log)
        return [w for w in self.running if w.pid in started]

    def kill_at_random(self) -> None:
        """SIGKILL a random working worker (one still importing proves nothing); start another."""
        candidates = self.up()
        if not candidates:
            return
        victim = self.rng.choice(candidates)
        victim.kill()
        self.killed.append((victim.pid, time.time()))
        with (self.directory / "kills.txt").open("a") as kills:  # for a post-mortem
            kills.write(f"{victim.pid} {self.killed[-1][1]:.6f}\n")
        self.running[self.running.index(victim)] = self.spawn()

    async def keep_killing(self, done: asyncio.Event) -> None:
        while not done.is_set() and len(self.killed) < MAX_KILLS:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self.rng.uniform(*KILL_EVERY))
            if not done.is_set():
                self.kill_at_random()

    async def stop(self) -> list[int | None]:
        """SIGTERM each once it is working (a worker still importing would die of it)."""

        async def all_up() -> bool:
            return len(self.up()) == len(self.running)

        await wait_until(all_up, within=PROBE_DEADLINE, what="the last workers starting")
        return [w.stop() for w in self.running]

    def said(self, words: str) -> int:
        """How many lines of the workers' output (their log records) contain ``words``."""
        return sum(w.tail(None).count(words) for w in self.all)

    def tails(self) -> str:
        return "\n".join(f"--- worker {w.pid}:\n{w.tail()}" for w in self.all[-WORKERS:])


@attrs.define
class Attempt:
    """One handler call, as the log tells it."""

    pid: int
    order_key: str
    event_id: str
    started: float
    ended: float | None = None
    replied: bool = False
    outcome: str | None = None
    """``"D"`` handled, ``"before"`` / ``"after"`` failed, ``None`` cut off (killed)."""


def attempts_of(lines: list[LogLine]) -> dict[str, list[Attempt]]:
    """Every handler call per event, in the order the calls started."""
    calls: dict[str, list[Attempt]] = defaultdict(list)
    open_calls: dict[tuple[int, int], Attempt] = {}
    for line in lines:
        slot = (line.pid, line.call)
        if line.phase == "S":
            open_calls[slot] = Attempt(line.pid, line.order_key, line.event_id, line.at)
            calls[line.event_id].append(open_calls[slot])
        elif line.phase == "R":
            open_calls[slot].replied = True
        else:
            attempt = open_calls.pop(slot)
            attempt.outcome = "D" if line.phase == "D" else line.extra
            attempt.ended = line.at
    return calls


def order_violations(lines: list[LogLine], numbers: dict[str, int]) -> list[str]:
    """Per order key: calls started out of numbering order, or before the one before was done."""
    violations = []
    last_started: dict[str, int] = {}
    first_done: dict[str, set[int]] = defaultdict(set)
    for line in lines:
        number = numbers[line.event_id]
        if line.phase == "S":
            previous = last_started.get(line.order_key, -1)
            if number < previous:
                violations.append(f"{line.order_key}: {number} started after {previous}")
            if number > 0 and number - 1 not in first_done[line.order_key]:
                violations.append(f"{line.order_key}: {number} began before {number - 1} was done")
            last_started[line.order_key] = max(previous, number)
        elif line.phase == "D":
            first_done[line.order_key].add(number)
    return violations


def overlapping_calls(calls: dict[str, list[Attempt]], kills: dict[int, float]) -> list[str]:
    """Calls on one order key that began while another call on it was still running."""
    spans: dict[str, list[tuple[float, float, Attempt]]] = defaultdict(list)
    for attempts in calls.values():
        for attempt in attempts:
            end = attempt.ended or kills.get(attempt.pid, float("inf"))
            spans[attempt.order_key].append((attempt.started, end, attempt))
    overlaps = []
    for key_spans in spans.values():
        key_spans.sort(key=lambda span: span[0])
        latest: tuple[float, float, Attempt] | None = None
        for span in key_spans:
            if latest is not None and span[0] < latest[1]:
                earlier, later = latest[2], span[2]
                overlaps.append(
                    f"{later.event_id} in {later.pid} began {later.started - earlier.started:.2f} s"
                    f" after {earlier.event_id} in {earlier.pid} "
                    f"({'killed' if earlier.pid in kills else 'alive'}, outcome {earlier.outcome})"
                )
            if latest is None or span[1] > latest[1]:
                latest = span
    return overlaps


async def until_empty(store: EventStore, workers: Workers) -> None:
    """Wait for the workers to empty the inbox; fail early, saying what waits, if it stalls."""
    deadline = time.monotonic() + DRAIN_DEADLINE
    last_change, pending = time.monotonic(), -1
    while (stats := await store.stats(now=datetime.now(UTC))).pending:
        if stats.pending != pending:
            last_change, pending = time.monotonic(), stats.pending
        stalled = time.monotonic() - last_change > STALL_DEADLINE
        if stalled or time.monotonic() > deadline:
            waiting = await store.entries(state=InboxState.PENDING, limit=10)
            raise AssertionError(
                f"the inbox is not emptying ({'stalled' if stalled else 'too slow'}): {stats}\n"
                + "\n".join(
                    f"{e.id} {e.order_key} attempts={e.attempts} due={e.due_at:%T} "
                    f"error={(e.last_error or '').splitlines()[:1]}"
                    for e in waiting
                )
                + f"\n{workers.tails()}"
            )
        await asyncio.sleep(0.5)


@pytest.fixture(params=NETWORKED)
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def shared_store(
    store_kind: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, str, EventStore]]:
    """The server's URL, a fresh namespace, and the test's own store in it (created first)."""
    url: str = request.getfixturevalue(f"{store_kind}_url")
    namespace = fresh_namespace()
    store = await open_event_store(url, namespace=namespace)
    try:
        yield url, namespace, store
    finally:
        await store.close()
        forget_namespace(store_kind, url, namespace)


@contextlib.contextmanager
def listening_sockets(count: int) -> Iterator[list[socket.socket]]:
    sockets = []
    try:
        for _ in range(count):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            listener.bind(("127.0.0.1", 0))
            listener.listen(1024)
            sockets.append(listener)
        yield sockets
    finally:
        for listener in sockets:
            listener.close()


async def test_receivers_and_workers_killed_at_random_lose_nothing_double_no_reply_keep_order(
    store_kind: str, shared_store: tuple[str, str, EventStore], tmp_path: Path
) -> None:
    url, namespace, store = shared_store
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:8]
    log = tmp_path / "handled.log"
    simulator = LinqSimulator(tmp_path / "simulator.out")
    receivers: list[InboxProcess] = []
    workers = Workers(
        [
            "work",
            *("--namespace", namespace, "--log", str(log)),
            *("--simulator", simulator.url, "--token", simulator.token, "--seed", str(seed)),
            *("--fail-rate", str(FAIL_RATE), "--think", str(THINK_SECONDS)),
            *("--lease", str(LEASE_SECONDS), "--first-delay", str(FIRST_RETRY_SECONDS)),
            *("--poll-interval", str(POLL_SECONDS)),
        ],
        url,
        log,
        tmp_path,
        rng,
    )
    began = time.monotonic()
    with listening_sockets(RECEIVERS) as listeners:
        try:
            await simulator.start()
            people = [f"+1651555{n:04d}" for n in range(CONVERSATIONS)]
            chat_ids = [await simulator.open_chat(person) for person in people]
            chats = make_chats(chat_ids, people, run)
            deliveries = [d for chat in chats for d in chat]
            for n, listener in enumerate(listeners):
                fd = listener.fileno()
                argv = ["receive", "--fd", str(fd), "--namespace", namespace, "--secret", SECRET]
                output = tmp_path / f"receiver-{n}.out"
                receivers.append(InboxProcess(argv, url, output, pass_fds=(fd,)).start())
            workers.start()
            ports = [listener.getsockname()[1] for listener in listeners]
            async with httpx.AsyncClient(timeout=PROBE_DEADLINE, trust_env=False) as http:
                for port, receiver in zip(ports, receivers, strict=True):
                    probe = await http.get(f"http://127.0.0.1:{port}{WEBHOOK_PATH}")
                    assert 405 == probe.status_code, receiver.tail()

            linq = Linq(ports, rng)
            done = asyncio.Event()
            killing = asyncio.create_task(workers.keep_killing(done))
            sending = time.monotonic()
            own_cpu = _own_cpu()
            machine = machine_busy_ticks()
            try:
                await linq.run(chats)
                sent = time.monotonic() - sending

                await until_empty(store, workers)
            finally:
                done.set()
                await killing
            drained = time.monotonic() - sending
            own_cpu = _own_cpu() - own_cpu
            machine = tuple(b - a for a, b in zip(machine, machine_busy_ticks(), strict=True))
            stats = await store.stats(now=datetime.now(UTC))
            exits = await workers.stop()
            state = await simulator.state()
        finally:
            for process in (*receivers, *workers.running):
                process.stop()
            simulator.stop()
    elapsed = time.monotonic() - began

    lines = [line for line in read_log(log) if line.phase != "W"]
    calls = attempts_of(lines)
    numbers = {d.event_id: d.number for d in deliveries}
    event_ids = set(numbers)
    killed_pids = {pid for pid, _ in workers.killed}
    handled = {line.event_id for line in lines if line.phase == "D"}
    done_twice = Counter(line.event_id for line in lines if line.phase == "D")
    rehandled_after_kill = {
        event_id
        for event_id, attempts in calls.items()
        if any(a.outcome in (None, "D") and a.pid in killed_pids for a in attempts[:-1])
    }
    reply_ids: dict[str, set[str]] = defaultdict(set)
    for line in lines:
        if line.phase == "R":
            reply_ids[line.event_id].add(line.extra)
    by_key: dict[str, int] = state["messages_by_idempotency_key"]
    sends = state["requests"].get("POST /v3/chats/{chatId}/messages", 0)
    outcomes = Counter(a.outcome for attempts in calls.values() for a in attempts)
    cut_after_reply = sum(
        1 for attempts in calls.values() for a in attempts if a.replied and a.outcome is None
    )
    violations = order_violations(lines, numbers)
    overlaps = overlapping_calls(calls, dict(workers.killed))
    (tmp_path / "overlaps.txt").write_text("".join(f"{line}\n" for line in overlaps))
    FIGURES.record(
        f"inbox, many processes ({store_kind})",
        seed=seed,
        processes=f"{RECEIVERS} receivers, {WORKERS} workers (lease {LEASE_SECONDS:g} s), "
        "1 simulator",
        deliveries=f"{len(deliveries)} over {CONVERSATIONS} conversations",
        duplicates_sent_to_the_other_receiver=linq.duplicates_sent,
        attempts=linq.attempts,
        answers=", ".join(f"{k}: {v}" for k, v in sorted(linq.answers.items())),
        worker_kills=len(workers.killed),
        worker_processes_started=len(workers.all),
        handler_calls=sum(len(a) for a in calls.values()),
        handler_failures=f"{outcomes['before']} before replying, {outcomes['after']} after",
        calls_cut_by_a_kill=f"{outcomes[None]} ({cut_after_reply} after the reply was confirmed)",
        events_rehandled_after_a_kill=len(rehandled_after_kill),
        events_handled_twice=sum(1 for n in done_twice.values() if n > 1),
        overlapping_calls_on_one_key=len(overlaps),
        leases_lost_by_a_live_worker=workers.said("was lost while the handler ran"),
        ends_refused_by_fencing=workers.said("was taken over by another worker"),
        replies_confirmed_to_workers=sum(1 for line in lines if line.phase == "R"),
        reply_sends_reaching_the_simulator=sends,
        messages_created=state["messages_created"],
        replies_deduplicated_by_the_simulator=sends - state["messages_created"],
        lost=len(event_ids - handled),
        seconds=f"{elapsed:.1f} (sending {sent:.1f}, until the inbox was empty {drained:.1f})",
        events_per_second=f"{len(deliveries) / drained:.0f}",
        cpu_seconds=f"test (Linq) {own_cpu:.0f}, receivers "
        f"{sum(r.cpu for r in receivers):.0f}, workers {sum(w.cpu for w in workers.all):.0f}, "
        f"simulator {simulator.cpu:.0f}; machine busy {100 * machine[0] / max(machine[1], 1):.0f}%",
    )

    assert set() == linq.given_up
    assert event_ids == linq.acknowledged
    assert all(times == 1 for times in linq.queued.values()), "an event was queued twice"
    assert set() == event_ids - handled, f"lost; workers said:\n{workers.tails()}"
    assert set(calls) <= event_ids
    assert (0, 0) == (stats.pending, stats.dead)
    assert {d.reply_key for d in deliveries} == set(by_key), "a reply missing, or one too many"
    assert {1} == set(by_key.values()), "a reply key created two messages"
    assert len(deliveries) == state["messages_created"]
    assert all(len(ids) == 1 for ids in reply_ids.values()), "a re-send made a new message"
    assert [] == violations[:20]
    assert len(workers.killed) >= MIN_KILLS, "too few kills to prove anything"
    assert outcomes[None] > 0, "no kill landed in a handler call"
    assert all(code == 0 for code in exits), f"a worker did not stop cleanly: {exits}"


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
