"""What only the Redis store must prove: its Lua scripts are atomic, Redis forgets on its
own, namespaces keep apart, and a lost or restarted server gives the library's errors."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio
import redis.exceptions
from redis.crc import key_slot

from caresupport_transport.errors import (
    ConfigurationError,
    ProtocolError,
    TransportError,
    UnreachableError,
    ValidationError,
)
from caresupport_transport.inbound import ClaimStatus
from caresupport_transport.inbound.redis_store import SCHEMA_VERSION, RedisEventStore

from .conftest import forget_namespace, fresh_namespace
from .servers import REDIS_HOW_TO, free_port

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE_END = T0 + timedelta(seconds=60)
CLAIMERS = 20


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A namespace no other test uses; its keys are removed afterwards."""
    name = fresh_namespace()
    yield name
    forget_namespace("redis", redis_url, name)


@pytest.fixture
async def store(redis_url: str, namespace: str) -> AsyncIterator[RedisEventStore]:
    async with await RedisEventStore.connect(redis_url, namespace=namespace) as made:
        yield made


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client on the same server, to look at what the store wrote."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def keys_of(raw: redis.asyncio.Redis, namespace: str) -> set[str]:
    return {key async for key in raw.scan_iter(match=f"{{{namespace}}}:*")}


async def test_twenty_claimers_on_separate_connections_leave_exactly_one_holder_of_every_key(
    redis_url: str, namespace: str, raw: redis.asyncio.Redis
) -> None:
    """Each claimer wants its own event key plus one shared message key: one wins them both,
    and no loser leaves its own key claimed (the check and the takes are one script)."""
    stores = [
        await RedisEventStore.connect(redis_url, namespace=namespace) for _ in range(CLAIMERS)
    ]
    try:
        for round_ in range(5):
            statuses = await asyncio.gather(
                *(
                    store.claim(
                        [f"event:r{round_}-c{i}", f"message:r{round_}"],
                        token=f"claimer-{i}",
                        now=T0,
                        until=LEASE_END,
                    )
                    for i, store in enumerate(stores)
                )
            )

            winners = [i for i, status in enumerate(statuses) if status is ClaimStatus.CLAIMED]
            assert 1 == len(winners), statuses
            assert {ClaimStatus.BUSY} == {s for s in statuses if s is not ClaimStatus.CLAIMED}
            taken = {
                key.rsplit(":", 2)[-1]
                for key in await keys_of(raw, namespace)
                if f":key:event:r{round_}-" in key
            }
            assert {f"r{round_}-c{winners[0]}"} == taken
    finally:
        for store in stores:
            await store.close()


async def test_twenty_claimers_of_a_stale_claim_let_exactly_one_take_it_over(
    redis_url: str, namespace: str
) -> None:
    stores = [
        await RedisEventStore.connect(redis_url, namespace=namespace) for _ in range(CLAIMERS)
    ]
    try:
        await stores[0].claim(["event:e1"], token="dead", now=T0, until=LEASE_END)
        statuses = await asyncio.gather(
            *(
                store.claim(
                    ["event:e1"], token=f"c{i}", now=LEASE_END, until=LEASE_END + (LEASE_END - T0)
                )
                for i, store in enumerate(stores)
            )
        )
        assert 1 == statuses.count(ClaimStatus.CLAIMED)
        assert CLAIMERS - 1 == statuses.count(ClaimStatus.BUSY)
    finally:
        for store in stores:
            await store.close()


async def test_a_done_key_expires_in_redis_after_the_retention_window_without_a_prune(
    redis_url: str, namespace: str, raw: redis.asyncio.Redis
) -> None:
    retention = timedelta(milliseconds=300)
    async with await RedisEventStore.connect(
        redis_url, namespace=namespace, retention=retention
    ) as store:
        await store.claim(["event:e1"], token="a", now=T0, until=LEASE_END)
        await store.complete(["event:e1"], now=T0)
        ttl = await raw.pttl(f"{{{namespace}}}:key:event:e1")

        assert await store.is_done("event:e1")
        assert 0 < ttl <= 300
        await asyncio.sleep(0.5)
        assert not await store.is_done("event:e1")
        assert ClaimStatus.CLAIMED == await store.claim(
            ["event:e1"], token="b", now=T0, until=LEASE_END
        )


async def test_a_claim_is_kept_by_redis_for_its_lease_plus_the_retention_window(
    redis_url: str, namespace: str, raw: redis.asyncio.Redis
) -> None:
    """A stale claim stays (as in every store) until taken over or pruned, but not forever."""
    retention = timedelta(seconds=100)
    async with await RedisEventStore.connect(
        redis_url, namespace=namespace, retention=retention
    ) as store:
        await store.claim(["event:e1"], token="a", now=T0, until=LEASE_END)
        first = await raw.pttl(f"{{{namespace}}}:key:event:e1")
        await store.renew(["event:e1"], token="a", until=LEASE_END + timedelta(seconds=60))
        renewed = await raw.pttl(f"{{{namespace}}}:key:event:e1")

    assert 150_000 < first <= 160_000
    assert first + 50_000 < renewed <= 220_000


