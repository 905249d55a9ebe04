"""SqliteEventStore's inbox: exact times, upgraded files, lasting tokens, indexed take, locking.

What the conformance suite (``test_inbox_conformance.py``) cannot see from
outside a store: how the file holds the inbox.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from caresupport_transport.inbound import (
    EnqueueStatus,
    InboxEntry,
    InboxLease,
    InboxState,
    SqliteEventStore,
)
from caresupport_transport.inbound.sqlite_store import _TAKE

T0 = datetime(2026, 3, 1, 12, 0, 0, 123457, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def entry(
    entry_id: str,
    order_key: str = "conversation:c1",
    *,
    keys: tuple[str, ...] | None = None,
    received_at: datetime = T0,
    due_at: datetime = T0,
) -> InboxEntry:
    return InboxEntry(
        id=entry_id,
        order_key=order_key,
        keys=keys if keys is not None else (f"event:{entry_id}",),
        payload='{"text": "Pills at 9"}',
        received_at=received_at,
        due_at=due_at,
    )


async def take_one(store: SqliteEventStore, now: datetime = T0) -> InboxLease:
    (lease,) = await store.take(now=now, until=now + LEASE, limit=1)
    return lease


async def test_times_keep_every_microsecond_as_integers_and_come_back_as_utc(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite"
    far = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    elsewhere = timezone(timedelta(hours=-5, minutes=-30))
    async with SqliteEventStore(path) as store:
        await store.enqueue(entry("e1", received_at=T0.astimezone(elsewhere), due_at=T0), now=T0)
        await store.enqueue(entry("e2", "conversation:c2", due_at=far), now=T0)

        stored = await store.entry("e1")
        waiting = await store.entry("e2")

    assert stored is not None
    assert waiting is not None
    assert (T0, UTC) == (stored.received_at, stored.received_at.tzinfo)
    assert (far, UTC) == (waiting.due_at, waiting.due_at.tzinfo)
    with sqlite3.connect(path) as db:
        types = db.execute(
            "SELECT DISTINCT typeof(received_at), typeof(due_at) FROM inbox"
        ).fetchall()
    db.close()
    assert [("integer", "integer")] == types


async def test_an_entry_due_one_microsecond_later_is_not_taken_yet(tmp_path: Path) -> None:
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        await store.enqueue(entry("e1", due_at=T0 + timedelta(microseconds=1)), now=T0)

        assert [] == await store.take(now=T0, until=T0 + LEASE, limit=1)
        assert "e1" == (await take_one(store, T0 + timedelta(microseconds=1))).entry.id


async def test_a_naive_time_is_refused(tmp_path: Path) -> None:
    naive = datetime(2026, 3, 1, 12, 0)  # the mistake under test
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.enqueue(entry("e1", due_at=naive), now=T0)
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.take(now=naive, until=T0, limit=1)

        assert [] == await store.entries(state=None, limit=10)
        assert not await store.is_done("event:e1"), "a refused entry writes nothing"


async def test_a_file_from_before_the_inbox_gains_it_and_keeps_its_done_keys(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE handled_keys (
                key TEXT PRIMARY KEY, done INTEGER NOT NULL, token TEXT, expires_at REAL NOT NULL
            );
            CREATE INDEX handled_keys_expires_at ON handled_keys (expires_at);
            CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )
        db.execute(
            "INSERT INTO handled_keys VALUES ('event:old', 1, NULL, ?)",
            ((T0 + timedelta(days=2)).timestamp(),),
        )
    db.close()

    async with SqliteEventStore(path) as store:
        assert EnqueueStatus.DUPLICATE == await store.enqueue(entry("old"), now=T0)
        assert EnqueueStatus.QUEUED == await store.enqueue(entry("new"), now=T0)
        lease = await take_one(store)

    assert ("new", 1) == (lease.entry.id, lease.token)


async def test_tokens_keep_growing_after_every_key_empties_and_the_file_is_reopened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        await store.enqueue(entry("e1"), now=T0)
        first = await take_one(store)
        assert await store.ack(first, now=T0)
        assert [] == await store.entries(state=None, limit=10)

    async with SqliteEventStore(path) as reopened:
        await reopened.enqueue(entry("e2"), now=T0)
        second = await take_one(reopened)

    assert second.token > first.token


async def test_a_replayed_entry_keeps_its_place_after_the_file_is_reopened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        await store.enqueue(entry("poison"), now=T0)
        await store.bury(await take_one(store), error="ValueError")
        await store.enqueue(entry("later"), now=T0)
        await store.replay("poison", now=T0)

    async with SqliteEventStore(path) as reopened:
        listed = [e.id for e in await reopened.entries(state=None, limit=10)]
        first = await take_one(reopened)

    assert ["poison", "later"] == listed
    assert "poison" == first.entry.id


async def test_take_finds_heads_through_indexes_without_sorting(tmp_path: Path) -> None:
    """``take`` reads the due entries in order from an index and probes the rest by key."""
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        for index in range(200):
            await store.enqueue(entry(f"e{index}", f"conversation:c{index % 7}"), now=T0)
    with sqlite3.connect(path) as db:
        db.execute("ANALYZE")
        plan = [
            str(row[-1])
            for row in db.execute("EXPLAIN QUERY PLAN " + _TAKE, {"now": 0, "limit": 5})
        ]
    db.close()

    assert any("USING INDEX inbox_due" in step for step in plan), plan
    assert any("USING COVERING INDEX inbox_order" in step for step in plan), plan
    assert not any(step.startswith("SCAN") or "TEMP B-TREE" in step for step in plan), plan


async def test_take_waits_for_another_writer_and_then_sees_its_lease(tmp_path: Path) -> None:
    """``take``'s read and write are one ``BEGIN IMMEDIATE`` transaction.

    Were the read deferred, it would read before the other process's lease and
    lease the key a second time.
    """
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        await store.enqueue(entry("e1"), now=T0)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process is taking the key
            taking = asyncio.create_task(store.take(now=T0, until=T0 + LEASE, limit=1))
            await asyncio.sleep(0.5)
            assert not taking.done()
            other.execute(
                "INSERT INTO inbox_leases (order_key, token, until) VALUES (?, 99, ?)",
                ("conversation:c1", 2**62),
            )
            other.execute("COMMIT")
        finally:
            other.close()

        assert [] == await taking


async def test_pruning_forgets_done_keys_but_never_touches_the_inbox(tmp_path: Path) -> None:
    retention = timedelta(hours=1)
    async with SqliteEventStore(tmp_path / "events.sqlite", retention=retention) as store:
        await store.enqueue(entry("e1", keys=("event:e1", "message:m1")), now=T0)
        await store.enqueue(entry("e2", "conversation:c2"), now=T0)
        lease = await take_one(store)
        await store.bury(lease, error="boom")

        assert 3 == await store.prune(T0 + retention)

        assert ["e1", "e2"] == [e.id for e in await store.entries(state=None, limit=10)]
        assert [InboxState.DEAD, InboxState.PENDING] == [
            e.state for e in await store.entries(state=None, limit=10)
        ]
