"""PostgresEventStore beyond the conformance suite: its schema, its pool, its failures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql

from caresupport_transport import (
    ConfigurationError,
    TransportError,
    TransportTimeoutError,
    UnreachableError,
)
from caresupport_transport.inbound import ClaimStatus
from caresupport_transport.inbound.postgres_store import SCHEMA_VERSION, PostgresEventStore

from .conftest import forget_namespace, fresh_namespace
from .servers import free_port
from .test_store_conformance import LEASE_END, T0


@pytest.fixture
async def namespace(postgres_url: str) -> AsyncIterator[str]:
    name = fresh_namespace()
    yield name
    await asyncio.to_thread(forget_namespace, "postgres", postgres_url, name)


async def _tables(url: str, namespace: str) -> list[str]:
    async with await psycopg.AsyncConnection.connect(url) as connection:
        cursor = await connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            (namespace,),
        )
        return [row[0] for row in await cursor.fetchall()]


async def test_connect_creates_the_tables_in_the_namespaces_schema_with_a_version(
    postgres_url: str, namespace: str
) -> None:
    async with await PostgresEventStore.connect(postgres_url, namespace=namespace) as store:
        assert SCHEMA_VERSION == await store.schema_version()

    assert [
        "cursors",
        "handled_keys",
        "inbox",
        "inbox_leases",
        "outbox_messages",
        "outbox_records",
        "schema_version",
    ] == await _tables(postgres_url, namespace)
    # Connecting again finds the tables and keeps one version row.
    async with await PostgresEventStore.connect(postgres_url, namespace=namespace) as store:
        assert SCHEMA_VERSION == await store.schema_version()


async def test_concurrent_first_connects_to_one_namespace_all_succeed(
    postgres_url: str, namespace: str
) -> None:
    stores = await asyncio.gather(
        *(PostgresEventStore.connect(postgres_url, namespace=namespace) for _ in range(8))
    )
    try:
        assert [SCHEMA_VERSION] * 8 == [await store.schema_version() for store in stores]
    finally:
        for store in stores:
            await store.close()


async def test_tables_of_a_newer_release_are_refused(postgres_url: str, namespace: str) -> None:
    async with await PostgresEventStore.connect(postgres_url, namespace=namespace):
        pass
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as db:
        await db.execute(
            sql.SQL("UPDATE {}.schema_version SET version = %s").format(sql.Identifier(namespace)),
            (SCHEMA_VERSION + 1,),
        )

    with pytest.raises(ConfigurationError, match="newer release"):
        await PostgresEventStore.connect(postgres_url, namespace=namespace)


async def test_two_namespaces_on_one_database_do_not_see_each_other(
    postgres_url: str, namespace: str
) -> None:
    other = fresh_namespace()
    try:
        async with (
            await PostgresEventStore.connect(postgres_url, namespace=namespace) as first,
            await PostgresEventStore.connect(postgres_url, namespace=other) as second,
        ):
            await first.complete(["event:e1"], now=T0)
            await first.set_cursor("chat:c1", "msg-1")

            assert not await second.is_done("event:e1")
            assert await second.get_cursor("chat:c1") is None
            assert ClaimStatus.CLAIMED == await second.claim(
                ["event:e1"], token="t", now=T0, until=LEASE_END
            )
    finally:
        await asyncio.to_thread(forget_namespace, "postgres", postgres_url, other)


async def test_a_pool_with_no_free_connection_raises_the_librarys_timeout(
    postgres_url: str, namespace: str
) -> None:
    """The only connection waits on a row another session locked; the next call times out."""
    store = await PostgresEventStore.connect(
        postgres_url, namespace=namespace, pool_size=1, pool_timeout=timedelta(seconds=0.3)
    )
    async with await psycopg.AsyncConnection.connect(postgres_url) as locker:
        await store.complete(["event:e1"], now=T0)
        await locker.execute(
            sql.SQL("SELECT 1 FROM {}.handled_keys WHERE key = 'event:e1' FOR UPDATE").format(
                sql.Identifier(namespace)
            )
        )
        blocked = asyncio.create_task(store.claim(["event:e1"], token="a", now=T0, until=LEASE_END))
        await _wait_for_lock_wait(locker)

        with pytest.raises(TransportTimeoutError, match="no free connection") as caught:
            await store.is_done("event:e1")

        await locker.rollback()
        assert ClaimStatus.DONE == await blocked
    await store.close()
    assert not isinstance(caught.value, psycopg.Error)


async def _wait_for_lock_wait(observer: psycopg.AsyncConnection[object]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        cursor = await observer.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        )
        row = await cursor.fetchone()
        if row is not None and row[0]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the claim never waited on the locked row")


async def test_a_dropped_connection_is_unreachable_and_the_next_call_reconnects(
    postgres_url: str, namespace: str
) -> None:
    async with await PostgresEventStore.connect(
        postgres_url, namespace=namespace, pool_size=1
    ) as store:
        await store.complete(["event:e1"], now=T0)
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (f"caresupport:{namespace}",),
            )

        with pytest.raises(UnreachableError, match="dropped") as caught:
            await store.is_done("event:e1")

        assert not isinstance(caught.value, psycopg.Error)
        assert await store.is_done("event:e1")


async def test_a_server_that_does_not_answer_is_unreachable_and_the_password_stays_out() -> None:
    url = f"postgresql://care:s3cret-pw@127.0.0.1:{free_port()}/care"

    with pytest.raises(UnreachableError, match="is PostgreSQL running") as caught:
        await PostgresEventStore.connect(url, pool_timeout=timedelta(seconds=0.5))

    assert "s3cret-pw" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


async def test_a_closed_store_refuses_work_and_closing_twice_is_harmless(
    postgres_url: str, namespace: str
) -> None:
    store = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    await store.close()
    await store.close()

    with pytest.raises(ConfigurationError, match="is closed"):
        await store.is_done("event:e1")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"namespace": "Care-Support"}, "namespace"),
        ({"namespace": "9lives"}, "namespace"),
        ({"namespace": ""}, "namespace"),
        ({"retention": timedelta(0)}, "retention"),
        ({"pool_size": 0}, "pool_size"),
        ({"pool_timeout": timedelta(0)}, "pool_timeout"),
    ],
)
async def test_bad_options_are_refused_naming_the_field_before_any_io(
    options: dict[str, object], field: str
) -> None:
    """Nothing listens at the URL: a refusal that is not Unreachable came before any I/O."""
    url = f"postgresql://care@127.0.0.1:{free_port()}/care"

    with pytest.raises(ConfigurationError, match=field):
        await PostgresEventStore.connect(url, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "mysql://care@127.0.0.1/care",
        "127.0.0.1:5432",
        "postgresql://care@127.0.0.1:5432/care?no_such_option=1",
    ],
)
async def test_a_url_that_is_not_postgresqls_is_refused_naming_the_url(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^url: ") as caught:
        await PostgresEventStore.connect(url)

    assert isinstance(caught.value, TransportError)


async def test_a_lock_timeout_is_a_timeout_that_changed_nothing_not_an_unreachable_server(
    postgres_url: str, namespace: str
) -> None:
    separator = "&" if "?" in postgres_url else "?"
    impatient = f"{postgres_url}{separator}options=-c%20lock_timeout%3D100"
    store = await PostgresEventStore.connect(impatient, namespace=namespace)
    try:
        async with await psycopg.AsyncConnection.connect(postgres_url) as blocker:
            await blocker.execute(
                sql.SQL("LOCK TABLE {}.inbox IN ACCESS EXCLUSIVE MODE").format(
                    sql.Identifier(namespace)
                )
            )
            with pytest.raises(TransportTimeoutError, match="nothing was changed") as caught:
                await store.entries(state=None, limit=10)
            await blocker.rollback()
    finally:
        await store.close()

    assert "LockNotAvailable" in str(caught.value)
