"""SqliteEventStore's group commit: concurrent calls share a transaction, each keeps its answer.

What batching must not change: a call answers only after its writes are
committed (an acknowledged intake is in the file, even if the process is killed
the moment after), a call that fails is rolled back alone, and the order of calls
is the order they ran in. What it changes: N concurrent calls cost fewer than N
``BEGIN IMMEDIATE ... COMMIT`` (and fewer than N syncs to disk).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from caresupport_transport import ConfigurationError
from caresupport_transport.inbound import (
    SYNCHRONOUS_LEVELS,
    ClaimStatus,
    EnqueueStatus,
    InboxEntry,
    SqliteEventStore,
)

from .builders import T0

UNTIL = T0 + timedelta(seconds=60)


def _entry(entry_id: str) -> InboxEntry:
    return InboxEntry(
        id=entry_id,
        order_key=f"conversation:{entry_id}",
        keys=(f"event:{entry_id}",),
        payload="{}",
        received_at=T0,
        due_at=T0,
    )


def _traced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    statements: list[str] = []
    real_connect = sqlite3.connect

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = real_connect(*args, **kwargs)
        connection.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced_connect)
    return statements


@pytest.mark.parametrize("level", SYNCHRONOUS_LEVELS)
async def test_concurrent_intakes_share_commits_and_each_is_in_the_file_when_it_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str
) -> None:
    # "full" batches on the worker thread while it syncs; "normal" batches the
    # calls of one turn of the event loop, inline.
    path = tmp_path / "events.sqlite"
    statements = _traced(monkeypatch)
    reader = None
    seen_on_answer: list[bool] = []
    async with SqliteEventStore(path, synchronous=level) as store:
        reader = sqlite3.connect(path, isolation_level=None)

        async def intake(n: int) -> EnqueueStatus:
            status = await store.enqueue(_entry(f"e{n}"), now=T0)
            # Another connection (another process) already sees it: it was committed.
            row = reader.execute("SELECT 1 FROM inbox WHERE id = ?", (f"e{n}",)).fetchone()
            seen_on_answer.append(row is not None)
            return status

        outcomes = await asyncio.gather(*(intake(n) for n in range(100)))
    reader.close()

    assert [EnqueueStatus.QUEUED] * 100 == outcomes
    assert [True] * 100 == seen_on_answer
    commits = [s for s in statements if s == "COMMIT"]
    assert 1 <= len(commits) < 100 // 2
    assert len(commits) == len([s for s in statements if s == "BEGIN IMMEDIATE"])


async def test_a_failing_call_in_a_batch_is_rolled_back_alone(tmp_path: Path) -> None:
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        outcomes = await asyncio.gather(
            store.claim(["event:a"], token="t", now=T0, until=UNTIL),
            store.claim(["event:b", {"not": "a key"}], token="t", now=T0, until=UNTIL),  # type: ignore[list-item]
            store.claim(["event:c"], token="t", now=T0, until=UNTIL),
            return_exceptions=True,
        )

        assert ClaimStatus.CLAIMED == outcomes[0]
        assert isinstance(outcomes[1], sqlite3.Error)
        assert ClaimStatus.CLAIMED == outcomes[2]
        # The failed call's first key was written inside its savepoint and rolled back.
        assert ClaimStatus.CLAIMED == await store.claim(["event:b"], token="u", now=T0, until=UNTIL)
        assert ClaimStatus.BUSY == await store.claim(["event:a"], token="u", now=T0, until=UNTIL)


async def test_calls_in_one_batch_run_in_the_order_they_were_made(tmp_path: Path) -> None:
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        outcomes = await asyncio.gather(
            store.claim(["event:a"], token="first", now=T0, until=UNTIL),
            store.complete(["event:a"], now=T0),
            store.claim(["event:a"], token="second", now=T0, until=UNTIL),
            store.is_done("event:a"),
        )

    assert [ClaimStatus.CLAIMED, None, ClaimStatus.DONE, True] == outcomes


async def test_a_batch_of_reads_opens_no_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements = _traced(monkeypatch)
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        before = len(statements)
        await asyncio.gather(*(store.is_done(f"event:{n}") for n in range(10)))
        during = statements[before:]

    assert [] == [s for s in during if s.startswith(("BEGIN", "COMMIT", "SAVEPOINT"))]


async def test_calls_queued_when_the_store_closes_are_committed_first(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    store = SqliteEventStore(path)
    intakes = [asyncio.create_task(store.enqueue(_entry(f"e{n}"), now=T0)) for n in range(20)]
    await asyncio.sleep(0)
    await store.close()

    assert [EnqueueStatus.QUEUED] * 20 == [await intake for intake in intakes]
    async with SqliteEventStore(path) as reopened:
        assert 20 == len(await reopened.entries(state=None, limit=100))


@pytest.mark.parametrize("level", SYNCHRONOUS_LEVELS)
async def test_the_synchronous_level_is_the_one_asked_for(tmp_path: Path, level: str) -> None:
    async with SqliteEventStore(tmp_path / "events.sqlite", synchronous=level) as store:
        assert ("wal", level) == (await store.journal_mode(), await store.synchronous())


@pytest.mark.parametrize("level", ["off", "FULL", "extra", ""])
def test_an_unknown_synchronous_level_is_refused_before_the_file_is_opened(
    tmp_path: Path, level: str
) -> None:
    path = tmp_path / "events.sqlite"
    with pytest.raises(ConfigurationError) as caught:
        SqliteEventStore(path, synchronous=level)

    assert "synchronous must be one of full, normal" in str(caught.value)
    assert not path.exists()


_INTAKE_UNTIL_KILLED = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    from caresupport_transport.inbound import InboxEntry, SqliteEventStore

    T0 = datetime(2026, 3, 1, tzinfo=UTC)

    async def main(path, level):
        store = SqliteEventStore(path, synchronous=level)

        async def intake(n):
            entry = InboxEntry(
                id=f"e{n}", order_key=f"k{n % 7}", keys=(f"event:e{n}",),
                payload="{}", received_at=T0, due_at=T0,
            )
            await store.enqueue(entry, now=T0)
            sys.stdout.write(f"e{n}\\n")
            sys.stdout.flush()

        n = 0
        while True:
            await asyncio.gather(*(intake(n + i) for i in range(20)))
            n += 20

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
@pytest.mark.parametrize("level", SYNCHRONOUS_LEVELS)
def test_every_intake_acknowledged_before_a_kill_is_in_the_file_after_it(
    tmp_path: Path, level: str
) -> None:
    """A process killed mid-batch loses only intakes it had not acknowledged yet."""
    path = tmp_path / "events.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-c", _INTAKE_UNTIL_KILLED, str(path), level],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    acknowledged = []
    try:
        for line in process.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) >= 300:
                break
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()

    assert len(acknowledged) >= 300
    with sqlite3.connect(path) as db:
        stored = {row[0] for row in db.execute("SELECT id FROM inbox")}
    assert set(acknowledged) <= stored


def _traced_threads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(thread name, statement) of every statement the store's connection runs."""
    import threading

    statements: list[tuple[str, str]] = []
    real_connect = sqlite3.connect

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = real_connect(*args, **kwargs)
        connection.set_trace_callback(
            lambda sql: statements.append((threading.current_thread().name, sql))
        )
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced_connect)
    return statements


