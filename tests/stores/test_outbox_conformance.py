"""The outbox's part of the store contract, on memory, SQLite, PostgreSQL and Redis.

Records stored once with their first job, read back exactly, replaced only from
the version the writer read, found by message id, listed and counted by state;
concurrent writers of one record, persistence, and random sequences compared
with the memory store.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import strategies as st

from caresupport_transport.inbound import (
    EventStore,
    InboxEntry,
    OutboxRecord,
)

from .conftest import BACKENDS, Opener
from .model_check import compare_with_memory

T0 = datetime(2026, 3, 1, 12, 0, 0, 654321, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def record(
    record_id: str = "intent-1",
    *,
    state: str = "queued",
    created: timedelta = timedelta(0),
    message_ids: tuple[str, ...] = (),
) -> OutboxRecord:
    return OutboxRecord(
        id=record_id,
        state=state,
        payload='{"text": "Pills at 9 \\ud83d\\udc8a"}',
        created_at=T0 + created,
        updated_at=T0 + created,
        message_ids=message_ids,
        detail='{"attempts": 0}',
    )


def job(record_id: str = "intent-1", *, order_key: str = "conversation:c1") -> InboxEntry:
    return InboxEntry(
        id=f"send:{record_id}",
        order_key=order_key,
        keys=(f"job:send:{record_id}",),
        payload=f'{{"op": "send", "intent": "{record_id}"}}',
        received_at=T0,
        due_at=T0,
    )


async def test_a_record_is_stored_with_its_job_and_read_back_exactly(store: EventStore) -> None:
    stored = record(message_ids=("m0",))

    assert await store.put_record(stored, job(), now=T0)

    assert stored == await store.get_record("intent-1")
    [lease] = await store.take(now=T0, until=T0 + LEASE, limit=5)
    assert "send:intent-1" == lease.entry.id
    assert "intent-1" == await store.record_for_message("m0")


async def test_a_record_is_stored_once_and_a_second_put_writes_nothing(store: EventStore) -> None:
    await store.put_record(record(), job(), now=T0)

    again = attrs.evolve(record(), state="sent", payload="{}")
    assert not await store.put_record(again, job("other"), now=T0)

    assert record() == await store.get_record("intent-1")
    assert ["send:intent-1"] == [e.id for e in await store.entries(state=None, limit=10)]


async def test_a_record_with_a_job_seen_before_is_stored_without_a_second_job(
    store: EventStore,
) -> None:
    await store.put_record(record("a"), job("a"), now=T0)

    duplicate_job = attrs.evolve(job("a"), order_key="conversation:c2")
    assert await store.put_record(record("b"), duplicate_job, now=T0)

    assert None is not await store.get_record("b")
    assert 1 == len(await store.entries(state=None, limit=10))


async def test_replacing_from_the_version_read_bumps_it_and_a_stale_writer_loses(
    store: EventStore,
) -> None:
    await store.put_record(record(), job(), now=T0)
    sent = attrs.evolve(
        record(), state="sent", message_ids=("m1",), updated_at=T0 + LEASE, version=99
    )

    assert await store.replace_record(sent, expected_version=1)
    stale = attrs.evolve(record(), state="failed")
    assert not await store.replace_record(stale, expected_version=1)
    assert not await store.replace_record(attrs.evolve(sent, id="absent"), expected_version=1)

    assert attrs.evolve(sent, version=2) == await store.get_record("intent-1")


async def test_the_message_index_follows_the_record(store: EventStore) -> None:
    await store.put_record(record(), job(), now=T0)
    first = attrs.evolve(record(), state="sent", message_ids=("m1",))
    await store.replace_record(first, expected_version=1)
    resent = attrs.evolve(first, message_ids=("m1", "m2"))
    await store.replace_record(resent, expected_version=2)

    assert "intent-1" == await store.record_for_message("m1")
    assert "intent-1" == await store.record_for_message("m2")
    assert None is await store.record_for_message("m3")
    dropped = attrs.evolve(resent, message_ids=("m2",))
    await store.replace_record(dropped, expected_version=3)
    assert None is await store.record_for_message("m1")


async def test_records_are_listed_oldest_first_by_state_and_counted(store: EventStore) -> None:
    for index, state in enumerate(["queued", "sent", "delivered", "sent"]):
        made = record(f"i{index}", state=state, created=timedelta(seconds=10 - index))
        await store.put_record(made, job(f"i{index}", order_key=f"c{index}"), now=T0)

    everything = await store.records(state=None, limit=10)
    sent = await store.records(state="sent", limit=10)

    assert ["i3", "i2", "i1", "i0"] == [r.id for r in everything]
    assert ["i3", "i1"] == [r.id for r in sent]
    assert ["i3"] == [r.id for r in await store.records(state=None, limit=1)]
    assert {"queued": 1, "sent": 2, "delivered": 1} == await store.record_counts()
    assert [] == await store.records(state="read", limit=10)


async def test_records_created_at_the_same_moment_are_listed_by_id(store: EventStore) -> None:
    for record_id in ("b", "c", "a"):
        await store.put_record(record(record_id), job(record_id), now=T0)

    assert ["a", "b", "c"] == [r.id for r in await store.records(state=None, limit=10)]


async def test_of_ten_concurrent_writers_from_one_version_exactly_one_wins(
    open_store: Opener,
) -> None:
    writers = [await open_store() for _ in range(10)]
    await writers[0].put_record(record(), job(), now=T0)

    results = await asyncio.gather(
        *(
            writer.replace_record(attrs.evolve(record(), state=f"s{index}"), expected_version=1)
            for index, writer in enumerate(writers)
        )
    )

    assert 1 == results.count(True)
    stored = await writers[0].get_record("intent-1")
    assert stored is not None
    assert 2 == stored.version


async def test_of_ten_concurrent_puts_of_one_intent_exactly_one_is_stored(
    open_store: Opener,
) -> None:
    writers = [await open_store() for _ in range(10)]

    results = await asyncio.gather(
        *(
            writer.put_record(attrs.evolve(record(), detail=f'{{"w": {i}}}'), job(), now=T0)
            for i, writer in enumerate(writers)
        )
    )

    assert 1 == results.count(True)
    assert 1 == len(await writers[0].entries(state=None, limit=10))


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "memory"])
async def test_reopening_the_store_keeps_records_versions_and_the_message_index(
    open_store: Opener,
) -> None:
    first = await open_store()
    await first.put_record(record(), job(), now=T0)
    await first.replace_record(
        attrs.evolve(record(), state="sent", message_ids=("m1",)), expected_version=1
    )
    await first.close()

    reopened = await open_store()

    stored = await reopened.get_record("intent-1")
    assert stored is not None
    assert ("sent", 2, ("m1",)) == (stored.state, stored.version, stored.message_ids)
    assert "intent-1" == await reopened.record_for_message("m1")


# --- Random operation sequences, compared with the memory store ------------------------

IDS = st.sampled_from(["i1", "i2", "i3"])
STATES = st.sampled_from(["queued", "sent", "delivered", "failed"])
MESSAGES = st.lists(st.sampled_from(["m1", "m2", "m3", "m4"]), max_size=3, unique=True)


@dataclass(frozen=True)
class Step:
    """One call on record ``record_id``."""

    op: str
    record_id: str
    state: str
    message_ids: tuple[str, ...]
    version: int
    seconds: int


STEPS = st.builds(
    Step,
    op=st.sampled_from(["put", "put", "replace", "replace", "get", "find", "list", "count"]),
    record_id=IDS,
    state=STATES,
    message_ids=MESSAGES.map(tuple),
    version=st.integers(min_value=0, max_value=4),
    seconds=st.integers(min_value=0, max_value=5),
)


async def _apply(store: EventStore, step: Step) -> object:
    made = record(
        step.record_id,
        state=step.state,
        created=timedelta(seconds=step.seconds),
        message_ids=step.message_ids,
    )
    match step.op:
        case "put":
            return await store.put_record(made, job(step.record_id), now=T0)
        case "replace":
            return await store.replace_record(made, expected_version=step.version)
        case "get":
            return await store.get_record(step.record_id)
        case "find":
            return [await store.record_for_message(m) for m in ("m1", "m2", "m3", "m4")]
        case "list":
            return await store.records(state=None, limit=10)
        case _:
            return await store.record_counts()


async def _run(reference: EventStore, store: EventStore, steps: list[Step]) -> None:
    for index, step in enumerate(steps):
        expected = await _apply(reference, step)
        actual = await _apply(store, step)
        assert expected == actual, f"step {index}: {step}"


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "memory"])
def test_random_outbox_sequences_answer_as_the_memory_store_does(
    backend: str, request: pytest.FixtureRequest
) -> None:
    compare_with_memory(
        backend,
        request,
        st.lists(STEPS, min_size=1, max_size=25),
        _run,
        examples=40,
        networked_examples=15,
    )
