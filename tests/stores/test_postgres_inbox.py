"""PostgresEventStore's inbox beyond the conformance suite: its tables, its locks, its races.

Each race is staged with a second session holding a row locked (a lease row,
as a ``heartbeat`` in flight does, or an uncommitted entry), so a call is known
to wait at one point while another runs; the stress test runs many pools
against the wall clock.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from caresupport_transport.inbound import EnqueueStatus, InboxEntry, InboxLease
from caresupport_transport.inbound.postgres_store import SCHEMA_VERSION, PostgresEventStore

from .conftest import forget_namespace, fresh_namespace

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture
async def namespace(postgres_url: str) -> AsyncIterator[str]:
    name = fresh_namespace()
    yield name
    await asyncio.to_thread(forget_namespace, "postgres", postgres_url, name)


def entry(entry_id: str, order_key: str, *, keys: tuple[str, ...] | None = None) -> InboxEntry:
    return InboxEntry(
        id=entry_id,
        order_key=order_key,
        keys=keys if keys is not None else (f"event:{entry_id}",),
        payload="{}",
        received_at=T0,
        due_at=T0,
    )


async def _lock_lease_row(session: psycopg.AsyncConnection[object], ns: str, key: str) -> None:
    """Lock the lease row of ``key`` in ``session``'s open transaction."""
    await session.execute(
        sql.SQL("SELECT 1 FROM {}.inbox_leases WHERE order_key = %s FOR UPDATE").format(
            sql.Identifier(ns)
        ),
        (key,),
    )


async def _wait_for_lock_waits(url: str, count: int) -> None:
    """Return once ``count`` sessions wait on a lock.

    The observer runs outside any transaction: inside one, PostgreSQL shows the
    activity it read first for the rest of the transaction.
    """
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as observer:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            cursor = await observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            )
            row = await cursor.fetchone()
            if row is not None and row[0] >= count:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {count} sessions ever waited on a lock")


async def test_a_namespace_of_the_release_before_the_inbox_gains_it_and_stays_version_1(
    postgres_url: str, namespace: str
) -> None:
    """The inbox's objects are added to a namespace holding only the first release's tables."""
    async with await PostgresEventStore.connect(postgres_url, namespace=namespace) as store:
        await store.complete(["event:old"], now=T0)
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
        await admin.execute(
            sql.SQL(
                "DROP TABLE {ns}.inbox, {ns}.inbox_leases; DROP SEQUENCE {ns}.inbox_tokens"
            ).format(ns=sql.Identifier(namespace))
        )

    async with await PostgresEventStore.connect(postgres_url, namespace=namespace) as store:
        assert 1 == SCHEMA_VERSION == await store.schema_version()
        assert EnqueueStatus.DUPLICATE == await store.enqueue(entry("old", "k"), now=T0)
        assert EnqueueStatus.QUEUED == await store.enqueue(entry("new", "k"), now=T0)
        leases = await store.take(now=T0, until=T0 + LEASE, limit=5)
        assert ["new"] == [lease.entry.id for lease in leases]


async def test_a_taker_waiting_on_one_key_does_not_hold_up_keys_beyond_its_limit(
    postgres_url: str, namespace: str
) -> None:
    """A take locks keys in due order only until it has ``limit``; others stay free to take."""
    first = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    second = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    try:
        await first.enqueue(entry("a1", "a"), now=T0)
        await first.enqueue(entry("b1", "b"), now=T0)
        short = await first.take(now=T0, until=T0 + timedelta(seconds=1), limit=1)
        assert ["a1"] == [lease.entry.id for lease in short]
        later = T0 + timedelta(seconds=2)
        async with await psycopg.AsyncConnection.connect(postgres_url) as heartbeat:
            await _lock_lease_row(heartbeat, namespace, "a")
            takeover = asyncio.create_task(first.take(now=later, until=later + LEASE, limit=1))
            await _wait_for_lock_waits(postgres_url, 1)

            other = await second.take(now=later, until=later + LEASE, limit=1)

            await heartbeat.rollback()
        assert ["b1"] == [lease.entry.id for lease in other]
        assert [("a1", 2)] == [(lease.entry.id, lease.entry.attempts) for lease in await takeover]
    finally:
        await first.close()
        await second.close()


