"""A real outbox worker process, SIGKILLed every 1-3 s, sends each of 2,000 intents exactly once.

The test serves the Linq simulator with uvicorn on 127.0.0.1 in its own event
loop, opens 50 chats through it, then turns faults on for the send route: 20%
5xx (500 and 503), 10% 429 (``Retry-After: 1``), 5% dropped connections and
5% hangs of 1.5 s that the client's 0.5 s deadline cuts off; except for 429,
each fault strikes before or after the message is created, by a seeded coin.

It records 2,000 intents (40 per chat) in a SQLite outbox store, the first
half before the worker starts and the rest while it runs. The worker
(``outbox_process.py``: ``OutboxWorker`` over ``LinqTransport.from_config``)
runs in a subprocess on the same store file, with two client attempts per
send and a retry budget below ``Retry-After``, so the outbox's own retries
(50 ms doubling to 0.5 s) carry most faults. Every 1-3 s (at random) the test
SIGKILLs it and starts a new one; the dead worker's conversations wait for
its 2 s lease to run out.

Asserted: every intent ends sent (0 lost, 0 failed); the simulator created
exactly one message per key, for exactly the 2,000 keys, each the message
the outbox recorded; each chat's messages are in the order the intents were
recorded; and the kills and faults were felt (sends repeated under one key).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import httpx
import pytest

from adapters.linq import LinqConfig, LinqTransport
from adapters.linq.simulator import BASE_PATH, Faults, FaultTiming, Simulator
from adapters.memory import RecipientKind, World
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.handles import Handle
from caresupport_transport.inbound import SqliteEventStore
from caresupport_transport.outbound import DeliveryState, Outbox
from tests.e2e.servers import listening_socket, serving

from .figures import FIGURES
from .sending import SEND_ROUTE

pytest.importorskip("uvicorn", reason="the outbox kill test serves the simulator with uvicorn")

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

INTENTS = 2_000
CHATS = 50
RECORDED_BEFORE = INTENTS // 2
"""Intents recorded before the first worker starts; the rest are recorded while workers run."""
KILL_EVERY = (1.0, 3.0)
"""Seconds between two kills, drawn uniformly."""
HANG_SECONDS = 1.5
CLIENT_TIMEOUT = 0.5
CLIENT_ATTEMPTS = 2
"""``LinqConfig.max_attempts``: one retry in the client; the outbox retries the rest."""
LEASE_SECONDS = 2.0
DEADLINE = 240.0
"""Seconds the whole run may take before the test gives up on it."""
SEED = 20_260_412
FAULTS = Faults(
    rate_500=0.10,
    rate_503=0.10,
    rate_429=0.10,
    retry_after=1.0,
    rate_drop=0.05,
    rate_hang=0.05,
    hang_seconds=HANG_SECONDS,
    timing=FaultTiming.EITHER,
    routes=[SEND_ROUTE],
    seed=SEED,
)
WORKER = Path(__file__).with_name("outbox_process.py")
ROOT = Path(__file__).resolve().parents[2]


def key_of(n: int) -> str:
    return f"ob-kill-{n:05d}"


def text_of(n: int) -> str:
    return f"Reminder {n}: the 9am tablets are in the blue box."


class QuietSimulatedFaults(logging.Filter):
    """Keeps uvicorn from logging a traceback for each answer the simulator breaks on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, httpx.TransportError) and "simulated" in str(error))


@attrs.define
class WorkerProcess:
    """The outbox worker, started again after each kill on the same store and attempt log."""

    db: Path
    attempts: Path
    output: Path
    base_url: str
    simulator: Simulator
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    def start(self) -> None:
        paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        with self.output.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(WORKER),
                    *("--db", str(self.db), "--attempts", str(self.attempts)),
                    *("--base-url", self.base_url, "--token", self.simulator.token),
                    *("--phone", self.simulator.phone, "--timeout", str(CLIENT_TIMEOUT)),
                    *("--lease", str(LEASE_SECONDS), "--client-attempts", str(CLIENT_ATTEMPTS)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=env,
            )
        self.starts += 1

    def kill(self) -> None:
        assert self.process is not None
        assert self.process.poll() is None, f"the worker died on its own:\n{self.tail()}"
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def tail(self) -> str:
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        return text[-3000:]


@contextlib.asynccontextmanager
async def simulator_on_loopback() -> AsyncIterator[tuple[Simulator, str]]:
    """The simulator (real sleeps, so hangs hang) under uvicorn; yields it and its API base URL."""
    quiet = QuietSimulatedFaults()
    logging.getLogger("uvicorn.error").addFilter(quiet)
    simulator = Simulator(world=World(seed=SEED), seed=SEED)
    try:
        with listening_socket() as api_socket:
            async with serving(simulator.app, api_socket) as origin:
                yield simulator, origin + BASE_PATH
    finally:
        await simulator.aclose()
        logging.getLogger("uvicorn.error").removeFilter(quiet)


async def open_chats(simulator: Simulator, base_url: str) -> list[str]:
    """``CHATS`` one-to-one chats, opened over the socket before any fault."""
    config = LinqConfig(api_token=simulator.token, phone_number=simulator.phone, base_url=base_url)
    chat_ids = []
    async with LinqTransport.from_config(config) as transport:
        for n in range(CHATS):
            handle = simulator.add_recipient(f"+1651556{n:04d}", RecipientKind.IMESSAGE)
            started = await transport.start_conversation(
                [Handle(str(handle))], OutgoingMessage.of_text("Hello from CareSupport")
            )
            chat_ids.append(started.conversation.id)
    return chat_ids


