"""SqliteEventStore's outbox: exact times, one transaction per write, upgraded files, indexes.

What the conformance suite (``test_outbox_conformance.py``) cannot see from
outside a store: how the file holds the outbox.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

from caresupport_transport.inbound import InboxEntry, OutboxRecord, SqliteEventStore
from caresupport_transport.inbound.sqlite_store import _RECORDS, _RECORDS_IN_STATE

T0 = datetime(2026, 3, 1, 12, 0, 0, 123457, tzinfo=UTC)


def record(record_id: str = "intent-1", *, created_at: datetime = T0) -> OutboxRecord:
    return OutboxRecord(
        id=record_id,
        state="queued",
        payload='{"text": "Pills at 9"}',
        created_at=created_at,
        updated_at=created_at,
        message_ids=("m1",),
    )


def job(record_id: str = "intent-1") -> InboxEntry:
    return InboxEntry(
        id=f"send:{record_id}",
        order_key="conversation:c1",
        keys=(f"job:send:{record_id}",),
        payload=f'{{"op": "send", "intent": "{record_id}"}}',
        received_at=T0,
        due_at=T0,
    )


async def test_record_times_keep_every_microsecond_as_integers_and_come_back_as_utc(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite"
    elsewhere = timezone(timedelta(hours=-5, minutes=-30))
    far = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    async with SqliteEventStore(path) as store:
        await store.put_record(record(created_at=T0.astimezone(elsewhere)), job(), now=T0)
        await store.replace_record(
            attrs.evolve(record(), updated_at=far.astimezone(elsewhere)), expected_version=1
        )

        stored = await store.get_record("intent-1")

    assert stored is not None
    assert (T0, UTC) == (stored.created_at, stored.created_at.tzinfo)
    assert (far, UTC) == (stored.updated_at, stored.updated_at.tzinfo)
    with sqlite3.connect(path) as db:
        types = db.execute(
            "SELECT typeof(created_at), typeof(updated_at) FROM outbox_records"
        ).fetchall()
    db.close()
    assert [("integer", "integer")] == types


async def test_a_naive_record_time_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    naive = datetime(2026, 3, 1, 12, 0)  # the mistake under test
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.put_record(record(created_at=naive), job(), now=T0)

        assert None is await store.get_record("intent-1")
        assert [] == await store.entries(state=None, limit=10)


async def test_a_put_whose_job_fails_to_be_written_leaves_no_record_index_or_keys(
    tmp_path: Path,
) -> None:
    """The record, its message index and its job are one transaction: all or nothing."""
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        with sqlite3.connect(path) as db:
            db.execute(
                "CREATE TRIGGER refuse_jobs BEFORE INSERT ON inbox "
                "BEGIN SELECT RAISE(ABORT, 'inbox refused'); END"
            )
        db.close()

        with pytest.raises(sqlite3.Error, match="inbox refused"):
            await store.put_record(record(), job(), now=T0)

        assert None is await store.get_record("intent-1")
        assert None is await store.record_for_message("m1")
        assert not await store.is_done("job:send:intent-1")


async def test_a_file_from_before_the_outbox_gains_it_and_keeps_its_inbox(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        await store.enqueue(attrs.evolve(job("old"), keys=("event:old",)), now=T0)
    with sqlite3.connect(path) as db:
        db.executescript("DROP TABLE outbox_records; DROP TABLE outbox_messages;")
    db.close()

    async with SqliteEventStore(path) as reopened:
        assert await reopened.put_record(record(), job(), now=T0)

        listed = [e.id for e in await reopened.entries(state=None, limit=10)]
        assert ["send:old", "send:intent-1"] == listed
        assert "intent-1" == await reopened.record_for_message("m1")


async def test_records_are_listed_through_indexes_without_sorting(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        for index in range(200):
            made = attrs.evolve(
                record(f"i{index}", created_at=T0 + timedelta(seconds=index % 13)),
                state=("queued", "sent", "delivered")[index % 3],
                message_ids=(),
            )
            await store.put_record(made, job(f"i{index}"), now=T0)
    with sqlite3.connect(path) as db:
        db.execute("ANALYZE")
        plans = {
            name: [str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + query, args)]
            for name, query, args in [
                ("all", _RECORDS, (5,)),
                ("in state", _RECORDS_IN_STATE, ("sent", 5)),
            ]
        }
    db.close()

    assert any("INDEX outbox_records_created" in step for step in plans["all"]), plans
    assert any("INDEX outbox_records_state" in step for step in plans["in state"]), plans
    for plan in plans.values():
        assert not any("TEMP B-TREE" in step for step in plan), plans


async def test_replace_waits_for_another_writer_and_then_loses_to_its_version(
    tmp_path: Path,
) -> None:
    """``replace_record``'s read and write are one ``BEGIN IMMEDIATE`` transaction."""
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        await store.put_record(record(), job(), now=T0)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process is replacing the record
            replacing = asyncio.create_task(
                store.replace_record(attrs.evolve(record(), state="sent"), expected_version=1)
            )
            await asyncio.sleep(0.5)
            assert not replacing.done()
            other.execute(
                "UPDATE outbox_records SET state = 'failed', version = 2 WHERE id = 'intent-1'"
            )
            other.execute("COMMIT")
        finally:
            other.close()

        assert not await replacing
        stored = await store.get_record("intent-1")

    assert stored is not None
    assert ("failed", 2) == (stored.state, stored.version)
