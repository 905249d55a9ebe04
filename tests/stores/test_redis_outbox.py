"""What only the Redis store's outbox must prove: a listing reads only the records it
returns and counting reads none, text and times come back exactly (and order as
Python orders them), every outbox key shares the namespace's slot and never expires,
and a lost server gives the library's errors."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import redis.asyncio
from redis.crc import key_slot

from caresupport_transport.errors import TransportError, ValidationError
from caresupport_transport.inbound import EventStore, InboxEntry, OutboxRecord
from caresupport_transport.inbound.redis_store import RedisEventStore

from .conftest import forget_namespace, fresh_namespace
from .test_redis_inbox import command_calls
from .test_redis_store import RestartableRedis

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def record(
    record_id: str,
    *,
    state: str = "queued",
    created_at: datetime = T0,
    message_ids: tuple[str, ...] = (),
) -> OutboxRecord:
    return OutboxRecord(
        id=record_id,
        state=state,
        payload="{}",
        created_at=created_at,
        updated_at=created_at,
        message_ids=message_ids,
    )


def job(record_id: str) -> InboxEntry:
    return InboxEntry(
        id=f"send:{record_id}",
        order_key=f"conversation:{record_id}",
        keys=(f"job:send:{record_id}",),
        payload="{}",
        received_at=T0,
        due_at=T0,
    )


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    name = fresh_namespace()
    yield name
    forget_namespace("redis", redis_url, name)


@pytest.fixture
async def store(redis_url: str, namespace: str) -> AsyncIterator[RedisEventStore]:
    async with await RedisEventStore.connect(redis_url, namespace=namespace) as made:
        # Annotated so that mypy checks the Redis store against the whole protocol.
        checked: EventStore = made
        assert checked is made
        yield made


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_listing_one_state_reads_only_the_records_it_returns_and_counting_reads_none(
    store: RedisEventStore, raw: redis.asyncio.Redis
) -> None:
    """With 300 delivered records and 3 failed ones, listing 2 failed reads 2 records."""
    for index in range(303):
        state = "failed" if index % 100 == 50 else "delivered"
        made = record(f"r{index:03}", state=state, created_at=T0 + timedelta(seconds=index))
        await store.put_record(made, job(made.id), now=T0)
    before = await command_calls(raw)

    failed = await store.records(state="failed", limit=2)
    counts = await store.record_counts()

    calls = await command_calls(raw)
    assert ["r050", "r150"] == [r.id for r in failed]
    assert {"delivered": 300, "failed": 3} == counts
    assert 2 + 1 == calls["hgetall"] - before.get("hgetall", 0)


async def test_text_comes_back_exactly_and_the_message_index_follows_it(
    store: RedisEventStore,
) -> None:
    odd_ids = ('m "1" \\ ü', "m\n2 💊", "m3\x00")
    payload = '{"text": "Pills at 9 💊\\nthen \\"rest\\""}'
    made = attrs.evolve(
        record("intent ç 1", state="envoyé ✓", message_ids=odd_ids),
        payload=payload,
        detail='{"note": "— ok"}',
    )
    await store.put_record(made, job("intent ç 1"), now=T0)

    assert made == await store.get_record("intent ç 1")
    assert ["intent ç 1"] == [r.id for r in await store.records(state="envoyé ✓", limit=5)]
    assert {"envoyé ✓": 1} == await store.record_counts()
    assert ["intent ç 1"] * 3 == [await store.record_for_message(m) for m in odd_ids]

    kept = attrs.evolve(made, message_ids=odd_ids[1:])
    assert await store.replace_record(kept, expected_version=1)

    assert None is await store.record_for_message(odd_ids[0])
    assert ["intent ç 1"] * 2 == [await store.record_for_message(m) for m in odd_ids[1:]]


async def test_records_are_ordered_by_id_as_python_orders_strings(store: RedisEventStore) -> None:
    ids = ["é", "z", "\uffff", "😀", "a", "a b", "ab", "A"]
    for record_id in ids:
        await store.put_record(record(record_id), job(record_id), now=T0)

    assert sorted(ids) == [r.id for r in await store.records(state=None, limit=20)]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1700, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2250, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
async def test_times_come_back_exact_to_the_microsecond_and_list_in_order(
    store: RedisEventStore, moment: datetime
) -> None:
    earlier = moment - timedelta(microseconds=1)
    await store.put_record(record("b", created_at=moment), job("b"), now=T0)
    await store.put_record(record("c", created_at=earlier), job("c"), now=T0)

    stored = await store.get_record("b")

    assert stored is not None
    assert (moment, moment) == (stored.created_at, stored.updated_at)
    assert UTC == stored.created_at.tzinfo
    assert ["c", "b"] == [r.id for r in await store.records(state="queued", limit=5)]


async def test_a_time_redis_cannot_hold_exactly_is_refused_naming_the_field(
    store: RedisEventStore,
) -> None:
    far = datetime(9999, 1, 1, tzinfo=UTC)
    await store.put_record(record("kept"), job("kept"), now=T0)

    with pytest.raises(ValidationError, match="created_at"):
        await store.put_record(record("far", created_at=far), job("far"), now=T0)
    with pytest.raises(ValidationError, match="updated_at"):
        await store.replace_record(attrs.evolve(record("kept"), updated_at=far), expected_version=1)

    assert None is await store.get_record("far")
    assert ["send:kept"] == [e.id for e in await store.entries(state=None, limit=5)]
    assert record("kept") == await store.get_record("kept")


async def test_every_outbox_key_is_prefixed_in_one_cluster_slot_and_never_expires(
    store: RedisEventStore, namespace: str, raw: redis.asyncio.Redis
) -> None:
    await store.put_record(record("r1", message_ids=("m1",)), job("r1"), now=T0)
    await store.put_record(record("r2"), job("r2"), now=T0)
    await store.replace_record(record("r2", state="sent"), expected_version=1)

    written = {key async for key in raw.scan_iter(match=f"{{{namespace}}}:*")}
    outbox = {key for key in written if key.startswith(f"{{{namespace}}}:outbox:")}

    assert {
        f"{{{namespace}}}:outbox:{name}"
        for name in (
            "by_created",
            "counts",
            "messages",
            "record:r1",
            "record:r2",
            "state:queued",
            "state:sent",
        )
    } == outbox
    assert 1 == len({key_slot(key.encode()) for key in written})
    assert {-1} == {await raw.pttl(key) for key in outbox}


async def test_a_state_left_by_its_last_record_leaves_no_ranking_and_no_count(
    store: RedisEventStore, namespace: str, raw: redis.asyncio.Redis
) -> None:
    await store.put_record(record("r1"), job("r1"), now=T0)

    assert await store.replace_record(record("r1", state="sent"), expected_version=1)

    assert 0 == await raw.exists(f"{{{namespace}}}:outbox:state:queued")
    assert {"sent": 1} == await store.record_counts()


@pytest.fixture
def own_redis() -> Iterator[RestartableRedis]:
    server = RestartableRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(server.directory, ignore_errors=True)


async def test_every_outbox_failure_is_a_library_error(own_redis: RestartableRedis) -> None:
    async with await RedisEventStore.connect(own_redis.url, namespace="lost") as store:
        await store.put_record(record("r1"), job("r1"), now=T0)
        own_redis.kill()
        calls = [
            store.put_record(record("r2"), job("r2"), now=T0),
            store.get_record("r1"),
            store.replace_record(record("r1", state="sent"), expected_version=1),
            store.record_for_message("m1"),
            store.records(state=None, limit=5),
            store.records(state="queued", limit=5),
            store.record_counts(),
        ]
        for call in calls:
            with pytest.raises(TransportError):
                await call
