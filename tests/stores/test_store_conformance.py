"""Both event stores keep the same contract: claims, done keys, cursors, expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from caresupport_transport.inbound import (
    ClaimStatus,
    EventStore,
    MemoryEventStore,
    SqliteEventStore,
)

from .builders import T0

LEASE_END = T0 + timedelta(seconds=60)
RETENTION = timedelta(hours=48)


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    made: EventStore
    if request.param == "memory":
        made = MemoryEventStore(retention=RETENTION)
    else:
        made = SqliteEventStore(tmp_path / "events.sqlite", retention=RETENTION)
    yield made
    await made.close()


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
