"""Turns across real processes, workers SIGKILLed: every text in a turn, in order, none lost.

On PostgreSQL, and again on Redis (one namespace per run), three worker
processes (``turn_process.py``: ``InboxWorker(turns=Coalescing(quiet=0.4 s,
max_wait=2 s))``, lease 5 s, a handler that thinks up to 0.5 s and fails 10%
of its turns) share one inbox. The test texts in bursts on 16 conversations
(1-4 texts 0.05-0.3 s apart, bursts 0.5-2.5 s apart) straight into the store,
and every 1.5-3 s SIGKILLs a random worker and starts a replacement.

Asserted, per conversation, from the workers' fsynced logs: every text is in a
turn the handler completed (0 lost), each turn holds consecutive texts in
order and no turn starts past a text not yet handled (order kept); a text is
in two completed turns only when the earlier one's process was killed before
it could acknowledge (0 doubled otherwise); ``check_superseded`` answered yes
exactly when a later text had been stored before it asked (and no when none
had); bursts were coalesced (fewer turns than texts); no dead letters, nothing
left pending.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import attrs
import pytest

from caresupport_transport.inbound import Inbox, open_event_store
from tests.stores.conftest import NETWORKED, forget_namespace, fresh_namespace
from tests.unit.inbound.builders import received

from .figures import FIGURES

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

CONVERSATIONS = 16
BURSTS = 4
WORKERS = 3
KILL_EVERY = (1.5, 3.0)
DRAIN_DEADLINE = 60.0
PROCESS = Path(__file__).with_name("turn_process.py")


@attrs.frozen
class Sent:
    event_id: str
    number: int
    began: float
    stored: float


@attrs.frozen
class Done:
    pid: int
    at: float
    ids: tuple[str, ...]
    asked_at: float
    superseded: bool


@attrs.define
class Workers:
    """The worker processes: started, SIGKILLed, replaced, stopped."""

    args: list[str]
    env: dict[str, str]
    running: list[subprocess.Popen[bytes]] = attrs.Factory(list)
    killed: set[int] = attrs.Factory(set)

    def start(self) -> None:
        self.running.append(
            subprocess.Popen([sys.executable, str(PROCESS), *self.args], env=self.env)
        )

    def kill_one(self, rng: random.Random) -> None:
        victim = self.running.pop(rng.randrange(len(self.running)))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.killed.add(victim.pid)
        self.start()

    def stop(self) -> None:
        for process in self.running:
            process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()


def read_done(log: Path) -> dict[str, list[Done]]:
    """The completed turns per order key, in the order they completed."""
    done: dict[str, list[Done]] = defaultdict(list)
    for line in log.read_text().splitlines():
        fields = line.split()
        if fields[0] == "D":
            _, pid, at, key, ids, asked_at, superseded = fields
            done[key].append(
                Done(int(pid), float(at), tuple(ids.split(",")), float(asked_at), superseded == "1")
            )
    return done


@pytest.mark.parametrize("backend", NETWORKED)
async def test_turns_across_killed_worker_processes_lose_double_and_reorder_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue(f"{backend}_url")
    namespace = fresh_namespace()
    store = await open_event_store(url, namespace=namespace)
    inbox = Inbox(store)
    rng = random.Random(20261203)
    log = tmp_path / "turns.log"
    workers = Workers(
        ["--namespace", namespace, "--log", str(log), "--seed", backend],
        {**os.environ, "CARESUPPORT_STORE_URL": url},
    )
    sent: dict[str, list[Sent]] = defaultdict(list)

    async def chat(index: int) -> None:
        key = f"conversation:chat-{index}"
        number = 0
        await asyncio.sleep(rng.uniform(0, 1.0))
        for _ in range(BURSTS):
            for _ in range(rng.randint(1, 4)):
                event_id = f"c{index}m{number}"
                began = time.time()
                await inbox.dispatch(received(event_id, conversation=f"chat-{index}"))
                sent[key].append(Sent(event_id, number, began, time.time()))
                number += 1
                await asyncio.sleep(rng.uniform(0.05, 0.3))
            await asyncio.sleep(rng.uniform(0.5, 2.5))

    async def killer(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=rng.uniform(*KILL_EVERY))
            except TimeoutError:
                workers.kill_one(rng)

    try:
        for _ in range(WORKERS):
            workers.start()
        began = time.monotonic()
        stop = asyncio.Event()
        killing = asyncio.create_task(killer(stop))
        await asyncio.gather(*(chat(index) for index in range(CONVERSATIONS)))
        stop.set()
        await killing
        for _ in range(int(DRAIN_DEADLINE / 0.2)):
            stats = await store.stats(now=inbox.clock())
            if not stats.pending:
                break
            await asyncio.sleep(0.2)
        elapsed = time.monotonic() - began
        workers.stop()
    finally:
        workers.stop()
        await store.close()
        forget_namespace(backend, url, namespace)

    assert (0, 0) == (stats.pending, stats.dead), "everything handled, no dead letters"
    done = read_done(log)
    texts = sum(len(messages) for messages in sent.values())
    completed_turns = 0
    doubled = 0
    superseded = 0
    for key, messages in sent.items():
        turns = done[key]
        order = {m.event_id: m.number for m in messages}
        covered = -1
        last_turn_of: dict[str, Done] = {}
        for turn in turns:
            numbers = [order[i] for i in turn.ids]
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), turn
            assert numbers[0] <= covered + 1, f"{key}: {turn.ids} started past a text not handled"
            covered = max(covered, numbers[-1])
            for event_id in turn.ids:
                earlier = last_turn_of.get(event_id)
                if earlier is not None:
                    assert earlier.pid in workers.killed, f"{key}: {event_id} handled twice"
                    doubled += 1
                last_turn_of[event_id] = turn
            later = [m for m in messages if m.number > numbers[-1]]
            superseded += turn.superseded
            if turn.superseded:
                assert any(m.began < turn.at for m in later), f"{key}: {turn} superseded by nothing"
            else:
                assert not any(m.stored < turn.asked_at for m in later), f"{key}: {turn} missed one"
        assert [m.event_id for m in messages] == sorted(last_turn_of, key=order.__getitem__)
        completed_turns += len({turn.ids for turn in turns})
    assert completed_turns < texts * 0.75, "bursts were coalesced"
    FIGURES.record(
        f"turns on {backend}",
        texts=texts,
        turns=completed_turns,
        kills=len(workers.killed),
        texts_re_handled_after_a_kill=doubled,
        turns_superseded=superseded,
        seconds=f"{elapsed:.1f}",
    )
