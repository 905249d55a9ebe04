"""A worker SIGKILLed between its reply and the acknowledgement: the person still gets one reply.

On SQLite, PostgreSQL and Redis. Three people write in (three chats), and the
first of them writes a second message; the real webhook app (``workers=False``)
stores the four events. Worker A (a process, ``inbox_process.py work
--hold-after-reply``, lease 2 s) takes the three chats and replies to each
person through a real ``LinqTransport`` to the Linq simulator process under
``reply_key(event, "answer")``; its handler then hangs, heartbeating, as if
about to return. Worker B starts beside it and, for twice the lease, may take
nothing (A's leases are live). Then the test SIGKILLs A, before it
acknowledged anything. B takes the chats over once A's leases run out, handles
the three events again, sends the three replies again under the same keys, and
goes on to the first person's second message.

Asserted: the simulator created exactly one message per reply key and answered
B's re-sends with A's messages; each person's thread holds one reply per
message they sent; B took nothing while A's leases were live and took over
within a lease of the kill; the second message was handled after the first;
the inbox is empty.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from adapters.linq.asgi import create_webhook_app
from adapters.linq.webhook_events import parse_delivery
from caresupport_transport.events import InboundEvent, MessageReceived
from caresupport_transport.inbound import EventStore, open_event_store, reply_key
from tests.stores.conftest import backend_url, forget_namespace, fresh_namespace

from .figures import FIGURES
from .inbox_support import (
    InboxProcess,
    LinqSimulator,
    delivery_body,
    read_log,
    signed_headers,
    wait_until,
)
from .webhooks import SECRET

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

LEASE_SECONDS = 2.0
WITHIN = 60.0
"""Seconds any awaited step may take on a loaded machine before the test fails."""
PEOPLE = ("+16515550101", "+16515550102", "+16515550103")


async def _never_handled(event: InboundEvent) -> None:
    raise AssertionError(f"the receiver only stores; it handled {event.event_id}")


@pytest.fixture(params=["sqlite", "postgres", "redis"])
async def shared_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, str, str, EventStore]]:
    """The kind, URL and namespace of a store the processes share, and the test's own."""
    kind: str = request.param
    url = backend_url(kind, request, tmp_path)
    namespace = fresh_namespace()
    store = await open_event_store(url, namespace=namespace)
    try:
        yield kind, url, namespace, store
    finally:
        await store.close()
        forget_namespace(kind, url, namespace)