async def record(outbox: Outbox, chat_ids: list[str], numbers: range) -> None:
    for n in numbers:
        intent_id = await outbox.send_message(
            chat_ids[n % CHATS], OutgoingMessage.of_text(text_of(n)), idempotency_key=key_of(n)
        )
        assert key_of(n) == intent_id


async def settled(outbox: Outbox) -> bool:
    stats = await outbox.stats()
    return sum(stats.values()) == INTENTS and stats[DeliveryState.QUEUED] == 0


async def kill_until_settled(
    outbox: Outbox, worker: WorkerProcess, recording: asyncio.Task[None], rng: random.Random
) -> None:
    """SIGKILL and restart the worker every 1-3 s until every intent has left the queue."""
    next_kill = time.monotonic() + rng.uniform(*KILL_EVERY)
    while not (recording.done() and await settled(outbox)):
        if recording.done() and recording.exception() is not None:
            return  # the caller raises it
        assert worker.process is not None
        assert worker.process.poll() is None, f"the worker died on its own:\n{worker.tail()}"
        if time.monotonic() >= next_kill:
            worker.kill()
            worker.start()
            next_kill = time.monotonic() + rng.uniform(*KILL_EVERY)
        await asyncio.sleep(0.1)


async def test_a_worker_killed_every_few_seconds_sends_every_intent_exactly_once(
    tmp_path: Path,
) -> None:
    kill_seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(kill_seed)
    started = time.monotonic()
    async with simulator_on_loopback() as (simulator, base_url):
        chat_ids = await open_chats(simulator, base_url)
        simulator.counters.reset()
        simulator.faults.configure(FAULTS)

        store = SqliteEventStore(tmp_path / "outbox.sqlite")
        outbox = Outbox(store)
        worker = WorkerProcess(
            tmp_path / "outbox.sqlite",
            tmp_path / "attempts.log",
            tmp_path / "worker.out",
            base_url,
            simulator,
        )
        try:
            await record(outbox, chat_ids, range(RECORDED_BEFORE))
            worker.start()
            recording = asyncio.create_task(
                record(outbox, chat_ids, range(RECORDED_BEFORE, INTENTS))
            )
            try:
                async with asyncio.timeout(DEADLINE):
                    await kill_until_settled(outbox, worker, recording, rng)
            except TimeoutError:
                pytest.fail(
                    f"not settled in {DEADLINE:.0f} s: {await outbox.stats()}\n{worker.tail()}"
                )
            await recording
        finally:
            worker.stop()
        elapsed = time.monotonic() - started

        statuses = [await outbox.status(key_of(n)) for n in range(INTENTS)]
        stats = await outbox.stats()
        await store.close()
        counters = simulator.counters
        world = simulator.world

        attempts = Counter(worker.attempts.read_text().split())
        texts = {text_of(n): key_of(n) for n in range(INTENTS)}
        created = [m for m in world.messages.values() if m.text in texts]
        by_chat: dict[str, list[str]] = {chat_id: [] for chat_id in chat_ids}
        for message in created:
            by_chat[message.conversation_id].append(texts[message.text or ""])
        requests = [r for r in counters.log if r.route == SEND_ROUTE]
        took_effect = [r for r in requests if r.fault is None or r.fault.endswith(":after")]

        FIGURES.record(
            "outbox worker process SIGKILLed every 1-3 s (SQLite store, simulator on loopback)",
            kill_seed=kill_seed,
            intents=INTENTS,
            recorded_before_the_first_worker=RECORDED_BEFORE,
            chats=CHATS,
            client_attempts_per_send=CLIENT_ATTEMPTS,
            kills=worker.kills,
            worker_starts=worker.starts,
            outbox_attempts=sum(attempts.values()),
            intents_sent_more_than_once=sum(1 for n in attempts.values() if n > 1),
            most_attempts_of_one_intent=max(attempts.values()),
            http_send_requests=counters.requests[SEND_ROUTE],
            all_api_requests=counters.total_requests,
            requests_that_took_effect=len(took_effect),
            duplicates_prevented=len(took_effect) - len(created),
            faults_injected=sum(counters.faults.values()),
            faults_by_kind=dict(sorted(counters.faults.items())),
            messages_created=len(created),
            end_states={s.value: n for s, n in stats.items() if n},
            attempts_on_the_intents_statuses=sum(s.attempts for s in statuses if s is not None),
            wall_seconds=f"{elapsed:.1f}",
        )

    # Nothing lost: every intent left the queue sent, none failed.
    assert INTENTS == sum(stats.values())
    assert {DeliveryState.SENT: INTENTS} == {s: n for s, n in stats.items() if n}, worker.tail()
    # Nothing twice: one message per key, for exactly the intents' keys.
    assert {key_of(n) for n in range(INTENTS)} == set(counters.messages_by_idempotency_key)
    assert {1} == set(counters.messages_by_idempotency_key.values())
    assert INTENTS == len(created)
    # Each intent names the message the simulator made under its key.
    for status in statuses:
        assert status is not None
        assert (world.idempotency_keys[status.intent.id],) == status.message_ids
    # Sends to one conversation went one at a time, in the order recorded.
    assert all(keys == sorted(keys) for keys in by_chat.values())
    # The kills and the faults were felt.
    assert worker.kills >= 5
    assert sum(attempts.values()) > INTENTS
    assert len(took_effect) > len(created)
