"""What only the Redis store's inbox must prove: take reads only what it needs, times
stay exact to the microsecond, every inbox key shares the namespace's slot and never
expires, and a lost server gives the library's errors."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio
from redis.crc import key_slot

from caresupport_transport.errors import TransportError, ValidationError
from caresupport_transport.inbound import InboxEntry, InboxState
from caresupport_transport.inbound.redis_store import RedisEventStore

from .conftest import forget_namespace, fresh_namespace
from .test_redis_store import RestartableRedis

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def entry(
    entry_id: str,
    order_key: str,
    *,
    due: timedelta = timedelta(0),
    received_at: datetime = T0,
    payload: str = "{}",
) -> InboxEntry:
    return InboxEntry(
        id=entry_id,
        order_key=order_key,
        keys=(f"event:{entry_id}",),
        payload=payload,
        received_at=received_at,
        due_at=received_at + due,
    )


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    name = fresh_namespace()
    yield name
    forget_namespace("redis", redis_url, name)


@pytest.fixture
async def store(redis_url: str, namespace: str) -> AsyncIterator[RedisEventStore]:
    async with await RedisEventStore.connect(redis_url, namespace=namespace) as made:
        yield made


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def command_calls(raw: redis.asyncio.Redis) -> dict[str, int]:
    """How often the server ran each command so far (scripts' commands included)."""
    stats = await raw.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


async def test_equally_due_keys_are_leased_in_acceptance_order_not_by_key_name(
    store: RedisEventStore,
) -> None:
    for entry_id, order_key in (("first", "conversation:z"), ("second", "conversation:a")):
        await store.enqueue(entry(entry_id, order_key), now=T0)

    leases = await store.take(now=T0, until=T0 + LEASE, limit=1)

    assert ["first"] == [lease.entry.id for lease in leases]


async def test_a_key_whose_lease_ran_out_ranks_by_its_entrys_due_time_not_the_leases_end(
    store: RedisEventStore,
) -> None:
    await store.enqueue(entry("held", "conversation:a"), now=T0)
    await store.enqueue(entry("later", "conversation:b", due=timedelta(seconds=10)), now=T0)
    assert 1 == len(await store.take(now=T0, until=T0 + LEASE, limit=1))

    after = T0 + 2 * LEASE
    leases = await store.take(now=after, until=after + LEASE, limit=1)

    assert [("held", 2)] == [(lease.entry.id, lease.entry.attempts) for lease in leases]


async def test_a_heartbeat_after_a_take_found_the_lease_ended_holds_the_key_again(
    store: RedisEventStore,
) -> None:
    """The take at ``after`` brings the stale key back in line but leases an earlier one."""
    await store.enqueue(entry("held", "conversation:a"), now=T0)
    [stale] = await store.take(now=T0, until=T0 + LEASE, limit=1)
    early = T0 - timedelta(seconds=1)
    await store.enqueue(entry("early", "conversation:b", received_at=early), now=T0)
    after = T0 + 2 * LEASE
    [first] = await store.take(now=after, until=after + LEASE, limit=1)
    assert "early" == first.entry.id
    assert await store.ack(first, now=after)

    assert await store.heartbeat(stale, until=after + LEASE)

    assert [] == await store.take(now=after, until=after + LEASE, limit=5)
    later = after + LEASE
    assert ["held"] == [
        lease.entry.id for lease in await store.take(now=later, until=later + LEASE, limit=5)
    ]


async def test_a_heartbeat_that_shortens_a_lease_frees_the_key_at_the_new_end(
    store: RedisEventStore,
) -> None:
    await store.enqueue(entry("e1", "conversation:a"), now=T0)
    [lease] = await store.take(now=T0, until=T0 + LEASE, limit=1)
    sooner = T0 + timedelta(seconds=5)

    assert await store.heartbeat(lease, until=sooner)

    assert [] == await store.take(now=sooner - timedelta(microseconds=1), until=T0, limit=1)
    [again] = await store.take(now=sooner, until=sooner + LEASE, limit=1)
    assert ("e1", 2) == (again.entry.id, again.entry.attempts)


async def test_a_take_by_a_clock_behind_never_leases_a_key_another_take_brought_back(
    store: RedisEventStore,
) -> None:
    """The take at ``after`` brings the stale key back in line but leases an earlier one."""
    await store.enqueue(entry("held", "conversation:a"), now=T0)
    assert 1 == len(await store.take(now=T0, until=T0 + LEASE, limit=1))
    await store.enqueue(entry("first", "conversation:b", received_at=T0 - LEASE), now=T0)
    after = T0 + LEASE
    assert ["first"] == [
        lease.entry.id for lease in await store.take(now=after, until=after + LEASE, limit=1)
    ]

    behind = after - timedelta(microseconds=1)
    assert [] == await store.take(now=behind, until=behind + LEASE, limit=5)
    assert ["held"] == [
        lease.entry.id for lease in await store.take(now=after, until=after + LEASE, limit=5)
    ]


async def test_take_looks_only_at_the_keys_it_leases_not_at_the_held_or_waiting_ones(
    store: RedisEventStore, raw: redis.asyncio.Redis
) -> None:
    """With 500 due keys and 3 held, one take of 2 checks the leases of 2 keys."""
    for index in range(500):
        await store.enqueue(entry(f"e{index:03}", f"conversation:c{index:03}"), now=T0)
    held = await store.take(now=T0, until=T0 + LEASE, limit=3)
    before = await command_calls(raw)

    leases = await store.take(now=T0, until=T0 + LEASE, limit=2)

    calls = await command_calls(raw)
    assert ["e003", "e004"] == [lease.entry.id for lease in leases]
    assert 3 == len(held)
    assert len(leases) == calls["zscore"] - before.get("zscore", 0)
    assert 1 == calls["zrangebylex"] - before["zrangebylex"]


async def test_of_twenty_workers_over_fifty_keys_each_key_is_leased_exactly_once(
    redis_url: str, namespace: str
) -> None:
    workers = [await RedisEventStore.connect(redis_url, namespace=namespace) for _ in range(20)]
    try:
        for index in range(50):
            await workers[0].enqueue(entry(f"e{index}", f"conversation:c{index}"), now=T0)

        results = await asyncio.gather(
            *(worker.take(now=T0, until=T0 + LEASE, limit=4) for worker in workers)
        )

        taken = sorted(lease.entry.id for leases in results for lease in leases)
        assert sorted(f"e{index}" for index in range(50)) == taken
        tokens = [lease.token for leases in results for lease in leases]
        assert len(tokens) == len(set(tokens))
    finally:
        for worker in workers:
            await worker.close()


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1700, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2250, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
async def test_times_come_back_exact_to_the_microsecond_and_due_in_order(
    store: RedisEventStore, moment: datetime
) -> None:
    await store.enqueue(entry("e1", "conversation:a", received_at=moment), now=T0)
    await store.enqueue(
        entry("e2", "conversation:b", received_at=moment - timedelta(microseconds=1)), now=T0
    )

    stored = await store.entry("e1")
    too_early = await store.take(now=moment - timedelta(microseconds=2), until=T0, limit=5)
    leases = await store.take(now=moment, until=T0, limit=5)

    assert stored is not None
    assert (moment, moment) == (stored.received_at, stored.due_at)
    assert UTC == stored.received_at.tzinfo
    assert [] == too_early
    assert ["e2", "e1"] == [lease.entry.id for lease in leases]
    assert moment - timedelta(microseconds=1) == (await store.stats(now=T0)).oldest_pending


async def test_a_time_redis_cannot_hold_exactly_is_refused_naming_the_field(
    store: RedisEventStore,
) -> None:
    far = datetime(9999, 1, 1, tzinfo=UTC)

    with pytest.raises(ValidationError, match="received_at"):
        await store.enqueue(entry("e1", "conversation:a", received_at=far), now=T0)
    assert None is await store.entry("e1")


async def test_an_entry_keeps_its_payload_keys_and_error_exactly(
    store: RedisEventStore,
) -> None:
    payload = '{"text": "Pills at 9 💊\\nthen \\"rest\\""}'
    accepted = InboxEntry(
        id="e:1 ü",
        order_key="conversation:ç 1",
        keys=("event:e:1 ü", 'message:"m1"'),
        payload=payload,
        received_at=T0,
        due_at=T0,
    )
    await store.enqueue(accepted, now=T0)
    [lease] = await store.take(now=T0, until=T0 + LEASE, limit=1)

    await store.bury(lease, error="ValueError at care.py:40 — line 2\n")

    [dead] = await store.entries(state=InboxState.DEAD, limit=5)
    assert accepted.keys == dead.keys
    assert payload == dead.payload
    assert ("e:1 ü", "conversation:ç 1") == (dead.id, dead.order_key)
    assert "ValueError at care.py:40 — line 2\n" == dead.last_error


async def test_every_inbox_key_is_prefixed_in_one_cluster_slot_and_never_expires(
    store: RedisEventStore, namespace: str, raw: redis.asyncio.Redis
) -> None:
    for entry_id, order_key in (
        ("e1", "conversation:a"),
        ("e2", "conversation:b"),
        ("e3", "conversation:c"),
    ):
        await store.enqueue(entry(entry_id, order_key), now=T0)
    leases = await store.take(now=T0, until=T0 + LEASE, limit=2)
    await store.bury(leases[0], error="boom")

    written = {key async for key in raw.scan_iter(match=f"{{{namespace}}}:*")}
    inbox = {key for key in written if key.startswith(f"{{{namespace}}}:inbox:")}

    assert {
        f"{{{namespace}}}:inbox:{name}"
        for name in (
            "seq",
            "token",
            "heads",
            "places",
            "leases",
            "lease_ends",
            "parked",
            "pending",
            "dead",
            "due",
            "received",
            "entry:e1",
            "entry:e2",
            "entry:e3",
            "queue:conversation:b",
            "queue:conversation:c",
        )
    } == inbox
    assert 1 == len({key_slot(key.encode()) for key in written})
    assert {-1} == {await raw.pttl(key) for key in inbox}
    assert 0 < await raw.pttl(f"{{{namespace}}}:key:event:e1")


async def test_an_emptied_inbox_leaves_only_its_counters_and_a_lease_left_by_discard(
    store: RedisEventStore, namespace: str, raw: redis.asyncio.Redis
) -> None:
    """A lease outlives its discarded entry, as in the memory store, until a take replaces it."""
    await store.enqueue(entry("e1", "conversation:a"), now=T0)
    await store.enqueue(entry("e2", "conversation:b"), now=T0)
    leases = await store.take(now=T0, until=T0 + LEASE, limit=2)
    await store.ack(next(lease for lease in leases if lease.entry.id == "e1"), now=T0)

    assert await store.discard("e2")

    inbox = {key async for key in raw.scan_iter(match=f"{{{namespace}}}:inbox:*")}
    prefix = f"{{{namespace}}}:inbox:"
    assert {
        f"{prefix}{name}" for name in ("seq", "token", "leases", "lease_ends", "parked")
    } == inbox
    assert 1 == (await store.stats(now=T0)).leased
    assert 0 == (await store.stats(now=T0 + LEASE)).leased


@pytest.fixture
def own_redis() -> Iterator[RestartableRedis]:
    server = RestartableRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(server.directory, ignore_errors=True)


async def test_every_inbox_failure_is_a_library_error(own_redis: RestartableRedis) -> None:
    async with await RedisEventStore.connect(own_redis.url, namespace="lost") as store:
        await store.enqueue(entry("e1", "conversation:a"), now=T0)
        [lease] = await store.take(now=T0, until=T0 + LEASE, limit=1)
        own_redis.kill()
        calls = [
            store.enqueue(entry("e2", "conversation:a"), now=T0),
            store.take(now=T0, until=T0 + LEASE, limit=1),
            store.heartbeat(lease, until=T0 + LEASE),
            store.ack(lease, now=T0),
            store.retry(lease, error="x", due_at=T0),
            store.bury(lease, error="x"),
            store.entries(state=None, limit=5),
            store.entry("e1"),
            store.replay("e1", now=T0),
            store.discard("e1"),
            store.stats(now=T0),
        ]
        for call in calls:
            with pytest.raises(TransportError):
                await call
