"""SqliteEventStore: claims take the write lock first, done marks reach the disk, no memory store.

Each test here was written for a change that the mutation script
(``tools/mutate.py sqlite_store``) showed the suite did not notice.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from caresupport_transport import ConfigurationError
from caresupport_transport.inbound import ClaimStatus, SqliteEventStore

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
