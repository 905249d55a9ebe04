"""The one conformance suite: every event store keeps the same contract.

Run against memory, SQLite, PostgreSQL and Redis (the real servers: ``.ci/run``
starts them, or ``servers.py`` does on a developer machine): claims all or none,
DONE beats BUSY, leases, renewal and release by the holder only, done keys,
cursors, expiry and retention, many concurrent claimers of one key, persistence
across reopening, and random operation sequences compared with the memory store.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st

from caresupport_transport.inbound import (
    DEFAULT_RETENTION,
    ClaimStatus,
    EventStore,
)

from .conftest import BACKENDS, Opener
from .model_check import compare_with_memory

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE_END = T0 + timedelta(seconds=60)
RETENTION = timedelta(hours=48)


def test_the_default_retention_is_what_the_suite_assumes() -> None:
    assert RETENTION == DEFAULT_RETENTION


async def test_unknown_keys_are_claimed_and_not_done(store: EventStore) -> None:
    status = await store.claim(["event:e1", "message:m1"], token="a", now=T0, until=LEASE_END)

    assert ClaimStatus.CLAIMED == status
    assert not await store.is_done("event:e1")


async def test_completed_keys_are_done_and_claiming_any_of_them_says_done(
    store: EventStore,
) -> None:
    await store.claim(["event:e1", "message:m1"], token="a", now=T0, until=LEASE_END)
    await store.complete(["event:e1", "message:m1"], now=T0)

    assert await store.is_done("event:e1")
    assert await store.is_done("message:m1")
    status = await store.claim(["event:e2", "message:m1"], token="b", now=T0, until=LEASE_END)
    assert ClaimStatus.DONE == status


async def test_a_live_claim_makes_other_attempts_busy(store: EventStore) -> None:
    await store.claim(["event:e1"], token="a", now=T0, until=LEASE_END)

    status = await store.claim(["event:e1"], token="b", now=T0, until=LEASE_END)

    assert ClaimStatus.BUSY == status


async def test_claiming_is_all_or_nothing(store: EventStore) -> None:
    await store.claim(["message:m1"], token="a", now=T0, until=LEASE_END)

    assert ClaimStatus.BUSY == await store.claim(
        ["event:e1", "message:m1"], token="b", now=T0, until=LEASE_END
    )
    # event:e1 was not taken by the refused attempt.
    assert ClaimStatus.CLAIMED == await store.claim(
        ["event:e1"], token="c", now=T0, until=LEASE_END
    )


async def test_a_claim_whose_lease_ran_out_can_be_taken_over(store: EventStore) -> None:
    await store.claim(["event:e1"], token="a", now=T0, until=LEASE_END)

    status = await store.claim(["event:e1"], token="b", now=LEASE_END, until=LEASE_END)

    assert ClaimStatus.CLAIMED == status


async def test_renewal_extends_only_the_holders_claim(store: EventStore) -> None:
    await store.claim(["event:e1"], token="a", now=T0, until=LEASE_END)
    later = LEASE_END + timedelta(seconds=60)

    await store.renew(["event:e1"], token="intruder", until=later)
    assert ClaimStatus.CLAIMED == await store.claim(
        ["event:e1"], token="b", now=LEASE_END, until=later
    )
    await store.renew(["event:e1"], token="b", until=later)
    assert ClaimStatus.BUSY == await store.claim(
        ["event:e1"], token="c", now=LEASE_END + timedelta(seconds=30), until=later
    )


async def test_release_gives_back_only_the_holders_claim(store: EventStore) -> None:
    await store.claim(["event:e1"], token="a", now=T0, until=LEASE_END)

    await store.release(["event:e1"], token="intruder")
    assert ClaimStatus.BUSY == await store.claim(["event:e1"], token="b", now=T0, until=LEASE_END)
    await store.release(["event:e1"], token="a")
    assert ClaimStatus.CLAIMED == await store.claim(
        ["event:e1"], token="b", now=T0, until=LEASE_END
    )


async def test_release_after_completion_keeps_the_key_done(store: EventStore) -> None:
    await store.claim(["event:e1"], token="a", now=T0, until=LEASE_END)
    await store.complete(["event:e1"], now=T0)

    await store.release(["event:e1"], token="a")

    assert await store.is_done("event:e1")


async def test_cursors_are_saved_per_name(store: EventStore) -> None:
    assert await store.get_cursor("chat:c1") is None

    await store.set_cursor("chat:c1", "msg-10")
    await store.set_cursor("chat:c2", "msg-3")
    await store.set_cursor("chat:c1", "msg-11")

    assert "msg-11" == await store.get_cursor("chat:c1")
    assert "msg-3" == await store.get_cursor("chat:c2")


async def test_prune_forgets_exactly_the_expired_keys_and_stale_claims(store: EventStore) -> None:
    await store.complete(["event:old-1", "message:old-1"], now=T0)
    await store.complete(["event:recent"], now=T0 + timedelta(hours=1))
    await store.claim(["event:stale-claim"], token="a", now=T0, until=LEASE_END)
    await store.set_cursor("chat:c1", "msg-1")

    removed = await store.prune(T0 + RETENTION)

    assert 3 == removed
    assert not await store.is_done("event:old-1")
    assert not await store.is_done("message:old-1")
    assert await store.is_done("event:recent")
    assert "msg-1" == await store.get_cursor("chat:c1")  # cursors never expire
    assert 0 == await store.prune(T0 + RETENTION)
    assert 1 == await store.prune(T0 + RETENTION + timedelta(hours=1))


async def test_prune_before_anything_expired_removes_nothing(store: EventStore) -> None:
    await store.complete(["event:e1"], now=T0)

    assert 0 == await store.prune(T0 + RETENTION - timedelta(seconds=1))
    assert await store.is_done("event:e1")


async def test_completing_again_restarts_the_retention_window(store: EventStore) -> None:
    await store.complete(["event:e1"], now=T0)
    await store.complete(["event:e1"], now=T0 + timedelta(hours=24))

    assert 0 == await store.prune(T0 + RETENTION)
    assert await store.is_done("event:e1")


async def test_a_done_key_beats_a_live_claim_on_another_key(store: EventStore) -> None:
    await store.claim(["message:m1"], token="a", now=T0, until=LEASE_END)
    await store.complete(["event:e1"], now=T0)

    status = await store.claim(["event:e1", "message:m1"], token="b", now=T0, until=LEASE_END)

    assert ClaimStatus.DONE == status


async def test_a_done_key_stays_done_after_its_retention_until_pruned(store: EventStore) -> None:
    await store.complete(["event:e1"], now=T0)
    after_retention = T0 + RETENTION + timedelta(hours=1)

    assert ClaimStatus.DONE == await store.claim(
        ["event:e1"], token="b", now=after_retention, until=after_retention + timedelta(seconds=60)
    )
    assert 1 == await store.prune(after_retention)
    assert ClaimStatus.CLAIMED == await store.claim(
        ["event:e1"], token="b", now=after_retention, until=after_retention + timedelta(seconds=60)
    )


async def test_complete_frees_the_claim_and_the_key_cannot_be_claimed_again(
    store: EventStore,
) -> None:
    await store.claim(["event:e1"], token="a", now=T0, until=LEASE_END)
    await store.complete(["event:e1"], now=T0)

    await store.renew(["event:e1"], token="a", until=LEASE_END + timedelta(hours=100))
    assert ClaimStatus.DONE == await store.claim(
        ["event:e1"], token="b", now=LEASE_END, until=LEASE_END
    )
    # Done keys expire with the retention window, not with a renewed lease.
    assert 1 == await store.prune(T0 + RETENTION)


async def test_a_refused_claim_leaves_the_stale_keys_it_found_untouched(store: EventStore) -> None:
    await store.claim(["event:e1"], token="old", now=T0, until=LEASE_END)
    await store.claim(
        ["message:m1"], token="live", now=LEASE_END, until=LEASE_END + timedelta(seconds=60)
    )

    status = await store.claim(
        ["event:e1", "message:m1"],
        token="b",
        now=LEASE_END,
        until=LEASE_END + timedelta(seconds=60),
    )

    assert ClaimStatus.BUSY == status
    # event:e1 still belongs to "old" (stale): "old" may release it, then anyone claims.
    await store.release(["event:e1"], token="b")
    await store.release(["event:e1"], token="old")
    assert ClaimStatus.CLAIMED == await store.claim(
        ["event:e1"], token="c", now=T0, until=LEASE_END
    )


async def test_the_retention_window_is_configurable(open_store: Opener) -> None:
    store = await open_store(retention=timedelta(hours=2))
    await store.complete(["event:e1"], now=T0)

    assert 0 == await store.prune(T0 + timedelta(hours=1))
    assert 1 == await store.prune(T0 + timedelta(hours=2))
    assert not await store.is_done("event:e1")


async def test_of_twenty_concurrent_claimers_of_one_key_exactly_one_wins(
    open_store: Opener,
) -> None:
    """Each claimer has its own store (its own connection or file handle) on one backing."""
    claimers = [await open_store() for _ in range(20)]

    statuses = await asyncio.gather(
        *(
            claimer.claim(["event:e1", "message:m1"], token=f"w{i}", now=T0, until=LEASE_END)
            for i, claimer in enumerate(claimers)
        )
    )

    assert 1 == statuses.count(ClaimStatus.CLAIMED)
    assert 19 == statuses.count(ClaimStatus.BUSY)


async def test_of_concurrent_claimers_of_overlapping_keys_no_two_hold_one_key(
    open_store: Opener,
) -> None:
    """Claims of key pairs in both orders: all-or-none holds and nothing deadlocks."""
    claimers = [await open_store() for _ in range(10)]
    pairs = [[f"k{i % 3}", f"k{(i + 1) % 3}"][:: 1 if i % 2 else -1] for i in range(10)]

    statuses = await asyncio.gather(
        *(
            claimer.claim(pair, token=f"w{i}", now=T0, until=LEASE_END)
            for i, (claimer, pair) in enumerate(zip(claimers, pairs, strict=True))
        )
    )

    winners = [
        set(pair)
        for pair, status in zip(pairs, statuses, strict=True)
        if status is ClaimStatus.CLAIMED
    ]
    assert winners, "someone must win"
    assert all(a.isdisjoint(b) for i, a in enumerate(winners) for b in winners[i + 1 :])


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "memory"])
async def test_reopening_the_store_remembers_done_keys_claims_and_cursors(
    open_store: Opener,
) -> None:
    """Every store but memory (which lives and dies with its process)."""
    first = await open_store()
    await first.complete(["event:e1", "message:m1"], now=T0)
    await first.claim(["event:e2"], token="a", now=T0, until=LEASE_END)
    await first.set_cursor("chat:c1", "msg-42")
    await first.close()

    reopened = await open_store()

    assert await reopened.is_done("event:e1")
    assert await reopened.is_done("message:m1")
    assert "msg-42" == await reopened.get_cursor("chat:c1")
    assert ClaimStatus.DONE == await reopened.claim(["event:e1"], token="t", now=T0, until=T0)
    assert ClaimStatus.BUSY == await reopened.claim(["event:e2"], token="b", now=T0, until=T0)


# --- Random operation sequences, compared with the memory store ------------------------

KEYS = st.sampled_from(["event:e1", "event:e2", "message:m1", "message:m2"])
TOKENS = st.sampled_from(["a", "b", "c"])
SECONDS = st.integers(min_value=0, max_value=12)
PROPERTY_RETENTION = timedelta(seconds=5)


@dataclass(frozen=True)
class Step:
    """One call: ``op`` with keys, token, and times in seconds after T0."""

    op: str
    keys: tuple[str, ...]
    token: str
    now: int
    until: int


STEPS = st.builds(
    Step,
    op=st.sampled_from(
        ["claim", "claim", "renew", "complete", "release", "is_done", "prune", "cursor"]
    ),
    keys=st.lists(KEYS, min_size=1, max_size=3).map(tuple),
    token=TOKENS,
    now=SECONDS,
    until=SECONDS,
)


async def _apply(store: EventStore, step: Step) -> object:
    now = T0 + timedelta(seconds=step.now)
    until = T0 + timedelta(seconds=step.until)
    match step.op:
        case "claim":
            return await store.claim(step.keys, token=step.token, now=now, until=until)
        case "renew":
            return await store.renew(step.keys, token=step.token, until=until)
        case "complete":
            return await store.complete(step.keys, now=now)
        case "release":
            return await store.release(step.keys, token=step.token)
        case "is_done":
            return [await store.is_done(key) for key in step.keys]
        case "prune":
            return await store.prune(now)
        case _:
            await store.set_cursor(step.keys[0], step.token)
            return await store.get_cursor(step.keys[0])


async def _run(reference: EventStore, store: EventStore, steps: list[Step]) -> None:
    for index, step in enumerate(steps):
        expected = await _apply(reference, step)
        actual = await _apply(store, step)
        assert expected == actual, f"step {index}: {step}"
    for key in ("event:e1", "event:e2", "message:m1", "message:m2"):
        assert await reference.is_done(key) == await store.is_done(key), key


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "memory"])
def test_random_operation_sequences_answer_as_the_memory_store_does(
    backend: str, request: pytest.FixtureRequest
) -> None:
    compare_with_memory(
        backend,
        request,
        st.lists(STEPS, min_size=1, max_size=25),
        _run,
        examples=40,
        networked_examples=12,
        retention=PROPERTY_RETENTION,
    )