@pytest.mark.parametrize(("level", "thread"), [("full", "event-store"), ("normal", "MainThread")])
async def test_normal_runs_calls_inline_on_the_loop_and_full_on_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str, thread: str
) -> None:
    statements = _traced_threads(monkeypatch)
    async with SqliteEventStore(tmp_path / "events.sqlite", synchronous=level) as store:
        before = len(statements)
        assert ClaimStatus.CLAIMED == await store.claim(["event:a"], token="t", now=T0, until=UNTIL)
        assert EnqueueStatus.QUEUED == await store.enqueue(_entry("e1"), now=T0)
        ran = statements[before:]

    assert ran
    assert {thread} == {name.split("_")[0] for name, _ in ran}


async def test_an_inline_call_that_finds_the_file_locked_waits_on_the_worker_not_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path, synchronous="normal") as store:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process is writing
            claim = asyncio.create_task(store.claim(["event:e1"], token="t", now=T0, until=UNTIL))
            ticks = 0
            for _ in range(20):  # the loop keeps running while the claim waits
                await asyncio.sleep(0.01)
                ticks += 1
            assert not claim.done()
            other.execute(
                "INSERT INTO handled_keys (key, done, token, expires_at) VALUES (?, 1, NULL, ?)",
                ("event:e1", UNTIL.timestamp()),
            )
            other.execute("COMMIT")
        finally:
            other.close()

        assert ClaimStatus.DONE == await claim
        assert 20 == ticks
        # Back to inline once the file is free.
        assert ClaimStatus.CLAIMED == await store.claim(
            ["event:e2"], token="t", now=T0, until=UNTIL
        )


async def test_normal_checkpoints_on_the_worker_thread_and_never_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from caresupport_transport.inbound import sqlite_store

    monkeypatch.setattr(sqlite_store, "_CHECKPOINT_EVERY", 5)
    statements = _traced_threads(monkeypatch)
    async with SqliteEventStore(tmp_path / "events.sqlite", synchronous="normal") as store:
        for n in range(12):
            await store.enqueue(_entry(f"e{n}"), now=T0)
        assert 12 == len(await store.entries(state=None, limit=100))

    checkpoints = [name for name, sql in statements if "wal_checkpoint" in sql]
    assert 2 == len(checkpoints)
    assert all(name.startswith("event-store") for name in checkpoints)
    assert "PRAGMA wal_autocheckpoint = 0" in [sql for _, sql in statements]
