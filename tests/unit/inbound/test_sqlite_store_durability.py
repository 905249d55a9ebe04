"""SqliteEventStore: claims take the write lock first, done marks reach the disk, no memory store.

Each test here was written for a change that the mutation script
(``tools/mutate.py sqlite_store``) showed the suite did not notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from caresupport_transport import ConfigurationError
from caresupport_transport.inbound import (
    ClaimStatus,
    EventStore,
    MemoryEventStore,
    SqliteEventStore,
)

from .builders import T0

UNTIL = T0 + timedelta(seconds=60)


async def test_a_claim_waits_for_another_writer_and_then_sees_its_done_mark(
    tmp_path: Path,
) -> None:
    """The claim's read and write are one ``BEGIN IMMEDIATE`` transaction.

    With a deferred ``BEGIN`` the claim would read before the other process's
    write and then fail (or claim a key that was done meanwhile).
    """
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process is writing
            claim = asyncio.create_task(store.claim(["event:e1"], token="t", now=T0, until=UNTIL))
            # Give the claim time to start (and, were it deferred, to read).
            await asyncio.sleep(0.5)
            assert not claim.done()
            other.execute(
                "INSERT INTO handled_keys (key, done, token, expires_at) VALUES (?, 1, NULL, ?)",
                ("event:e1", UNTIL.timestamp()),
            )
            other.execute("COMMIT")
        finally:
            other.close()

        assert ClaimStatus.DONE == await claim


async def test_done_marks_are_written_through_to_the_disk(tmp_path: Path) -> None:
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        assert ("wal", "full") == (await store.journal_mode(), await store.synchronous())


@pytest.mark.parametrize("path", [":memory:", Path(":memory:")])
def test_an_in_memory_database_is_refused_naming_the_path_and_why(path: str | Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        SqliteEventStore(path)

    message = str(caught.value)
    assert "':memory:'" in message
    assert "forgets every handled event" in message
    assert "give a file path" in message


async def test_a_busy_file_is_waited_for_not_refused_at_once(tmp_path: Path) -> None:
    """Several processes share one file: a short write elsewhere delays a claim, no error."""
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            claim = asyncio.create_task(store.claim(["event:e2"], token="t", now=T0, until=UNTIL))
            await asyncio.sleep(0.2)
            other.execute("COMMIT")
        finally:
            other.close()

        assert ClaimStatus.CLAIMED == await claim


async def test_the_store_asks_for_full_sync_even_where_it_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some SQLite builds default WAL databases to ``synchronous=NORMAL``: the store says FULL.

    Watched through SQLite's own statement trace (this build's default is FULL,
    so the setting's value alone cannot tell).
    """
    statements: list[str] = []
    real_connect = sqlite3.connect

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = real_connect(*args, **kwargs)
        connection.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced_connect)
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        await store.claim(["event:e1"], token="t", now=T0, until=UNTIL)

    assert "PRAGMA synchronous = FULL" in statements
    assert ["BEGIN IMMEDIATE"] == [s for s in statements if s.startswith("BEGIN")]


async def test_one_worker_thread_runs_every_call_so_transactions_never_interleave(
    tmp_path: Path,
) -> None:
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        workers = {t.name for t in threading.enumerate() if t.name.startswith("event-store")}
        outcomes = await asyncio.gather(
            *(
                store.claim([f"event:e{n}", "message:shared"], token=f"t{n}", now=T0, until=UNTIL)
                for n in range(200)
            )
        )

    assert 1 == len(workers)
    assert [ClaimStatus.CLAIMED] + [ClaimStatus.BUSY] * 199 == outcomes


async def test_a_failed_transaction_is_rolled_back_and_the_store_works_on(
    tmp_path: Path,
) -> None:
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        with pytest.raises(sqlite3.Error):
            await store.claim([{"not": "a key"}], token="t", now=T0, until=UNTIL)  # type: ignore[list-item]

        assert ClaimStatus.CLAIMED == await store.claim(
            ["event:e1"], token="t", now=T0, until=UNTIL
        )


def test_a_file_that_is_not_a_database_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    path.write_bytes(b"this is a care plan, not a database" * 100)

    with pytest.raises(ConfigurationError) as caught:
        SqliteEventStore(path)

    assert str(caught.value).startswith(f"cannot open event store {path}: ")
    assert _store_threads_end()


@pytest.mark.parametrize("how", ["close", "context"])
async def test_closing_releases_the_file_and_the_worker_thread(tmp_path: Path, how: str) -> None:
    path = tmp_path / "events.sqlite"
    store = SqliteEventStore(path)
    if how == "close":
        await store.complete(["event:e1"], now=T0)
        await store.close()
    else:
        async with store:
            await store.complete(["event:e1"], now=T0)

    # The last connection to close checkpoints and removes the WAL file.
    assert not path.with_name(path.name + "-wal").exists()
    assert _store_threads_end()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_renewal_keeps_a_claim_alive_past_its_first_lease(tmp_path: Path, kind: str) -> None:
    store: EventStore = (
        MemoryEventStore() if kind == "memory" else SqliteEventStore(tmp_path / "events.sqlite")
    )
    try:
        await store.claim(["event:e1"], token="a", now=T0, until=T0 + timedelta(seconds=20))
        await store.renew(["event:e1"], token="a", until=T0 + timedelta(seconds=40))

        later = T0 + timedelta(seconds=30)
        assert ClaimStatus.BUSY == await store.claim(
            ["event:e1"], token="b", now=later, until=later + timedelta(seconds=20)
        )
    finally:
        await store.close()


def _store_threads_end() -> bool:
    """Whether every event-store worker thread ends (waiting at most 5 s)."""
    for thread in threading.enumerate():
        if thread.name.startswith("event-store"):
            thread.join(timeout=5)
    return not any(t.name.startswith("event-store") for t in threading.enumerate())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_a_file_that_cannot_be_used_is_not_left_open(tmp_path: Path) -> None:
    """A service restarting in a loop on a bad file must not run out of file descriptors."""
    path = tmp_path / "events.sqlite"
    path.write_bytes(b"this is a care plan, not a database" * 100)

    for _ in range(3):
        with pytest.raises(ConfigurationError):
            SqliteEventStore(path)

    fds = Path("/proc/self/fd")
    still_open = []
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            if Path(os.readlink(fd)) == path:
                still_open.append(fd.name)
    assert [] == still_open