async def test_prune_counts_by_the_callers_clock_what_redis_has_not_yet_expired(
    store: RedisEventStore, namespace: str, raw: redis.asyncio.Redis
) -> None:
    await store.complete(["event:done"], now=T0)
    await store.claim(["event:stale"], token="a", now=T0, until=LEASE_END)
    await store.claim(["event:live"], token="b", now=T0, until=T0 + timedelta(days=3))

    assert 2 == await store.prune(T0 + store.retention)
    assert {f"{{{namespace}}}:key:event:live"} == {
        key for key in await keys_of(raw, namespace) if ":key:" in key
    }
    assert 0 == await store.prune(T0 + store.retention)


async def test_prune_removes_a_backlog_larger_than_one_batch(store: RedisEventStore) -> None:
    keys = [f"event:e{i}" for i in range(2_345)]
    await store.complete(keys, now=T0)

    assert len(keys) == await store.prune(T0 + store.retention)
    assert not await store.is_done("event:e0")


async def test_namespaces_on_one_server_never_see_each_others_keys(
    redis_url: str, namespace: str
) -> None:
    theirs = fresh_namespace()
    try:
        async with (
            await RedisEventStore.connect(redis_url, namespace=namespace) as mine,
            await RedisEventStore.connect(redis_url, namespace=theirs) as other,
        ):
            await mine.claim(["event:e1"], token="a", now=T0, until=LEASE_END)
            await mine.complete(["event:e2"], now=T0)
            await mine.set_cursor("chat:c1", "msg-9")

            assert ClaimStatus.CLAIMED == await other.claim(
                ["event:e1", "event:e2"], token="b", now=T0, until=LEASE_END
            )
            assert not await other.is_done("event:e2")
            assert await other.get_cursor("chat:c1") is None
            assert 2 == await other.prune(LEASE_END + timedelta(days=1))
            assert await mine.is_done("event:e2")
            assert "msg-9" == await mine.get_cursor("chat:c1")
            assert ClaimStatus.BUSY == await mine.claim(
                ["event:e1"], token="c", now=T0, until=LEASE_END
            )
    finally:
        forget_namespace("redis", redis_url, theirs)


async def test_every_key_of_a_namespace_is_prefixed_and_in_one_cluster_slot(
    store: RedisEventStore, namespace: str, raw: redis.asyncio.Redis
) -> None:
    await store.claim(["event:e1", "message:m1"], token="a", now=T0, until=LEASE_END)
    await store.complete(["event:e2"], now=T0)
    await store.set_cursor("chat:c1", "msg-1")

    written = await keys_of(raw, namespace)

    assert 6 == len(written)  # three keys, the expiry index, the cursors, the schema
    assert 1 == len({key_slot(key.encode()) for key in written})
    assert SCHEMA_VERSION == await store.schema_version()


async def test_keys_of_another_kind_in_the_namespace_are_a_library_error(
    store: RedisEventStore, namespace: str, raw: redis.asyncio.Redis
) -> None:
    await raw.set(f"{{{namespace}}}:key:event:e1", "not a hash")

    with pytest.raises(ProtocolError) as caught:
        await store.claim(["event:e1"], token="a", now=T0, until=LEASE_END)
    assert isinstance(caught.value.__cause__, redis.exceptions.ResponseError)


async def test_a_namespace_written_by_a_newer_release_is_refused_at_connect(
    redis_url: str, namespace: str, raw: redis.asyncio.Redis
) -> None:
    await raw.set(f"{{{namespace}}}:schema", str(SCHEMA_VERSION + 1))

    with pytest.raises(ConfigurationError, match="not written by this release"):
        await RedisEventStore.connect(redis_url, namespace=namespace)


@pytest.mark.parametrize(
    ("url", "options", "named"),
    [
        ("http://127.0.0.1:{port}/0", {}, "url"),
        ("127.0.0.1:{port}", {}, "url"),
        ("redis://:{port}/0", {}, "host"),
        ("redis://127.0.0.1:99999/0", {}, "port"),
        ("redis://127.0.0.1:{port}/zero", {}, "database"),
        ("redis://127.0.0.1:{port}/0?socket_timeot=1", {}, "socket_timeot"),
        ("redis://127.0.0.1:{port}/0?socket_timeout=soon", {}, "socket_timeout"),
        ("redis://127.0.0.1:{port}/0?max_connections=-1", {}, "max_connections"),
        ("unix://", {}, "path"),
        ("redis://[::1/0", {}, "url"),
        ("redis://127.0.0.1:{port}/0", {"retention": timedelta(0)}, "retention"),
        ("redis://127.0.0.1:{port}/0", {"namespace": "{care}"}, "namespace"),
        ("redis://127.0.0.1:{port}/0", {"namespace": ""}, "namespace"),
    ],
)
async def test_bad_urls_and_options_are_refused_naming_the_field_before_any_io(
    url: str, options: dict[str, object], named: str
) -> None:
    """Nothing listens on the port: had the store tried to connect, it would be unreachable."""
    with pytest.raises(ConfigurationError, match=named):
        await RedisEventStore.connect(url.format(port=free_port()), **options)  # type: ignore[arg-type]