async def test_a_worker_killed_after_replying_and_before_the_ack_does_not_text_twice(
    shared_store: tuple[str, str, str, EventStore], tmp_path: Path
) -> None:
    kind, url, namespace, store = shared_store
    log = tmp_path / "handled.log"
    simulator = LinqSimulator(tmp_path / "simulator.out")

    def worker(name: str, *options: str) -> InboxProcess:
        argv = [
            "work",
            *("--namespace", namespace, "--log", str(log), "--lease", str(LEASE_SECONDS)),
            *("--simulator", simulator.url, "--token", simulator.token, *options),
        ]
        return InboxProcess(argv, url, tmp_path / f"worker-{name}.out")

    first = worker("a", "--hold-after-reply")
    second = worker("b")
    try:
        await simulator.start()
        chats = [await simulator.open_chat(person) for person in PEOPLE]
        run = uuid.uuid4().hex[:8]
        messages = [(0, 0), (1, 0), (2, 0), (0, 1)]  # (person, their message number)
        bodies = [
            delivery_body(
                event_id=f"evt_{run}_{person}_{number}",
                message_id=str(uuid.uuid4()),
                chat_id=chats[person],
                person=PEOPLE[person],
                text=f"message {number} from person {person}",
            )
            for person, number in messages
        ]
        events = [parse_delivery(body) for body in bodies]
        app = create_webhook_app(SECRET, _never_handled, store, workers=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://receiver.test"
        ) as http:
            for body, event in zip(bodies, events, strict=True):
                response = await http.post(
                    "/linq/webhooks", content=body, headers=signed_headers(body, event.event_id)
                )
                assert (200, "queued") == (response.status_code, response.json()["status"])
        heads = {event.event_id for event in events[:3]}

        first.start()

        async def all_replied() -> bool:
            replied = {line.event_id for line in read_log(log) if line.phase == "R"}
            return replied == heads

        await wait_until(all_replied, within=WITHIN, what="worker A replying", explain=first.tail)
        second.start()

        async def second_up() -> bool:
            return any(line.phase == "W" and line.pid == second.pid for line in read_log(log))

        await wait_until(second_up, within=WITHIN, what="worker B starting", explain=second.tail)
        await asyncio.sleep(2 * LEASE_SECONDS)  # B polls all along; A's heartbeats keep the keys
        taken_while_a_lived = [line for line in read_log(log) if line.pid == second.pid]
        first.kill()
        killed_at = time.time()
        state_at_kill = await simulator.state()
        stats_at_kill = await store.stats(now=datetime.now(UTC))

        async def inbox_empty() -> bool:
            return (await store.stats(now=datetime.now(UTC))).pending == 0

        await wait_until(
            inbox_empty, within=WITHIN, what="worker B emptying the inbox", explain=second.tail
        )
        assert 0 == second.stop(), second.tail()
        state = await simulator.state()
        threads = {chat: await simulator.thread(chat) for chat in chats}
    finally:
        first.stop()
        second.stop()
        simulator.stop()

    lines = read_log(log)
    by_pid: dict[int, list[tuple[str, str]]] = defaultdict(list)
    replies: dict[tuple[int, str], str] = {}
    for line in lines:
        if line.phase != "W":
            by_pid[line.pid].append((line.phase, line.event_id))
        if line.phase == "R":
            replies[(line.pid, line.event_id)] = line.extra
    keys = [reply_key(event, "answer") for event in events]
    takeover = min(line.at for line in lines if line.pid == second.pid and line.phase == "S")
    takeover -= killed_at
    ours = {
        chat: sorted(part["value"] for m in thread if m["is_from_me"] for part in m["parts"])
        for chat, thread in threads.items()
    }
    sends = state["requests"].get("POST /v3/chats/{chatId}/messages", 0)
    FIGURES.record(
        f"inbox, worker killed between reply and ack ({kind})",
        lease_s=f"{LEASE_SECONDS:g}",
        replies_sent_before_the_kill=len(state_at_kill["messages_by_idempotency_key"]),
        entries_left_at_the_kill=stats_at_kill.pending,
        takeover_after_the_kill_s=f"{takeover:.2f}",
        reply_sends_reaching_the_simulator=sends,
        messages_created=state["messages_created"],
        replies_per_person=" ".join(str(len(ours[chat])) for chat in chats),
    )

    assert {key: 1 for key in keys[:3]} == state_at_kill["messages_by_idempotency_key"]
    assert 4 == stats_at_kill.pending
    assert [("S", e) for e in sorted(heads)] == sorted(
        (p, e) for p, e in by_pid[first.pid] if p == "S"
    ), "worker A handled something besides the three heads"
    assert {("R", e) for e in heads} == {(p, e) for p, e in by_pid[first.pid] if p != "S"}
    second_steps = by_pid[second.pid]
    for event in events[:3]:
        assert ["S", "R", "D"] == [p for p, e in second_steps if e == event.event_id]
        assert replies[(first.pid, event.event_id)] == replies[(second.pid, event.event_id)], (
            "the re-send made a new message"
        )
    assert second_steps.index(("D", events[0].event_id)) < second_steps.index(
        ("S", events[3].event_id)
    ), "the second message was handled before the first"
    assert {key: 1 for key in keys} == state["messages_by_idempotency_key"]
    assert 4 == state["messages_created"]
    expected: dict[str, list[str]] = defaultdict(list)
    for event in events:
        assert isinstance(event, MessageReceived)
        expected[event.conversation_id].append(f"Noted: {event.message.text}")
    assert {chat: sorted(texts) for chat, texts in expected.items()} == ours
    assert ["W"] == [line.phase for line in taken_while_a_lived], "B took a key A held"
    # A heartbeats every third of the lease, so at the kill two thirds to all of it were
    # left (the bound allows a heartbeat late by a third on a loaded machine).
    assert LEASE_SECONDS / 3 <= takeover <= LEASE_SECONDS + WITHIN / 4
