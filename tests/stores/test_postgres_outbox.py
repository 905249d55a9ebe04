"""PostgresEventStore's outbox beyond the conformance suite: tables, atomicity, order, locks."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import attrs
import psycopg
import pytest
from psycopg import sql

from caresupport_transport import ProtocolError
from caresupport_transport.inbound import InboxEntry, OutboxRecord
from caresupport_transport.inbound.postgres_store import SCHEMA_VERSION, PostgresEventStore

from .conftest import forget_namespace, fresh_namespace
from .test_postgres_inbox import _wait_for_lock_waits

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
async def namespace(postgres_url: str) -> AsyncIterator[str]:
    name = fresh_namespace()
    yield name
    await asyncio.to_thread(forget_namespace, "postgres", postgres_url, name)


def record(record_id: str, *, message_ids: tuple[str, ...] = ()) -> OutboxRecord:
    return OutboxRecord(
        id=record_id,
        state="queued",
        payload="{}",
        created_at=T0,
        updated_at=T0,
        message_ids=message_ids,
    )


def job(record_id: str, *, payload: str = "{}") -> InboxEntry:
    return InboxEntry(
        id=f"send:{record_id}",
        order_key=f"conversation:{record_id}",
        keys=(f"job:send:{record_id}",),
        payload=payload,
        received_at=T0,
        due_at=T0,
    )


async def test_a_namespace_of_the_release_before_the_outbox_gains_it_and_stays_version_1(
    postgres_url: str, namespace: str
) -> None:
    """The outbox's tables are added beside an existing inbox; its entries are kept."""
    async with await PostgresEventStore.connect(postgres_url, namespace=namespace) as store:
        await store.enqueue(job("old"), now=T0)
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
        await admin.execute(
            sql.SQL("DROP TABLE {ns}.outbox_records, {ns}.outbox_messages").format(
                ns=sql.Identifier(namespace)
            )
        )

    async with await PostgresEventStore.connect(postgres_url, namespace=namespace) as store:
        assert 1 == SCHEMA_VERSION == await store.schema_version()
        assert await store.put_record(record("new"), job("new"), now=T0)
        assert ["send:old", "send:new"] == [e.id for e in await store.entries(state=None, limit=5)]


async def test_a_job_the_server_refuses_leaves_no_record_behind(
    postgres_url: str, namespace: str
) -> None:
    """The record and its job are one transaction: a failing job undoes the record."""
    async with await PostgresEventStore.connect(postgres_url, namespace=namespace) as store:
        # PostgreSQL text cannot hold NUL: the job's row is refused after the record's went in.
        with pytest.raises(ProtocolError):
            await store.put_record(
                record("i1", message_ids=("m1",)), job("i1", payload="\0"), now=T0
            )

        assert None is await store.get_record("i1")
        assert None is await store.record_for_message("m1")
        assert not await store.is_done("job:send:i1")
        assert await store.put_record(record("i1"), job("i1"), now=T0)


@pytest.fixture
async def natural_language_url(postgres_url: str) -> AsyncIterator[str]:
    """A database whose default collation is ICU's ``en-US`` (``"B"`` after ``"a"``)."""
    name = fresh_namespace()
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
        await admin.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
            ).format(sql.Identifier(name))
        )
        try:
            yield urllib.parse.urlsplit(postgres_url)._replace(path=f"/{name}").geturl()
        finally:
            await admin.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
            )


async def test_records_are_listed_by_code_point_whatever_the_databases_collation(
    natural_language_url: str,
) -> None:
    """Ids order as Python's ``sorted`` (and the memory store) order them, not as en-US does."""
    ids = ["a", "B", "_x", "Z", "é", "a-b", "ab", "A"]
    async with await PostgresEventStore.connect(natural_language_url) as store:
        for record_id in ids:
            await store.put_record(record(record_id), job(record_id), now=T0)

        listed = [r.id for r in await store.records(state=None, limit=20)]
        in_state = [r.id for r in await store.records(state="queued", limit=20)]

    assert sorted(ids) == listed == in_state


async def test_writers_of_two_records_crossing_message_ids_wait_instead_of_deadlocking(
    postgres_url: str, namespace: str
) -> None:
    """Every message id a writer touches is locked first, in one order, so crossed writers wait.

    Staged: ``x`` gives up ``a`` and takes ``b`` and ``c``, ``y`` gives up ``c`` and
    takes ``a``. A third session holds ``b``'s row, so the ``x`` writer stops after
    dropping ``a``; the ``y`` writer then needs ``a``. Had the ``x`` writer locked
    rows only as it met them, it would now hold ``a`` and wait for ``c``, which the
    ``y`` writer would hold while waiting for ``a``: a deadlock.
    """
    first = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    second = await PostgresEventStore.connect(postgres_url, namespace=namespace)
    try:
        await first.put_record(record("x", message_ids=("a",)), job("x"), now=T0)
        await first.put_record(record("y", message_ids=("c",)), job("y"), now=T0)
        await first.put_record(record("z", message_ids=("b",)), job("z"), now=T0)
        async with await psycopg.AsyncConnection.connect(postgres_url) as holder:
            await holder.execute(
                sql.SQL(
                    "SELECT 1 FROM {}.outbox_messages WHERE message_id = 'b' FOR UPDATE"
                ).format(sql.Identifier(namespace))
            )
            to_x = asyncio.create_task(
                first.replace_record(record("x", message_ids=("b", "c")), expected_version=1)
            )
            await _wait_for_lock_waits(postgres_url, 1)
            to_y = asyncio.create_task(
                second.replace_record(record("y", message_ids=("a",)), expected_version=1)
            )
            await _wait_for_lock_waits(postgres_url, 2)

            await holder.rollback()

        assert [True, True] == await asyncio.gather(to_x, to_y)
        owners = [await first.record_for_message(m) for m in ("a", "b", "c")]
        assert ["y", "x", "x"] == owners
    finally:
        await first.close()
        await second.close()


async def test_a_replaced_record_keeps_its_message_ids_in_order_and_its_job(
    postgres_url: str, namespace: str
) -> None:
    """Message ids come back in the order written, duplicates kept; the index holds each once."""
    async with await PostgresEventStore.connect(postgres_url, namespace=namespace) as store:
        await store.put_record(record("i1"), job("i1"), now=T0)
        later = attrs.evolve(
            record("i1", message_ids=("m2", "m1", "m2")), updated_at=T0 + timedelta(seconds=1)
        )

        assert await store.replace_record(later, expected_version=1)

        assert attrs.evolve(later, version=2) == await store.get_record("i1")
        assert ["i1", "i1"] == [await store.record_for_message(m) for m in ("m1", "m2")]
        assert ["send:i1"] == [e.id for e in await store.entries(state=None, limit=5)]