async def test_times_redis_cannot_hold_exactly_are_refused_naming_the_field(
    store: RedisEventStore,
) -> None:
    with pytest.raises(ValidationError, match="until"):
        await store.claim(["event:e1"], token="a", now=T0, until=datetime(9999, 1, 1, tzinfo=UTC))


async def test_a_server_that_does_not_answer_is_unreachable_and_the_password_stays_secret() -> None:
    url = f"redis://carer:s3cret-pw@127.0.0.1:{free_port()}/0"

    with pytest.raises(UnreachableError) as caught:
        await RedisEventStore.connect(url)

    assert "s3cret-pw" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


async def test_a_closed_store_refuses_further_calls(store: RedisEventStore) -> None:
    await store.close()
    await store.close()

    with pytest.raises(ConfigurationError, match="closed"):
        await store.is_done("event:e1")


class RestartableRedis:
    """A redis-server of this test's own, on a fixed port, that it can kill and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="caresupport-redis-restart-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        try:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self.directory,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            pytest.fail(f"no redis-server found; {REDIS_HOW_TO}")
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        pytest.fail(f"redis-server did not answer on port {self.port}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10.0)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[RestartableRedis]:
    server = RestartableRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()
        for leftover in Path(server.directory).iterdir():
            leftover.unlink()
        Path(server.directory).rmdir()


async def test_a_lost_server_is_unreachable_and_the_store_works_again_once_it_is_back(
    own_redis: RestartableRedis,
) -> None:
    """Killed (SIGKILL) and started again empty: scripts and connections are made anew."""
    async with await RedisEventStore.connect(own_redis.url, namespace="restart") as store:
        await store.complete(["event:e1"], now=T0)
        own_redis.kill()

        with pytest.raises(UnreachableError) as caught:
            await store.claim(["event:e2"], token="a", now=T0, until=LEASE_END)
        assert not isinstance(caught.value, redis.exceptions.RedisError)
        own_redis.start()

        assert ClaimStatus.CLAIMED == await store.claim(
            ["event:e2"], token="a", now=T0, until=LEASE_END
        )
        await store.complete(["event:e2"], now=T0)
        assert await store.is_done("event:e2")
        # Started without persistence, the server forgot what was done before it died.
        assert not await store.is_done("event:e1")


async def test_a_server_that_may_evict_keys_is_reported_at_connect(
    own_redis: RestartableRedis, caplog: pytest.LogCaptureFixture
) -> None:
    async with await RedisEventStore.connect(own_redis.url, namespace="policy"):
        pass
    assert not [r for r in caplog.records if "maxmemory-policy" in r.getMessage()]
    client = redis.asyncio.Redis.from_url(own_redis.url)
    await client.config_set("maxmemory-policy", "volatile-lru")
    await client.aclose()

    with caplog.at_level(logging.WARNING, logger="caresupport_transport"):
        async with await RedisEventStore.connect(own_redis.url, namespace="policy"):
            pass

    assert ["volatile-lru"] == [
        r.args[1]
        for r in caplog.records
        if "maxmemory-policy" in r.getMessage() and isinstance(r.args, tuple)
    ]


async def test_a_user_without_config_rights_connects_and_a_wrong_password_is_refused(
    own_redis: RestartableRedis,
) -> None:
    client = redis.asyncio.Redis.from_url(own_redis.url)
    await client.acl_setuser(
        "carer", enabled=True, passwords=["+s3cret-pw"], keys=["*"], commands=["+@all", "-config"]
    )
    await client.aclose()
    allowed = own_redis.url.replace("redis://", "redis://carer:s3cret-pw@")

    async with await RedisEventStore.connect(allowed, namespace="acl") as store:
        assert ClaimStatus.CLAIMED == await store.claim(
            ["event:e1"], token="a", now=T0, until=LEASE_END
        )
    with pytest.raises(ConfigurationError) as caught:
        await RedisEventStore.connect(allowed.replace("s3cret-pw", "wrong-pw"), namespace="acl")
    assert "wrong-pw" not in str(caught.value)


async def test_every_failure_of_the_store_is_a_library_error(
    own_redis: RestartableRedis,
) -> None:
    async with await RedisEventStore.connect(own_redis.url, namespace="lost") as store:
        own_redis.kill()
        calls = [
            store.claim(["event:e1"], token="a", now=T0, until=LEASE_END),
            store.renew(["event:e1"], token="a", until=LEASE_END),
            store.complete(["event:e1"], now=T0),
            store.release(["event:e1"], token="a"),
            store.is_done("event:e1"),
            store.get_cursor("chat:c1"),
            store.set_cursor("chat:c1", "msg-1"),
            store.prune(T0),
        ]
        for call in calls:
            with pytest.raises(TransportError):
                await call
