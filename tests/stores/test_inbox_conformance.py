"""The durable inbox's part of the store contract, on memory, SQLite, PostgreSQL and Redis.

Intake de-duplication, per-key order, leases with fencing tokens, retry and
dead letters, replay and discard, listing and counts, persistence, concurrent
workers on one backing, and random operation sequences compared with the
memory store.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import strategies as st

from caresupport_transport.inbound import (
    ClaimStatus,
    EnqueueStatus,
    EventStore,
    InboxEntry,
    InboxLease,
    InboxState,
    InboxStats,
)

from .conftest import BACKENDS, Opener
from .model_check import compare_with_memory

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def entry(
    entry_id: str,
    order_key: str = "conversation:c1",
    *,
    due: timedelta = timedelta(0),
    keys: tuple[str, ...] | None = None,
    payload: str = '{"text": "Pills at 9 \\ud83d\\udc8a"}',
) -> InboxEntry:
    return InboxEntry(
        id=entry_id,
        order_key=order_key,
        keys=keys if keys is not None else (f"event:{entry_id}",),
        payload=payload,
        received_at=T0,
        due_at=T0 + due,
    )


async def take_one(store: EventStore, now: datetime = T0) -> InboxLease | None:
    leases = await store.take(now=now, until=now + LEASE, limit=1)
    assert len(leases) <= 1
    return leases[0] if leases else None


async def test_an_accepted_entry_is_taken_with_its_fields_and_one_attempt(
    store: EventStore,
) -> None:
    accepted = entry("e1", keys=("event:e1", "message:m1"))

    assert EnqueueStatus.QUEUED == await store.enqueue(accepted, now=T0)
    lease = await take_one(store)

    assert lease is not None
    assert attrs.evolve(accepted, attempts=1) == lease.entry
    assert T0 + LEASE == lease.until
    assert lease.token > 0


async def test_intake_records_the_keys_so_any_of_them_is_a_duplicate(store: EventStore) -> None:
    await store.enqueue(entry("e1", keys=("event:e1", "message:m1")), now=T0)

    by_message = entry("poll:m1", keys=("event:poll:m1", "message:m1"))
    assert EnqueueStatus.DUPLICATE == await store.enqueue(by_message, now=T0)
    assert EnqueueStatus.DUPLICATE == await store.enqueue(entry("e1"), now=T0)
    assert await store.is_done("message:m1")
    assert None is await store.entry("poll:m1")
    assert not await store.is_done("event:poll:m1"), "a refused entry writes nothing"


async def test_an_entry_with_an_id_already_in_the_inbox_is_a_duplicate(store: EventStore) -> None:
    await store.enqueue(entry("e1", keys=("event:e1",)), now=T0)

    again = entry("e1", keys=("event:other",))

    assert EnqueueStatus.DUPLICATE == await store.enqueue(again, now=T0)
    assert not await store.is_done("event:other")


async def test_a_key_done_or_claimed_by_the_direct_dispatcher_is_a_duplicate_at_intake(
    store: EventStore,
) -> None:
    await store.complete(["event:done"], now=T0)
    await store.claim(["event:claimed"], token="a", now=T0, until=T0 + LEASE)

    assert EnqueueStatus.DUPLICATE == await store.enqueue(entry("done"), now=T0)
    assert EnqueueStatus.DUPLICATE == await store.enqueue(entry("claimed"), now=T0)
    assert EnqueueStatus.QUEUED == await store.enqueue(entry("claimed"), now=T0 + LEASE)


async def test_an_accepted_key_cannot_be_claimed_by_the_direct_dispatcher(
    store: EventStore,
) -> None:
    await store.enqueue(entry("e1"), now=T0)

    assert ClaimStatus.DONE == await store.claim(["event:e1"], token="a", now=T0, until=T0)


async def test_an_entry_is_not_taken_before_it_is_due(store: EventStore) -> None:
    await store.enqueue(entry("e1", due=timedelta(seconds=10)), now=T0)

    assert None is await take_one(store, T0 + timedelta(seconds=9))
    assert None is not await take_one(store, T0 + timedelta(seconds=10))


async def test_one_key_is_handled_in_order_one_entry_at_a_time(store: EventStore) -> None:
    for entry_id in ("e1", "e2", "e3"):
        await store.enqueue(entry(entry_id), now=T0)

    handled = []
    while (lease := await take_one(store)) is not None:
        assert [] == await store.take(now=T0, until=T0 + LEASE, limit=5), "key is leased"
        handled.append(lease.entry.id)
        assert await store.ack(lease, now=T0)

    assert ["e1", "e2", "e3"] == handled
    assert [] == await store.entries(state=None, limit=10)


async def test_different_keys_are_leased_together_up_to_the_limit(store: EventStore) -> None:
    for index in range(5):
        await store.enqueue(entry(f"e{index}", f"conversation:c{index}"), now=T0)
    await store.enqueue(entry("e-second-of-c0", "conversation:c0"), now=T0)

    first = await store.take(now=T0, until=T0 + LEASE, limit=3)
    rest = await store.take(now=T0, until=T0 + LEASE, limit=10)

    assert 3 == len(first)
    assert 2 == len(rest)
    taken = [lease.entry.id for lease in first + rest]
    assert sorted(taken) == [f"e{index}" for index in range(5)]
    tokens = [lease.token for lease in first + rest]
    assert len(set(tokens)) == 5


async def test_the_entries_due_soonest_are_leased_first(store: EventStore) -> None:
    await store.enqueue(entry("late", "conversation:a", due=timedelta(seconds=5)), now=T0)
    await store.enqueue(entry("early", "conversation:b"), now=T0)

    leases = await store.take(now=T0 + timedelta(seconds=5), until=T0 + LEASE, limit=1)

    assert ["early"] == [lease.entry.id for lease in leases]


async def test_among_equally_due_keys_the_entry_accepted_first_is_leased_first(
    store: EventStore,
) -> None:
    for index, key in enumerate(["conversation:z", "conversation:a", "conversation:m"]):
        await store.enqueue(entry(f"e{index}", key), now=T0)

    taken = [
        lease.entry.id
        for lease in await store.take(now=T0, until=T0 + LEASE, limit=1)
        + await store.take(now=T0, until=T0 + LEASE, limit=1)
        + await store.take(now=T0, until=T0 + LEASE, limit=1)
    ]

    assert ["e0", "e1", "e2"] == taken


async def test_a_key_whose_lease_ran_out_ranks_by_its_entrys_due_time_not_the_lease_end(
    store: EventStore,
) -> None:
    await store.enqueue(entry("stalled", "conversation:a"), now=T0)
    stalled = await take_one(store)
    assert stalled is not None
    later = T0 + timedelta(seconds=5)
    await store.enqueue(entry("fresh", "conversation:b", due=timedelta(seconds=5)), now=later)

    leases = await store.take(now=T0 + 2 * LEASE, until=T0 + 3 * LEASE, limit=1)

    assert ["stalled"] == [lease.entry.id for lease in leases]


async def test_a_lease_whose_holder_stalled_is_taken_over_and_the_old_token_is_fenced(
    store: EventStore,
) -> None:
    await store.enqueue(entry("e1"), now=T0)
    old = await take_one(store)
    assert old is not None
    assert None is await take_one(store, T0 + LEASE - timedelta(microseconds=1))

    new = await take_one(store, T0 + LEASE)

    assert new is not None
    assert new.token > old.token
    assert 2 == new.entry.attempts
    later = T0 + 3 * LEASE
    assert not await store.heartbeat(old, until=later)
    assert not await store.ack(old, now=T0 + LEASE)
    assert not await store.retry(old, error="late", due_at=T0)
    assert not await store.bury(old, error="late")
    stored = await store.entry("e1")
    assert stored is not None
    assert (InboxState.PENDING, None) == (stored.state, stored.last_error)
    assert await store.ack(new, now=T0 + LEASE)
    assert None is await store.entry("e1")


async def test_an_expired_lease_nobody_took_over_still_acknowledges(store: EventStore) -> None:
    await store.enqueue(entry("e1"), now=T0)
    lease = await take_one(store)
    assert lease is not None

    assert await store.ack(lease, now=T0 + 10 * LEASE)
    assert None is await store.entry("e1")


async def test_a_heartbeat_keeps_the_key_from_other_workers(store: EventStore) -> None:
    await store.enqueue(entry("e1"), now=T0)
    lease = await take_one(store)
    assert lease is not None

    assert await store.heartbeat(lease, until=T0 + 2 * LEASE)

    assert None is await take_one(store, T0 + LEASE)
    assert None is not await take_one(store, T0 + 2 * LEASE)


async def test_acknowledging_twice_is_refused_the_second_time(store: EventStore) -> None:
    await store.enqueue(entry("e1"), now=T0)
    await store.enqueue(entry("e2"), now=T0)
    lease = await take_one(store)
    assert lease is not None

    assert await store.ack(lease, now=T0)
    assert not await store.ack(lease, now=T0)
    assert not await store.retry(lease, error="x", due_at=T0)
    assert ["e2"] == [e.id for e in await store.entries(state=None, limit=10)]


async def test_ack_turn_removes_the_turns_entries_of_the_key_at_once_and_frees_it(
    store: EventStore,
) -> None:
    for entry_id, order_key in [("e1", "k1"), ("e2", "k1"), ("e3", "k1"), ("f1", "k2")]:
        await store.enqueue(entry(entry_id, order_key), now=T0)
    lease = await take_one(store)
    assert lease is not None
    assert "e1" == lease.entry.id

    assert await store.ack_turn(lease, ["e2", "f1", "absent"], now=T0)

    assert ["e3", "f1"] == [e.id for e in await store.entries(state=None, limit=10)]
    after = await store.take(now=T0, until=T0 + LEASE, limit=5)
    assert ["e3", "f1"] == sorted(lease.entry.id for lease in after), "the key is free again"


async def test_ack_turn_from_a_lease_taken_over_is_refused_and_changes_nothing(
    store: EventStore,
) -> None:
    await store.enqueue(entry("e1"), now=T0)
    await store.enqueue(entry("e2"), now=T0)
    stale = await take_one(store)
    assert stale is not None
    later = T0 + LEASE + timedelta(seconds=1)
    fresh = await take_one(store, later)
    assert fresh is not None

    assert not await store.ack_turn(stale, ["e2"], now=later)

    assert ["e1", "e2"] == [e.id for e in await store.entries(state=None, limit=10)]
    assert await store.ack_turn(fresh, ["e2"], now=later)
    assert [] == await store.entries(state=None, limit=10)


async def test_ack_turn_leaves_a_dead_entry_of_the_key_dead(store: EventStore) -> None:
    await store.enqueue(entry("e1"), now=T0)
    await store.enqueue(entry("e2"), now=T0)
    first = await take_one(store)
    assert first is not None
    assert await store.bury(first, error="gave up")
    second = await take_one(store)
    assert second is not None

    assert await store.ack_turn(second, ["e1"], now=T0)

    assert [("e1", InboxState.DEAD)] == [
        (e.id, e.state) for e in await store.entries(state=None, limit=10)
    ]


async def test_pending_of_lists_one_keys_pending_entries_in_acceptance_order(
    store: EventStore,
) -> None:
    for entry_id, order_key in [("e1", "k1"), ("f1", "k2"), ("e2", "k1"), ("e3", "k1")]:
        await store.enqueue(entry(entry_id, order_key, due=timedelta(seconds=5)), now=T0)
    await store.enqueue(entry("e4", "k1"), now=T0)

    assert ["e1", "e2", "e3", "e4"] == [e.id for e in await store.pending_of("k1", limit=10)]
    assert ["e1", "e2"] == [e.id for e in await store.pending_of("k1", limit=2)]
    assert [] == await store.pending_of("k1", limit=0)
    assert [] == await store.pending_of("k3", limit=10)
    lease = await take_one(store, T0 + timedelta(seconds=5))
    assert lease is not None
    listed = await store.pending_of("k1", limit=1)
    assert [lease.entry] == listed, "a leased entry is listed as stored, its attempt counted"
    assert await store.bury(lease, error="gave up")
    assert ["e2", "e3", "e4"] == [e.id for e in await store.pending_of("k1", limit=10)]
    assert await store.replay("e1", now=T0)
    assert ["e1", "e2", "e3", "e4"] == [e.id for e in await store.pending_of("k1", limit=10)]


async def test_retry_reschedules_notes_the_error_and_frees_the_key(store: EventStore) -> None:
    await store.enqueue(entry("e1"), now=T0)
    await store.enqueue(entry("e2"), now=T0)
    lease = await take_one(store)
    assert lease is not None
    due = T0 + timedelta(minutes=5)

    assert await store.retry(lease, error="RuntimeError at care.py:12", due_at=due)

    stored = await store.entry("e1")
    assert attrs.evolve(lease.entry, due_at=due, last_error="RuntimeError at care.py:12") == stored
    assert None is await take_one(store, due - timedelta(seconds=1)), "e2 waits behind e1"
    again = await take_one(store, due)
    assert again is not None
    assert ("e1", 2) == (again.entry.id, again.entry.attempts)


async def test_a_buried_entry_is_dead_and_no_longer_holds_up_its_key(store: EventStore) -> None:
    await store.enqueue(entry("poison"), now=T0)
    await store.enqueue(entry("next"), now=T0)
    lease = await take_one(store)
    assert lease is not None

    assert await store.bury(lease, error="ValueError at care.py:40")

    dead = await store.entry("poison")
    assert dead is not None
    assert (InboxState.DEAD, "ValueError at care.py:40", 1) == (
        dead.state,
        dead.last_error,
        dead.attempts,
    )
    following = await take_one(store)
    assert following is not None
    assert "next" == following.entry.id
    assert ["poison"] == [e.id for e in await store.entries(state=InboxState.DEAD, limit=10)]


async def test_a_replayed_entry_is_due_now_keeps_its_place_and_starts_its_attempts_again(
    store: EventStore,
) -> None:
    await store.enqueue(entry("poison"), now=T0)
    lease = await take_one(store)
    assert lease is not None
    await store.bury(lease, error="ValueError")
    await store.enqueue(entry("later"), now=T0)
    replay_at = T0 + timedelta(hours=1)

    assert await store.replay("poison", now=replay_at)
    assert not await store.replay("absent", now=replay_at)

    replayed = await store.entry("poison")
    assert replayed is not None
    assert (InboxState.PENDING, replay_at, 0, "ValueError") == (
        replayed.state,
        replayed.due_at,
        replayed.attempts,
        replayed.last_error,
    )
    first = await take_one(store, replay_at)
    assert first is not None
    assert ("poison", 1) == (first.entry.id, first.entry.attempts)


async def test_a_discarded_entry_is_gone_and_its_keys_stay_duplicates(store: EventStore) -> None:
    await store.enqueue(entry("e1", keys=("event:e1", "message:m1")), now=T0)

    assert await store.discard("e1")
    assert not await store.discard("e1")

    assert None is await store.entry("e1")
    assert None is await take_one(store)
    assert EnqueueStatus.DUPLICATE == await store.enqueue(entry("e1"), now=T0)


async def test_entries_are_listed_in_acceptance_order_by_state_with_a_limit(
    store: EventStore,
) -> None:
    for index in range(4):
        await store.enqueue(entry(f"e{index}", f"conversation:c{index % 2}"), now=T0)
    lease = await take_one(store)
    assert lease is not None
    await store.bury(lease, error="boom")

    listed = await store.entries(state=None, limit=10)
    pending = await store.entries(state=InboxState.PENDING, limit=2)
    dead = await store.entries(state=InboxState.DEAD, limit=10)

    assert ["e0", "e1", "e2", "e3"] == [e.id for e in listed]
    assert ["e1", "e2"] == [e.id for e in pending]
    assert ["e0"] == [e.id for e in dead]
    assert [] == await store.entries(state=None, limit=0)


async def test_stats_count_pending_due_leased_and_dead(store: EventStore) -> None:
    empty = await store.stats(now=T0)
    assert InboxStats(pending=0, due=0, leased=0, dead=0, oldest_pending=None) == empty
    await store.enqueue(entry("a1", "conversation:a"), now=T0)
    await store.enqueue(entry("a2", "conversation:a"), now=T0)
    await store.enqueue(entry("b1", "conversation:b", due=timedelta(minutes=1)), now=T0)
    await store.enqueue(entry("c1", "conversation:c"), now=T0)
    leases = await store.take(now=T0, until=T0 + LEASE, limit=5)
    dead_lease = next(lease for lease in leases if lease.entry.id == "c1")
    await store.bury(dead_lease, error="boom")

    stats = await store.stats(now=T0)

    assert InboxStats(pending=3, due=2, leased=1, dead=1, oldest_pending=T0) == stats
    assert 0 == (await store.stats(now=T0 + LEASE)).leased


async def test_tokens_only_grow_even_after_a_key_empties(store: EventStore) -> None:
    tokens = []
    for entry_id in ("e1", "e2", "e3"):
        await store.enqueue(entry(entry_id), now=T0)
        lease = await take_one(store)
        assert lease is not None
        tokens.append(lease.token)
        await store.ack(lease, now=T0)

    assert tokens == sorted(set(tokens))


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "memory"])
async def test_reopening_the_store_keeps_the_inbox_its_leases_and_its_tokens(
    open_store: Opener,
) -> None:
    first = await open_store()
    await first.enqueue(entry("e1", "conversation:a"), now=T0)
    await first.enqueue(entry("e2", "conversation:b"), now=T0)
    await first.enqueue(entry("e3", "conversation:a"), now=T0)
    lease = await take_one(first)
    assert lease is not None
    await first.close()

    reopened = await open_store()

    assert ["e1", "e2", "e3"] == [e.id for e in await reopened.entries(state=None, limit=10)]
    assert 1 == (await reopened.stats(now=T0)).leased
    after = await take_one(reopened)
    assert after is not None
    assert "e2" == after.entry.id
    assert after.token > lease.token
    assert await reopened.ack(lease, now=T0)


async def test_of_twenty_concurrent_workers_exactly_one_leases_a_key(open_store: Opener) -> None:
    """Each worker has its own store (its own connection or file handle) on one backing."""
    workers = [await open_store() for _ in range(20)]
    await workers[0].enqueue(entry("e1"), now=T0)

    results = await asyncio.gather(
        *(worker.take(now=T0, until=T0 + LEASE, limit=3) for worker in workers)
    )

    assert 1 == sum(len(leases) for leases in results)


async def test_of_concurrent_intakes_of_one_event_exactly_one_is_queued(
    open_store: Opener,
) -> None:
    receivers = [await open_store() for _ in range(10)]

    statuses = await asyncio.gather(
        *(
            receiver.enqueue(entry(f"e{index}", keys=("message:m1",)), now=T0)
            for index, receiver in enumerate(receivers)
        )
    )

    assert 1 == statuses.count(EnqueueStatus.QUEUED)


async def test_concurrent_workers_handle_every_entry_once_and_in_order_per_key(
    open_store: Opener,
) -> None:
    stores = [await open_store() for _ in range(4)]
    expected: dict[str, list[str]] = {}
    for index in range(40):
        key = f"conversation:c{index % 5}"
        expected.setdefault(key, []).append(f"e{index:02}")
        await stores[0].enqueue(entry(f"e{index:02}", key), now=T0)
    handled: dict[str, list[str]] = {}

    async def work(store: EventStore) -> None:
        idle = 0
        while idle < 3:
            leases = await store.take(now=T0, until=T0 + LEASE, limit=2)
            idle = 0 if leases else idle + 1
            for lease in leases:
                handled.setdefault(lease.entry.order_key, []).append(lease.entry.id)
                await asyncio.sleep(0)
                assert await store.ack(lease, now=T0)
            await asyncio.sleep(0.001)

    await asyncio.gather(*(work(store) for store in stores))

    assert expected == handled


# --- Random operation sequences, compared with the memory store ------------------------

IDS = st.sampled_from(["e1", "e2", "e3", "e4"])
ORDER_KEYS = st.sampled_from(["k1", "k2"])
SECONDS = st.integers(min_value=0, max_value=8)


@dataclass(frozen=True)
class Step:
    """One call: ``op`` on entry ``entry_id`` (of ``order_key``), at ``now`` seconds after T0."""

    op: str
    entry_id: str
    order_key: str
    now: int
    lease_index: int


STEPS = st.builds(
    Step,
    op=st.sampled_from(
        [
            *("enqueue", "enqueue", "take", "take", "ack", "retry", "bury", "heartbeat"),
            *("replay", "discard", "stats", "list", "ack_turn", "pending_of"),
        ]
    ),
    entry_id=IDS,
    order_key=ORDER_KEYS,
    now=SECONDS,
    lease_index=st.integers(min_value=0, max_value=5),
)


def _lease_view(lease: InboxLease) -> tuple[str, int]:
    return (lease.entry.id, lease.entry.attempts)


async def _apply(store: EventStore, leases: list[InboxLease], step: Step) -> object:
    now = T0 + timedelta(seconds=step.now)
    lease = leases[step.lease_index % len(leases)] if leases else None
    match step.op:
        case "enqueue":
            queued = entry(step.entry_id, step.order_key, keys=(f"event:{step.entry_id}",))
            return await store.enqueue(attrs.evolve(queued, received_at=now, due_at=now), now=now)
        case "take":
            taken = await store.take(now=now, until=now + timedelta(seconds=3), limit=2)
            taken.sort(key=lambda lease: lease.entry.id)
            leases.extend(taken)
            return sorted(_lease_view(lease) for lease in taken)
        case "ack" if lease is not None:
            return await store.ack(lease, now=now)
        case "retry" if lease is not None:
            return await store.retry(lease, error=f"failed at {step.now}", due_at=now)
        case "bury" if lease is not None:
            return await store.bury(lease, error=f"gave up at {step.now}")
        case "heartbeat" if lease is not None:
            return await store.heartbeat(lease, until=now + timedelta(seconds=3))
        case "ack_turn" if lease is not None:
            return await store.ack_turn(lease, [step.entry_id, "e4"], now=now)
        case "pending_of":
            return await store.pending_of(step.order_key, limit=3)
        case "replay":
            return await store.replay(step.entry_id, now=now)
        case "discard":
            return await store.discard(step.entry_id)
        case "stats":
            return await store.stats(now=now)
        case "list":
            return await store.entries(state=None, limit=10)
        case _:
            return None


async def _run(reference: EventStore, store: EventStore, steps: list[Step]) -> None:
    reference_leases: list[InboxLease] = []
    leases: list[InboxLease] = []
    for index, step in enumerate(steps):
        expected = await _apply(reference, reference_leases, step)
        actual = await _apply(store, leases, step)
        assert expected == actual, f"step {index}: {step}"


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "memory"])
def test_random_inbox_sequences_answer_as_the_memory_store_does(
    backend: str, request: pytest.FixtureRequest
) -> None:
    compare_with_memory(
        backend,
        request,
        st.lists(STEPS, min_size=1, max_size=30),
        _run,
        examples=40,
        networked_examples=15,
    )
