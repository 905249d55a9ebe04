"""A real receiver process, SIGKILLed at random under load, loses nothing and repeats nothing.

The receiver (``kill_receiver.py``: the production verifier, dispatcher,
``SqliteEventStore`` and receiver under uvicorn as ``webhooks serve``
configures it) runs in a subprocess on one SQLite file. The test plays Linq:
it sends 300 signed ``message.received`` deliveries, a bounded number at a
time, and retries every attempt that gets no 2xx on Linq's schedule; 15% of
events it sends again 0.5-3 s after they were acknowledged, as Linq now and
then does. Five times, at a random moment while deliveries flow, it SIGKILLs
the process and starts a new one on the same store file and the same
listening socket.

Time is compressed: Linq's waits (2, 4, 8, 16, 30 s), its 10 s answer
deadline and the dispatcher's 20 s claim lease are all divided by
``TIME_SCALE`` (10), so the whole retry window is 6 s instead of a minute.
(A tenth, not a twentieth: a restart takes a real 0.5-2 s on a loaded
two-core machine, which a 3 s window would make the thing under test.)

The handler appends each event id to a file and fsyncs it before returning,
so the file holds every effect that happened. Asserted: every event was
acknowledged and is in the file (0 lost), and an event is in the file twice
only if it was in flight (its delivery begun, not yet acknowledged) at a kill:
the documented window between the handler's effect and the done mark.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import attrs
import httpx
import pytest

from adapters.linq.simulator import RETRY_DELAYS
from adapters.linq.webhooks import sign_standard
from caresupport_transport.inbound import DEFAULT_LEASE

from .figures import FIGURES
from .webhooks import SECRET, EventDelivery, make_deliveries

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

EVENTS = 300
KILLS = 5
IN_FLIGHT = 32
"""Deliveries Linq has under way at once (first attempt begun, not yet settled)."""
RATE = 40.0
"""New deliveries begun per second."""
DUPLICATE_RATE = 0.15
DUPLICATE_AFTER = (0.5, 3.0)
"""Seconds after its first copy was acknowledged that a duplicate is sent."""
TIME_SCALE = 10.0
RETRY_WAITS = tuple(delay / TIME_SCALE for delay in RETRY_DELAYS)
ANSWER_DEADLINE = 10.0 / TIME_SCALE
LEASE_SECONDS = DEFAULT_LEASE.total_seconds() / TIME_SCALE
RESTART_DEADLINE = 20.0
"""Seconds a restarted receiver may take to answer at all before the test fails."""
RECEIVER = Path(__file__).with_name("kill_receiver.py")
ROOT = Path(__file__).resolve().parents[2]


@attrs.define
class Receiver:
    """The receiver process, restarted on the same socket, store and effect log."""

    listener: socket.socket
    db: Path
    log: Path
    output: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        fd = self.listener.fileno()
        with self.output.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(RECEIVER),
                    *("--fd", str(fd), "--db", str(self.db), "--log", str(self.log)),
                    *("--secret", SECRET, "--lease", str(LEASE_SECONDS)),
                ],
                pass_fds=[fd],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=env,
            )
        self.starts += 1

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self) -> str:
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        return text[-3000:]


@attrs.define
class Linq:
    """Sends each delivery until a 2xx, waiting ``RETRY_WAITS`` between attempts, or gives up.

    As Linq does now and then, it sends a ``DUPLICATE_RATE`` share of events a
    second time, a little after the first copy was acknowledged: a copy that
    reaches a restarted receiver is caught only by what the store remembered.
    """

    url: str
    receiver: Receiver
    deliveries: list[EventDelivery]
    kill_points: list[int]
    rng: random.Random
    under_way: Counter[str] = attrs.Factory(Counter)
    """Copies of each event whose delivery has begun and is not yet settled."""
    acknowledged: set[str] = attrs.Factory(set)
    given_up: set[str] = attrs.Factory(set)
    duplicates_sent: int = 0
    in_flight_at_kill: set[str] = attrs.Factory(set)
    in_flight_per_kill: list[int] = attrs.Factory(list)
    downtimes: list[float] = attrs.Factory(list)
    answers: Counter[str] = attrs.Factory(Counter)
    attempts: int = 0
    _killed_at: float = 0.0

    async def run(self) -> None:
        slots = asyncio.Semaphore(IN_FLIGHT)
        limits = httpx.Limits(max_connections=IN_FLIGHT * 2, max_keepalive_connections=IN_FLIGHT)
        async with (
            httpx.AsyncClient(limits=limits, timeout=ANSWER_DEADLINE, trust_env=False) as http,
            asyncio.TaskGroup() as tasks,
        ):
            restarting: asyncio.Task[None] | None = None
            for index, delivery in enumerate(self.deliveries):
                if index in self.kill_points:
                    if restarting is not None:
                        await restarting  # kill a receiver that is serving, not one starting
                    await asyncio.sleep(self.rng.uniform(0, 1 / RATE))
                    self.kill()
                    # Deliveries go on while the new process starts; they wait in the backlog.
                    restarting = tasks.create_task(self.restart(http))
                await slots.acquire()
                task = tasks.create_task(self.deliver(http, delivery))
                task.add_done_callback(lambda _: slots.release())
                if self.rng.random() < DUPLICATE_RATE:
                    tasks.create_task(self.deliver_again(http, delivery, task))
                await asyncio.sleep(1 / RATE)

    def kill(self) -> None:
        """SIGKILL the receiver and start a new one at once, noting what was in flight."""
        in_flight = {event_id for event_id, copies in self.under_way.items() if copies}
        self.in_flight_per_kill.append(len(in_flight))
        self.in_flight_at_kill |= in_flight
        self._killed_at = time.monotonic()
        self.receiver.kill()
        self.receiver.start()

    async def restart(self, http: httpx.AsyncClient) -> None:
        """Wait until the new receiver answers (the probe waits in the backlog meanwhile)."""
        probe = await http.get(self.url, timeout=RESTART_DEADLINE)
        assert 405 == probe.status_code, self.receiver.tail()
        self.downtimes.append(time.monotonic() - self._killed_at)

    async def deliver_again(
        self, http: httpx.AsyncClient, delivery: EventDelivery, first: asyncio.Task[None]
    ) -> None:
        await first
        await asyncio.sleep(self.rng.uniform(*DUPLICATE_AFTER))
        self.duplicates_sent += 1
        await self.deliver(http, delivery)

    async def deliver(self, http: httpx.AsyncClient, delivery: EventDelivery) -> None:
        self.under_way[delivery.event_id] += 1
        try:
            for wait in (0.0, *RETRY_WAITS):
                await asyncio.sleep(wait)
                if await self.attempt(http, delivery):
                    self.acknowledged.add(delivery.event_id)
                    return
            self.given_up.add(delivery.event_id)
        finally:
            self.under_way[delivery.event_id] -= 1

    async def attempt(self, http: httpx.AsyncClient, delivery: EventDelivery) -> bool:
        """One signed POST (signed afresh, as Linq does); whether it was acknowledged."""
        self.attempts += 1
        headers = sign_standard(
            delivery.body, SECRET, msg_id=delivery.event_id, timestamp=int(time.time())
        )
        try:
            response = await http.post(
                self.url,
                content=delivery.body,
                headers={**headers, "Content-Type": "application/json"},
            )
        except httpx.TransportError as exc:
            self.answers[type(exc).__name__] += 1
            return False
        answer = response.json()
        self.answers[f"{response.status_code} {answer.get('status') or answer.get('error')}"] += 1
        return response.is_success


def kill_points(rng: random.Random) -> list[int]:
    """``KILLS`` event indices spread over the stream, each at a random place in its stretch."""
    stretch = EVENTS // (KILLS + 1)
    return [stretch * (n + 1) + rng.randrange(-stretch // 3, stretch // 3) for n in range(KILLS)]


async def test_a_receiver_killed_at_random_under_load_loses_nothing_and_repeats_only_in_flight(
    tmp_path: Path,
) -> None:
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    deliveries = make_deliveries(EVENTS, senders=40, seed=20_260_410)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    receiver = Receiver(
        listener, tmp_path / "events.sqlite", tmp_path / "handled.log", tmp_path / "receiver.out"
    )
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/linq/webhooks"
    linq = Linq(url, receiver, deliveries, kill_points(rng), rng)
    started = time.monotonic()
    receiver.start()
    try:
        await linq.run()
    finally:
        receiver.stop()
        listener.close()
    elapsed = time.monotonic() - started

    lines = receiver.log.read_text().splitlines()
    handled = Counter(lines)
    sent = {d.event_id for d in deliveries}
    lost = sorted((sent - linq.acknowledged) | (sent - set(handled)))
    twice = {event_id for event_id, times in handled.items() if times > 1}
    FIGURES.record(
        "real-process kill test (time / 10)",
        seed=seed,
        deliveries=len(deliveries),
        duplicates_sent=linq.duplicates_sent,
        attempts=linq.attempts,
        kills=len(linq.downtimes),
        downtime_per_kill_s=" ".join(f"{d:.2f}" for d in linq.downtimes),
        in_flight_per_kill=" ".join(map(str, linq.in_flight_per_kill)),
        in_flight_at_a_kill=len(linq.in_flight_at_kill),
        handled_twice=len(twice),
        handled_twice_not_in_flight=len(twice - linq.in_flight_at_kill),
        lost=len(lost),
        given_up_by_linq=len(linq.given_up),
        answers=", ".join(f"{k}: {v}" for k, v in sorted(linq.answers.items())),
        seconds=f"{elapsed:.1f}",
    )

    assert (KILLS, KILLS + 1) == (len(linq.downtimes), receiver.starts)
    assert set(handled) <= sent, "the effect log holds an id nobody sent (a torn line?)"
    assert [] == lost, f"{len(lost)} events lost; the receiver said:\n{receiver.tail()}"
    assert set() == linq.given_up
    assert set() == twice - linq.in_flight_at_kill, "handled twice, though not in flight at a kill"
    assert all(times <= 1 + KILLS for times in handled.values())
    assert linq.attempts > len(deliveries), "no attempt failed: the kills were not felt"