async def test_an_old_holders_ack_racing_a_takeover_waits_for_it_and_is_refused(
    postgres_url: str, namespace: str
) -> None:
    """The taker read key k's head, then is held up leasing key a; the ack of k must wait."""
    taker = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    stalled = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    try:
        await taker.enqueue(entry("a1", "a"), now=T0)
        await taker.enqueue(entry("e1", "k"), now=T0)
        await taker.enqueue(entry("e2", "k"), now=T0)
        _, old_k = await stalled.take(now=T0, until=T0 + timedelta(seconds=1), limit=2)
        later = T0 + timedelta(seconds=2)
        async with await psycopg.AsyncConnection.connect(postgres_url) as heartbeat:
            await _lock_lease_row(heartbeat, namespace, "a")
            takeover = asyncio.create_task(taker.take(now=later, until=later + LEASE, limit=2))
            await _wait_for_lock_waits(postgres_url, 1)
            late_ack = asyncio.create_task(stalled.ack(old_k, now=later))
            await _wait_for_lock_waits(postgres_url, 2)

            await heartbeat.rollback()
        new_a, new_k = await takeover
        assert not await late_ack
        assert [("a1", 2), ("e1", 2)] == [
            (new.entry.id, new.entry.attempts) for new in (new_a, new_k)
        ]
        assert new_k.token > old_k.token
        assert await taker.ack(new_k, now=later)
        assert ["a1", "e2"] == [e.id for e in await taker.entries(state=None, limit=5)]
    finally:
        await taker.close()
        await stalled.close()


async def test_a_keys_entries_are_queued_in_the_order_their_intakes_finish(
    postgres_url: str, namespace: str
) -> None:
    """An intake held up after drawing its place holds back the next intake of its key.

    Another session's uncommitted entry with the same id holds the first intake
    after its ``INSERT`` drew a ``seq``; the second intake of the key waits, so
    no taker sees it ahead of the first.
    """
    store = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    try:
        async with await psycopg.AsyncConnection.connect(postgres_url) as rival:
            await rival.execute(
                sql.SQL(
                    "INSERT INTO {}.inbox (id, order_key, keys, payload, received_at, due_at, "
                    "attempts, state) VALUES ('x', 'k', '{{}}', '{{}}', %s, %s, 0, 'pending')"
                ).format(sql.Identifier(namespace)),
                (T0, T0),
            )
            first = asyncio.create_task(store.enqueue(entry("x", "k"), now=T0))
            await _wait_for_lock_waits(postgres_url, 1)
            second = asyncio.create_task(store.enqueue(entry("y", "k"), now=T0))
            await _wait_for_lock_waits(postgres_url, 2)

            assert [] == await store.take(now=T0, until=T0 + LEASE, limit=5)
            await rival.rollback()
        assert [EnqueueStatus.QUEUED] * 2 == [await first, await second]
        handled = []
        while leases := await store.take(now=T0, until=T0 + LEASE, limit=5):
            handled += [lease.entry.id for lease in leases]
            assert all([await store.ack(lease, now=T0) for lease in leases])
        assert ["x", "y"] == handled
    finally:
        await store.close()


async def test_a_heartbeat_landing_while_a_taker_is_held_up_keeps_the_key(
    postgres_url: str, namespace: str
) -> None:
    """The taker found key k's lease run out, but its holder renews it before the takeover."""
    taker = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    holder = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    try:
        await taker.enqueue(entry("a1", "a"), now=T0)
        await taker.enqueue(entry("e1", "k"), now=T0)
        _, held = await holder.take(now=T0, until=T0 + timedelta(seconds=1), limit=2)
        later = T0 + timedelta(seconds=2)
        async with await psycopg.AsyncConnection.connect(postgres_url) as other_heartbeat:
            await _lock_lease_row(other_heartbeat, namespace, "a")
            takeover = asyncio.create_task(taker.take(now=later, until=later + LEASE, limit=2))
            await _wait_for_lock_waits(postgres_url, 1)

            assert await holder.heartbeat(held, until=later + LEASE)

            await other_heartbeat.rollback()
        assert ["a1"] == [lease.entry.id for lease in await takeover]
        assert await holder.ack(held, now=later)
    finally:
        await taker.close()
        await holder.close()


async def test_a_discard_racing_a_take_waits_so_the_take_leases_the_head_it_read(
    postgres_url: str, namespace: str
) -> None:
    """The taker is held up after reading the head; the discard waits for the key's lock."""
    taker = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    admin = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    try:
        await taker.enqueue(entry("e1", "k"), now=T0)
        await taker.enqueue(entry("e2", "k"), now=T0)
        [old] = await taker.take(now=T0, until=T0 + timedelta(seconds=1), limit=1)
        later = T0 + timedelta(seconds=2)
        async with await psycopg.AsyncConnection.connect(postgres_url) as heartbeat:
            await _lock_lease_row(heartbeat, namespace, "k")
            takeover = asyncio.create_task(taker.take(now=later, until=later + LEASE, limit=1))
            await _wait_for_lock_waits(postgres_url, 1)
            discarding = asyncio.create_task(admin.discard("e1"))
            await _wait_for_lock_waits(postgres_url, 2)

            await heartbeat.rollback()
        [new] = await takeover
        assert ("e1", 2) == (new.entry.id, new.entry.attempts)
        assert new.token > old.token
        assert await discarding
        assert ["e2"] == [e.id for e in await taker.entries(state=None, limit=5)]
        assert not await taker.ack(new, now=later), "its entry was discarded after the take"
    finally:
        await taker.close()
        await admin.close()


