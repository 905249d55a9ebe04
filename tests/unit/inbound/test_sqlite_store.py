"""SqliteEventStore: survives restarts, runs in WAL mode, prunes through its index."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from caresupport_transport import ConfigurationError
from caresupport_transport.inbound import (
    ClaimStatus,
    DispatchOutcome,
    InboundDispatcher,
    SqliteEventStore,
)

from .builders import T0, FakeClock, Recorder, received


async def test_reopening_the_file_remembers_done_keys_and_cursors(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        await store.complete(["event:e1", "message:m1"], now=T0)
        await store.set_cursor("chat:c1", "msg-42")

    async with SqliteEventStore(path) as reopened:
        assert await reopened.is_done("event:e1")
        assert await reopened.is_done("message:m1")
        assert "msg-42" == await reopened.get_cursor("chat:c1")
        status = await reopened.claim(["event:e1"], token="t", now=T0, until=T0)
        assert ClaimStatus.DONE == status


async def test_restarted_dispatcher_does_not_handle_an_event_again(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    event = received("e1", message_id="m1")
    first_life = Recorder()
    async with SqliteEventStore(path) as store:
        dispatcher = InboundDispatcher(first_life, store, clock=FakeClock())
        assert DispatchOutcome.HANDLED == await dispatcher.dispatch(event)

    second_life = Recorder()
    async with SqliteEventStore(path) as store:
        dispatcher = InboundDispatcher(second_life, store, clock=FakeClock())
        assert DispatchOutcome.DUPLICATE == await dispatcher.dispatch(event)
        polled = received("poll:m1", message_id="m1")
        assert DispatchOutcome.DUPLICATE == await dispatcher.dispatch(polled)

    assert [event] == first_life.handled
    assert [] == second_life.handled


async def test_journal_mode_is_wal(tmp_path: Path) -> None:
    async with SqliteEventStore(tmp_path / "events.sqlite") as store:
        assert "wal" == await store.journal_mode()


async def test_prune_deletes_through_the_expiry_index(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store:
        await store.complete([f"event:e{i}" for i in range(100)], now=T0)
    with sqlite3.connect(path) as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN DELETE FROM handled_keys WHERE expires_at <= ?", (0.0,)
        ).fetchall()
    db.close()

    assert any("USING INDEX handled_keys_expires_at" in str(row[-1]) for row in plan)


async def test_retention_window_is_configurable(tmp_path: Path) -> None:
    retention = timedelta(hours=2)
    async with SqliteEventStore(tmp_path / "events.sqlite", retention=retention) as store:
        await store.complete(["event:e1"], now=T0)

        assert 0 == await store.prune(T0 + timedelta(hours=1))
        assert 1 == await store.prune(T0 + retention)


async def test_a_closed_store_refuses_work_and_closing_twice_is_harmless(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite")
    await store.close()
    await store.close()

    with pytest.raises(ConfigurationError, match="is closed"):
        await store.is_done("event:e1")


def test_a_path_that_cannot_be_opened_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot open event store"):
        SqliteEventStore(tmp_path / "missing-directory" / "events.sqlite")


def test_non_positive_retention_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="retention must be positive"):
        SqliteEventStore(tmp_path / "events.sqlite", retention=timedelta(0))


async def test_two_processes_sharing_the_file_cannot_claim_one_event_twice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as worker_a, SqliteEventStore(path) as worker_b:
        until = T0 + timedelta(seconds=60)
        assert ClaimStatus.CLAIMED == await worker_a.claim(
            ["event:e1"], token="a", now=T0, until=until
        )
        assert ClaimStatus.BUSY == await worker_b.claim(
            ["event:e1"], token="b", now=T0, until=until
        )
        await worker_a.complete(["event:e1"], now=T0)
        assert ClaimStatus.DONE == await worker_b.claim(
            ["event:e1"], token="b", now=T0, until=until
        )