async def test_of_concurrent_intakes_of_one_id_with_different_keys_only_one_records_its_keys(
    postgres_url: str, namespace: str
) -> None:
    receivers = [
        await PostgresEventStore.connect(postgres_url, namespace=namespace) for _ in range(10)
    ]
    try:
        statuses = await asyncio.gather(
            *(
                receiver.enqueue(entry("e1", "k", keys=(f"message:m{index}",)), now=T0)
                for index, receiver in enumerate(receivers)
            )
        )

        assert 1 == statuses.count(EnqueueStatus.QUEUED)
        stored = await receivers[0].entry("e1")
        assert stored is not None
        done = [await receivers[0].is_done(f"message:m{index}") for index in range(10)]
        assert [f"message:m{statuses.index(EnqueueStatus.QUEUED)}"] == list(stored.keys)
        assert [status is EnqueueStatus.QUEUED for status in statuses] == done
    finally:
        for receiver in receivers:
            await receiver.close()


async def test_a_server_defaulting_to_serializable_still_serves_concurrent_workers(
    postgres_url: str, namespace: str
) -> None:
    """Every pooled transaction runs in READ COMMITTED, so no serialization failure surfaces."""
    separator = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{separator}options=-c%20default_transaction_isolation%3Dserializable"
    stores = [await PostgresEventStore.connect(url, namespace=namespace) for _ in range(10)]
    try:
        for index in range(30):
            await stores[0].enqueue(entry(f"e{index:02}", f"k{index % 3}"), now=T0)
        handled: list[str] = []

        async def work(store: PostgresEventStore) -> None:
            deadline = time.monotonic() + 20
            while len(handled) < 30 and time.monotonic() < deadline:
                for lease in await store.take(now=T0, until=T0 + LEASE, limit=2):
                    handled.append(lease.entry.id)
                    assert await store.ack(lease, now=T0)
                await asyncio.sleep(0)

        await asyncio.gather(*(work(store) for store in stores))

        assert sorted(handled) == [f"e{index:02}" for index in range(30)]
    finally:
        for store in stores:
            await store.close()


async def test_workers_whose_leases_run_out_are_fenced_and_each_key_keeps_its_order(
    postgres_url: str, namespace: str
) -> None:
    """Eight pools on the wall clock with short leases; some workers stall past them.

    Of two leases on one key worked on at once, the one granted first (the lower
    token) had run out at the other's ``now``; each entry is acknowledged exactly
    once; per key the acknowledgements follow the order of intake; stalled
    holders are refused. (A worker handles the leases of one ``take`` one after
    another, so a lease can run out before its work starts, and a later grant's
    holder can start first.)
    """
    lease_for = timedelta(milliseconds=80)
    stores = [await PostgresEventStore.connect(postgres_url, namespace=namespace) for _ in range(8)]
    intake: dict[str, list[str]] = {}
    acked: dict[str, list[str]] = {}
    in_hand: dict[str, list[tuple[InboxLease, datetime]]] = {}
    refused = 0
    try:
        for index in range(60):
            key = f"k{index % 6}"
            intake.setdefault(key, []).append(f"e{index:02}")
            await stores[0].enqueue(entry(f"e{index:02}", key), now=T0)

        async def work(store: PostgresEventStore, rng: random.Random) -> None:
            nonlocal refused
            deadline = time.monotonic() + 20
            while sum(map(len, acked.values())) < 60 and time.monotonic() < deadline:
                now = datetime.now(UTC)
                for lease in await store.take(now=now, until=now + lease_for, limit=2):
                    key = lease.entry.order_key
                    for held, held_at in in_hand.get(key, []):
                        earlier, later_at = (
                            (held, now) if held.token < lease.token else (lease, held_at)
                        )
                        assert earlier.until <= later_at, (earlier, later_at)
                    in_hand.setdefault(key, []).append((lease, now))
                    stall = rng.random() < 0.1
                    await asyncio.sleep(0.12 if stall else rng.random() * 0.005)
                    in_hand[key].remove((lease, now))
                    if await store.ack(lease, now=datetime.now(UTC)):
                        acked.setdefault(key, []).append(lease.entry.id)
                    else:
                        refused += 1
                await asyncio.sleep(0.002)

        await asyncio.gather(
            *(work(store, random.Random(seed)) for seed, store in enumerate(stores))
        )

        assert intake == acked
        assert refused > 0, "no holder stalled past its lease: the run proved nothing"
        assert [] == await stores[0].entries(state=None, limit=10)
    finally:
        for store in stores:
            await store.close()
