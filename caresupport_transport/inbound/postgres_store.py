"""``PostgresEventStore``: the event store shared by many receivers and workers (psycopg 3).

Design choices:

* psycopg 3's async connections from a ``psycopg_pool.AsyncConnectionPool``:
  every call borrows one connection for one short transaction and gives it back,
  so a process needs few connections however many events it handles at once.
* A claim is one transaction of two statements. ``INSERT ... ON CONFLICT DO
  UPDATE ... WHERE`` takes every key that is absent or whose claim went stale,
  and locks the rows it did not take (PostgreSQL locks a conflicting row even
  when the ``WHERE`` refuses the update). When it took every key the transaction
  commits; otherwise it reads why (a done key, or a live claim) from the rows
  it now holds locked, and rolls back, so a claim is all or none and two
  claimers can never both win a key. Keys are sorted, so two claims of
  overlapping keys lock them in one order and cannot deadlock.
* Everything lives in one PostgreSQL schema named after ``namespace``
  (``caresupport`` by default): ``handled_keys``, ``cursors``,
  ``schema_version``, the inbox's tables and the outbox's. Several deployments
  (or tests) can share a database, and the version row lets a later release
  migrate the tables it finds.
* Each row carries ``expires_at`` (lease end for a claim, done time plus the
  retention window for a done key) with an index on it, so ``prune`` deletes
  exactly the expired rows.
* The durable inbox is three more objects in the schema: ``inbox`` (one row per
  entry; ``seq``, an identity column, is the acceptance order and ``replay``
  keeps it), ``inbox_leases`` (one row per leased order key: its fencing token
  and lease end) and the ``inbox_tokens`` sequence. A token comes from
  ``nextval``, so tokens only grow, across keys, processes and reopenings (a
  sequence is never rolled back; the numbers a refused lease drew are skipped).
* Per order key, two advisory transaction locks (64-bit hashes of the
  namespace and the key, released at commit) order the writers. The *key lock*
  is held by whatever changes which entry heads the key or who holds it:
  ``take`` (with ``pg_try_advisory_xact_lock``: a key another worker is busy
  with is skipped, never waited for, so takers cannot deadlock), and ``ack``,
  ``retry``, ``bury``, ``replay`` and ``discard`` (waiting for it). The *append
  lock* is held by ``enqueue``, so a key's entries get ``seq`` in the order
  their intakes commit; a later statement therefore never sees a newer entry
  of a key without every older one, and appending never holds up a taker.
* ``take`` is one transaction of two statements. The first lists the heads
  (the lowest ``seq`` among a key's pending entries) that are due and not
  leased, in due order, and try-locks their keys until ``limit`` are locked.
  The second, in a fresh snapshot taken after the locks (READ COMMITTED,
  pinned on every pooled connection so that a server default of REPEATABLE
  READ or SERIALIZABLE cannot change this), reads the heads again, as they are
  now fixed, and leases each still-eligible key with ``INSERT ... ON CONFLICT
  DO UPDATE ... WHERE until <= now``, which also refuses a lease a
  ``heartbeat`` extended meanwhile, and counts the attempt. A key whose head
  changed after the first snapshot (acknowledged, rescheduled, discarded by
  another session) is thus leased with its head as of the second, or not at
  all. Finding the heads visits every pending entry (``DISTINCT ON`` over a
  partial index), which suits inboxes of thousands, not millions.
* ``heartbeat`` takes no advisory lock: it only moves the end of a lease whose
  token it names, and the lease row's own lock orders it against a takeover.
  ``ack``, ``retry`` and ``bury`` first delete the lease row carrying their
  token (nothing to delete means it was taken over: they change nothing), then
  change the entry if it is still pending, else roll back.
* The outbox is two tables: ``outbox_records`` (one row per record, with its
  ``version``) and ``outbox_messages`` (the message-id index, one row per
  provider id naming its record), both written in the same transaction.
  ``put_record`` inserts the record with ``ON CONFLICT DO NOTHING`` (a
  concurrent insert of the same id waits for the first and then writes
  nothing), then enqueues the job as ``enqueue`` does, on the same transaction,
  inside a savepoint, so a duplicate job is rolled back and the record stays.
  ``replace_record`` is an ``UPDATE ... WHERE version = expected``: of
  concurrent writers from one version exactly one matches. Every message id
  that an index update touches (the record's old ids and its new ones) is locked
  first with an advisory lock, in sorted order, so writers of records that share
  an id cannot deadlock. Record ids sort with the ``"C"`` collation (code point
  order, as Python sorts them) whatever the database's default.
* Every lock a transaction waits for is taken in one order (an outbox record
  row, then advisory append lock, then sorted ``handled_keys`` rows, then lease
  and entry rows, then sorted message-id advisory locks and their index rows),
  and takers never wait for an advisory lock, so no two calls deadlock; in READ
  COMMITTED no serialization failure reaches a caller.
* The driver's errors never leave the store: a server that cannot be reached or
  drops the connection is an :class:`~caresupport_transport.UnreachableError`,
  a pool with no free connection in time a
  :class:`~caresupport_transport.TransportTimeoutError`, bad settings or a
  missing privilege a :class:`~caresupport_transport.ConfigurationError`, any
  other refusal a :class:`~caresupport_transport.ProtocolError` (with its
  SQLSTATE); messages name the server but never its password, nor a key's or
  cursor's value.
* It needs PostgreSQL 12 or later (``hashtextextended``, ``AS MATERIALIZED``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import psycopg_pool
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from caresupport_transport.errors import (
    ConfigurationError,
    ProtocolError,
    TransportTimeoutError,
    UnreachableError,
)
from caresupport_transport.inbound.inbox_entry import (
    InboxEntry,
    InboxLease,
    InboxState,
    InboxStats,
)
from caresupport_transport.inbound.outbox_record import OutboxRecord
from caresupport_transport.inbound.store import DEFAULT_RETENTION, ClaimStatus, EnqueueStatus
from caresupport_transport.inbound.urls import redacted_url

__all__ = [
    "DEFAULT_POOL_SIZE",
    "DEFAULT_POOL_TIMEOUT",
    "SCHEMA_VERSION",
    "PostgresEventStore",
]

SCHEMA_VERSION = 1
"""The version of the tables this release creates and reads.

It counts layouts an older release cannot use. The inbox's tables and sequence,
and later the outbox's tables, came after version 1 was released, and it
stayed 1: they are new objects that ``connect`` adds to a version 1 namespace
(``CREATE ... IF NOT EXISTS``), the tables of version 1 did not change, and a
release without the inbox or the outbox keeps working beside them, which a
bump would have refused for no reason.
"""

DEFAULT_POOL_SIZE = 10
"""Connections one store opens at most."""

DEFAULT_POOL_TIMEOUT = timedelta(seconds=10)
"""How long a call waits for a free connection (or the first connection at start)."""

_NAMESPACE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SCHEMES = ("postgresql", "postgres")

_CREATE = """
CREATE SCHEMA IF NOT EXISTS {ns};
CREATE TABLE IF NOT EXISTS {ns}.schema_version (
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS {ns}.handled_keys (
    key TEXT PRIMARY KEY,
    done BOOLEAN NOT NULL,
    token TEXT,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS handled_keys_expires_at ON {ns}.handled_keys (expires_at);
CREATE TABLE IF NOT EXISTS {ns}.cursors (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {ns}.inbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    order_key TEXT NOT NULL,
    keys TEXT[] NOT NULL,
    payload TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    attempts INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'dead')),
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS inbox_pending_heads ON {ns}.inbox (order_key, seq)
    WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS inbox_pending_due_at ON {ns}.inbox (due_at)
    WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS {ns}.inbox_leases (
    order_key TEXT PRIMARY KEY,
    token BIGINT NOT NULL,
    until TIMESTAMPTZ NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS {ns}.inbox_tokens;
CREATE TABLE IF NOT EXISTS {ns}.outbox_records (
    id TEXT COLLATE "C" PRIMARY KEY,
    state TEXT COLLATE "C" NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version INTEGER NOT NULL,
    message_ids TEXT[] NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_records_created ON {ns}.outbox_records (created_at, id);
CREATE INDEX IF NOT EXISTS outbox_records_state ON {ns}.outbox_records (state, created_at, id);
CREATE TABLE IF NOT EXISTS {ns}.outbox_messages (
    message_id TEXT PRIMARY KEY,
    record_id TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_messages_record_id ON {ns}.outbox_messages (record_id);
"""


def _check_settings(
    url: str, *, retention: timedelta, namespace: str, pool_size: int, pool_timeout: timedelta
) -> None:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in _SCHEMES:
        # Only the scheme is quoted: a mistyped URL may still hold a password.
        raise ConfigurationError(
            f"url: a PostgreSQL store URL starts with postgresql://, got {scheme or 'no'} scheme"
        )
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ConfigurationError(f"url: not a valid PostgreSQL URL ({redacted_url(url)})") from exc
    if retention <= timedelta(0):
        raise ConfigurationError(f"retention must be positive, got {retention}")
    if not _NAMESPACE.fullmatch(namespace):
        raise ConfigurationError(
            "namespace must be 1 to 63 lowercase letters, digits or underscores, "
            f"not starting with a digit; got {namespace!r}"
        )
    if pool_size < 1:
        raise ConfigurationError(f"pool_size must be at least 1, got {pool_size}")
    if pool_timeout <= timedelta(0):
        raise ConfigurationError(f"pool_timeout must be positive, got {pool_timeout}")


class PostgresEventStore:
    """An ``EventStore`` in PostgreSQL, shared by every process that uses the same namespace.

    Create it with :meth:`connect` (it opens the pool and creates the tables if
    missing); use it as an async context manager or call :meth:`close`.

    Attributes:
        retention: how long a done key is remembered.
        namespace: the PostgreSQL schema holding this store's tables.
    """

    def __init__(
        self,
        pool: psycopg_pool.AsyncConnectionPool[Any],
        *,
        server: str,
        retention: timedelta,
        namespace: str,
    ) -> None:
        """Wrap an open pool; use :meth:`connect` instead."""
        self._pool = pool
        self._server = server
        self.retention = retention
        self.namespace = namespace
        self._closed = False
        self._sql = _Statements(namespace)
        # Advisory lock names (hashed in SQL); a namespace holds no ":", so none collide.
        self._key_lock = f"caresupport:{namespace}:inbox-key:"
        self._append_lock = f"caresupport:{namespace}:inbox-append:"
        self._message_lock = f"caresupport:{namespace}:outbox-message:"

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        namespace: str = "caresupport",
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_timeout: timedelta = DEFAULT_POOL_TIMEOUT,
    ) -> PostgresEventStore:
        """Open a connection pool to ``url`` and create the store's tables if missing.

        Args:
            url: ``postgresql://user:password@host:port/database`` (libpq's URL form,
                query parameters such as ``?sslmode=require`` included).
            retention: how long a done key is remembered (default 48 hours).
            namespace: the PostgreSQL schema for the tables (created if missing).
            pool_size: connections opened at most.
            pool_timeout: how long a call waits for a free connection.

        Raises:
            ConfigurationError: a bad setting (checked before any I/O), or tables
                written by a newer release of this library.
            UnreachableError: no connection to the server within ``pool_timeout``.
        """
        _check_settings(
            url,
            retention=retention,
            namespace=namespace,
            pool_size=pool_size,
            pool_timeout=pool_timeout,
        )
        server = redacted_url(url)
        pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            timeout=pool_timeout.total_seconds(),
            kwargs={"autocommit": True, "application_name": f"caresupport:{namespace}"},
            configure=_read_committed,
            open=False,
            name=f"caresupport:{namespace}",
        )
        try:
            await pool.open(wait=True, timeout=pool_timeout.total_seconds())
        except psycopg_pool.PoolTimeout as exc:
            await pool.close()
            raise UnreachableError(
                f"event store {server}: no connection within {pool_timeout.total_seconds()} s; "
                "is PostgreSQL running there and does it accept this user?"
            ) from exc
        store = cls(pool, server=server, retention=retention, namespace=namespace)
        try:
            await store._create_schema()
        except BaseException:
            await pool.close()
            raise
        return store

    async def _create_schema(self) -> None:
        ns = sql.Identifier(self.namespace)
        async with self._transaction() as cursor:
            # One creator at a time: concurrent CREATE ... IF NOT EXISTS can still collide.
            await cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"caresupport:{self.namespace}",)
            )
            await cursor.execute(sql.SQL(_CREATE).format(ns=ns))
            await cursor.execute(sql.SQL("SELECT max(version) FROM {}.schema_version").format(ns))
            row = await cursor.fetchone()
            found = None if row is None else row[0]
            if found is None:
                await cursor.execute(
                    sql.SQL("INSERT INTO {}.schema_version (version) VALUES (%s)").format(ns),
                    (SCHEMA_VERSION,),
                )
            elif found > SCHEMA_VERSION:
                raise ConfigurationError(
                    f"event store {self._server}: namespace {self.namespace!r} holds schema "
                    f"version {found}, written by a newer release (this one reads "
                    f"{SCHEMA_VERSION}); upgrade caresupport-transport"
                )

    async def schema_version(self) -> int:
        """The schema version recorded in this namespace."""
        async with self._transaction() as cursor:
            await cursor.execute(
                sql.SQL("SELECT max(version) FROM {}.schema_version").format(
                    sql.Identifier(self.namespace)
                )
            )
            row = await cursor.fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    async def claim(
        self, keys: Sequence[str], *, token: str, now: datetime, until: datetime
    ) -> ClaimStatus:
        wanted = sorted(set(keys))
        if not wanted:
            return ClaimStatus.CLAIMED
        status = ClaimStatus.CLAIMED
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.claim, (token, until, wanted, now))
            if len(await cursor.fetchall()) < len(wanted):
                # The rows not taken are locked now: read why, then take nothing.
                await cursor.execute(self._sql.any_done, (wanted,))
                row = await cursor.fetchone()
                status = ClaimStatus.DONE if row is not None and row[0] else ClaimStatus.BUSY
                raise psycopg.Rollback
        return status

    async def renew(self, keys: Sequence[str], *, token: str, until: datetime) -> None:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.renew, (until, list(keys), token))

    async def complete(self, keys: Sequence[str], *, now: datetime) -> None:
        wanted = sorted(set(keys))
        if not wanted:
            return
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.complete, (now + self.retention, wanted))

    async def release(self, keys: Sequence[str], *, token: str) -> None:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.release, (list(keys), token))

    async def is_done(self, key: str) -> bool:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.is_done, (key,))
            return await cursor.fetchone() is not None

    async def get_cursor(self, name: str) -> str | None:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.get_cursor, (name,))
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def set_cursor(self, name: str, value: str) -> None:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.set_cursor, (name, value))

    async def prune(self, now: datetime) -> int:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.prune, (now,))
            return cursor.rowcount

    async def enqueue(self, entry: InboxEntry, *, now: datetime) -> EnqueueStatus:
        status = EnqueueStatus.QUEUED
        async with self._transaction() as cursor:
            status = await self._append(cursor, entry, now=now)
            if status is EnqueueStatus.DUPLICATE:
                raise psycopg.Rollback  # the keys it recorded go with the rollback
        return status

    async def _append(
        self, cursor: psycopg.AsyncCursor[Any], entry: InboxEntry, *, now: datetime
    ) -> EnqueueStatus:
        """Record ``entry``'s keys and append it to its key's queue, in the caller's transaction.

        Takes the key's append lock. On ``DUPLICATE`` the caller must roll back
        (the transaction, or a savepoint taken before): keys may have been recorded.
        """
        await cursor.execute(self._sql.lock, (self._append_lock + entry.order_key,))
        keys = sorted(set(entry.keys))
        if keys:
            await cursor.execute(self._sql.record_keys, (now + self.retention, keys, now))
            if len(await cursor.fetchall()) < len(keys):
                return EnqueueStatus.DUPLICATE  # a key is done or claimed
        await cursor.execute(
            self._sql.append,
            (
                entry.id,
                entry.order_key,
                list(entry.keys),
                entry.payload,
                entry.received_at,
                entry.due_at,
            ),
        )
        if await cursor.fetchone() is None:
            return EnqueueStatus.DUPLICATE
        return EnqueueStatus.QUEUED

    async def take(self, *, now: datetime, until: datetime, limit: int) -> list[InboxLease]:
        if limit <= 0:
            return []
        async with self._transaction() as cursor:
            await cursor.execute(
                self._sql.lock_candidates, {"now": now, "lock": self._key_lock, "limit": limit}
            )
            locked = [row[0] for row in await cursor.fetchall()]
            if not locked:
                return []
            # A new statement, so a new snapshot: it sees every change made under these locks.
            await cursor.execute(self._sql.lease, {"keys": locked, "now": now, "until": until})
            rows = await cursor.fetchall()
        rows.sort(key=lambda row: (row[_DUE_AT], row[_SEQ]))
        return [InboxLease(_entry(row), int(row[_TOKEN]), until) for row in rows]

    async def heartbeat(self, lease: InboxLease, *, until: datetime) -> bool:
        async with self._transaction() as cursor:
            await cursor.execute(
                self._sql.heartbeat, (until, lease.entry.order_key, lease.token, lease.entry.id)
            )
            return await cursor.fetchone() is not None

    async def ack(self, lease: InboxLease, *, now: datetime) -> bool:
        return await self._end_attempt(lease, self._sql.remove, (lease.entry.id,))

    async def ack_turn(self, lease: InboxLease, entry_ids: Sequence[str], *, now: datetime) -> bool:
        ids = [lease.entry.id, *entry_ids]
        return await self._end_attempt(
            lease, self._sql.remove_turn, (ids, lease.entry.order_key, lease.entry.id)
        )

    async def pending_of(self, order_key: str, *, limit: int) -> list[InboxEntry]:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.pending_of, (order_key, max(limit, 0)))
            rows = await cursor.fetchall()
        return [_entry(row) for row in rows]

    async def retry(self, lease: InboxLease, *, error: str, due_at: datetime) -> bool:
        return await self._end_attempt(lease, self._sql.reschedule, (due_at, error, lease.entry.id))

    async def bury(self, lease: InboxLease, *, error: str) -> bool:
        return await self._end_attempt(lease, self._sql.bury, (error, lease.entry.id))

    async def entries(self, *, state: InboxState | None, limit: int) -> list[InboxEntry]:
        wanted = None if state is None else state.value
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.entries, (wanted, wanted, max(limit, 0)))
            rows = await cursor.fetchall()
        return [_entry(row) for row in rows]

    async def entry(self, entry_id: str) -> InboxEntry | None:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.entry, (entry_id,))
            row = await cursor.fetchone()
        return None if row is None else _entry(row)

    async def replay(self, entry_id: str, *, now: datetime) -> bool:
        return await self._change_entry(entry_id, self._sql.replay, (now, entry_id))

    async def discard(self, entry_id: str) -> bool:
        return await self._change_entry(entry_id, self._sql.discard, (entry_id,))

    async def stats(self, *, now: datetime) -> InboxStats:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.stats, {"now": now})
            row = await cursor.fetchone()
        assert row is not None  # an aggregate always answers one row
        pending, due, leased, dead, oldest = row
        return InboxStats(
            pending=pending,
            due=due,
            leased=leased,
            dead=dead,
            oldest_pending=None if oldest is None else oldest.astimezone(UTC),
        )

    async def put_record(self, record: OutboxRecord, job: InboxEntry, *, now: datetime) -> bool:
        async with self._transaction() as cursor:
            await cursor.execute(
                self._sql.put_record,
                (
                    record.id,
                    record.state,
                    record.payload,
                    record.created_at,
                    record.updated_at,
                    list(record.message_ids),
                    record.detail,
                ),
            )
            if await cursor.fetchone() is None:
                return False  # the intent was accepted before: nothing written
            async with cursor.connection.transaction():  # a savepoint: the job alone may go
                if await self._append(cursor, job, now=now) is EnqueueStatus.DUPLICATE:
                    raise psycopg.Rollback  # to the savepoint; the record stays
            await self._index_messages(cursor, record.id, old=(), new=record.message_ids)
        return True

    async def get_record(self, record_id: str) -> OutboxRecord | None:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.get_record, (record_id,))
            row = await cursor.fetchone()
        return None if row is None else _record(row)

    async def replace_record(self, record: OutboxRecord, *, expected_version: int) -> bool:
        async with self._transaction() as cursor:
            await cursor.execute(
                self._sql.replace_record,
                (
                    record.state,
                    record.payload,
                    record.created_at,
                    record.updated_at,
                    list(record.message_ids),
                    record.detail,
                    expected_version,
                    record.id,
                    expected_version,
                ),
            )
            if await cursor.fetchone() is None:
                return False  # absent, or another writer changed it first
            # Only a writer of this record (its row now locked by us) adds ids pointing to it.
            await cursor.execute(self._sql.messages_of, (record.id,))
            old = [str(row[0]) for row in await cursor.fetchall()]
            await self._index_messages(cursor, record.id, old=old, new=record.message_ids)
        return True

    async def record_for_message(self, message_id: str) -> str | None:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.record_for_message, (message_id,))
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def records(self, *, state: str | None, limit: int) -> list[OutboxRecord]:
        async with self._transaction() as cursor:
            if state is None:
                await cursor.execute(self._sql.records, (max(limit, 0),))
            else:
                await cursor.execute(self._sql.records_in_state, (state, max(limit, 0)))
            rows = await cursor.fetchall()
        return [_record(row) for row in rows]

    async def record_counts(self) -> dict[str, int]:
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.record_counts)
            rows = await cursor.fetchall()
        return {str(state): int(count) for state, count in rows}

    async def _index_messages(
        self,
        cursor: psycopg.AsyncCursor[Any],
        record_id: str,
        *,
        old: Sequence[str],
        new: Sequence[str],
    ) -> None:
        """Point the message ids ``new`` at ``record_id`` and drop its ``old`` ones not in ``new``.

        Each id touched is locked first, in sorted order, so writers of records
        that share a message id wait for one another instead of deadlocking.
        """
        touched = sorted(set(old) | set(new))
        if not touched:
            return
        await cursor.execute(self._sql.lock_messages, (self._message_lock, touched))
        if old:
            await cursor.execute(self._sql.unindex_messages, (record_id,))
        if new:
            await cursor.execute(self._sql.index_messages, (record_id, sorted(set(new))))

    async def _end_attempt(
        self, lease: InboxLease, change: sql.Composed, params: tuple[object, ...]
    ) -> bool:
        """Free the lease's key and ``change`` its entry, if the lease still holds both."""
        ended = False
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.lock, (self._key_lock + lease.entry.order_key,))
            await cursor.execute(self._sql.free, (lease.entry.order_key, lease.token))
            if await cursor.fetchone() is None:
                return False  # taken over: another token holds the key, or nobody does
            await cursor.execute(change, params)
            if await cursor.fetchone() is None:
                raise psycopg.Rollback  # the entry is gone or dead: keep the lease row
            ended = True
        return ended

    async def _change_entry(
        self, entry_id: str, change: sql.Composed, params: tuple[object, ...]
    ) -> bool:
        """Apply ``change`` to the entry under its key's lock; ``False`` if it is absent."""
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.order_key_of, (entry_id,))
            row = await cursor.fetchone()
            if row is None:
                return False
            # An entry's order key never changes, so it is still this one under the lock.
            await cursor.execute(self._sql.lock, (self._key_lock + str(row[0]),))
            await cursor.execute(change, params)
            return await cursor.fetchone() is not None

    async def close(self) -> None:
        """Close every pooled connection; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        await self._pool.close()

    async def __aenter__(self) -> PostgresEventStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[psycopg.AsyncCursor[Any]]:
        """One transaction on a pooled connection; driver errors become the library's."""
        if self._closed:
            raise ConfigurationError(f"event store {self._server} is closed")
        try:
            async with (
                self._pool.connection() as connection,
                connection.transaction(),
                connection.cursor() as cursor,
            ):
                yield cursor
        except psycopg_pool.PoolTimeout as exc:
            raise TransportTimeoutError(
                f"event store {self._server}: no free connection within "
                f"{self._pool.timeout} s (pool_size={self._pool.max_size})"
            ) from exc
        except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable) as exc:
            # A statement or lock timeout: the server answered, the call was undone.
            raise TransportTimeoutError(
                f"event store {self._server}: the server gave up on a statement "
                f"(SQLSTATE {exc.sqlstate}, {type(exc).__name__}); nothing was changed"
            ) from exc
        except psycopg.errors.TransactionRollback as exc:
            # A serialization failure or deadlock: rolled back as a whole; safe to retry.
            raise ProtocolError(
                f"event store {self._server}: the server rolled the call back "
                f"(SQLSTATE {exc.sqlstate}, {type(exc).__name__}); nothing was changed"
            ) from exc
        except psycopg.OperationalError as exc:
            raise UnreachableError(
                f"event store {self._server}: the connection failed or was dropped "
                f"({type(exc).__name__}); the outcome of this call is unknown"
            ) from exc
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ConfigurationError(
                f"event store {self._server}: the user may not use namespace "
                f"{self.namespace!r} (SQLSTATE {exc.sqlstate}); grant it, or choose another"
            ) from exc
        except psycopg.Error as exc:
            raise ProtocolError(
                f"event store {self._server}: the server refused a statement "
                f"(SQLSTATE {exc.sqlstate}, {type(exc).__name__})"
            ) from exc


async def _read_committed(connection: psycopg.AsyncConnection[Any]) -> None:
    """Run every transaction in READ COMMITTED, whatever the server's default.

    ``claim`` and ``take`` read, in a later statement, what other sessions
    committed after the transaction began (rows and keys they now hold locked);
    only READ COMMITTED gives each statement a fresh snapshot.
    """
    await connection.set_isolation_level(psycopg.IsolationLevel.READ_COMMITTED)


_COLUMNS = "id, order_key, keys, payload, received_at, due_at, attempts, state, last_error, seq"
"""An entry's columns as ``_entry`` reads them; ``take`` adds the token."""
_DUE_AT, _SEQ, _TOKEN = 5, 9, 10


_ELIGIBLE_HEADS = """
SELECT head.order_key, head.seq, head.due_at
FROM (
    SELECT DISTINCT ON (order_key) order_key, seq, due_at
    FROM {inbox} WHERE state = 'pending' ORDER BY order_key, seq
) AS head
LEFT JOIN {leases} AS lease ON lease.order_key = head.order_key
WHERE head.due_at <= %(now)s AND (lease.until IS NULL OR lease.until <= %(now)s)
"""
"""Each order key's head (its pending entry accepted first), when due and not leased."""

_LOCK_CANDIDATES = """
WITH candidate AS MATERIALIZED ({eligible} ORDER BY head.due_at, head.seq)
SELECT order_key FROM candidate
WHERE pg_try_advisory_xact_lock(hashtextextended(%(lock)s || order_key, 0))
LIMIT %(limit)s
"""
"""Try-lock eligible keys in due order until ``limit`` are locked; ``take``'s first step.

``MATERIALIZED`` keeps the lock call out of the CTE: PostgreSQL pushes even a
volatile filter into a subquery that has no LIMIT, and would then try-lock
every due head, leased or not, before sorting them.
"""

_LEASE = """
WITH eligible AS ({eligible} AND head.order_key = ANY(%(keys)s)),
leased AS (
    INSERT INTO {leases} AS lease (order_key, token, until)
    SELECT order_key, nextval({tokens}), %(until)s
    FROM (SELECT order_key FROM eligible ORDER BY due_at, seq) AS by_due
    ON CONFLICT (order_key) DO UPDATE SET token = EXCLUDED.token, until = EXCLUDED.until
    WHERE lease.until <= %(now)s
    RETURNING order_key, token
)
UPDATE {inbox} AS entry SET attempts = entry.attempts + 1
FROM eligible JOIN leased ON leased.order_key = eligible.order_key
WHERE entry.seq = eligible.seq
RETURNING entry.id, entry.order_key, entry.keys, entry.payload, entry.received_at,
    entry.due_at, entry.attempts, entry.state, entry.last_error, entry.seq, leased.token
"""
"""Lease the locked keys still eligible and count the attempt; ``take``'s second step.

The conflict clause refuses a lease that a ``heartbeat`` extended since the
snapshot, so the key's entry is counted only where the lease was taken.
"""


def _entry(row: tuple[Any, ...]) -> InboxEntry:
    """The entry in a row of ``_COLUMNS``, its times in UTC."""
    entry_id, order_key, keys, payload, received_at, due_at, attempts, state, last_error = row[:9]
    return InboxEntry(
        id=entry_id,
        order_key=order_key,
        keys=keys,
        payload=payload,
        received_at=received_at.astimezone(UTC),
        due_at=due_at.astimezone(UTC),
        attempts=attempts,
        state=InboxState(state),
        last_error=last_error,
    )


_RECORD_COLUMNS = "id, state, payload, created_at, updated_at, version, message_ids, detail"
"""A record's columns as ``_record`` reads them."""


def _record(row: tuple[Any, ...]) -> OutboxRecord:
    """The record in a row of ``_RECORD_COLUMNS``, its times in UTC."""
    record_id, state, payload, created_at, updated_at, version, message_ids, detail = row
    return OutboxRecord(
        id=record_id,
        state=state,
        payload=payload,
        created_at=created_at.astimezone(UTC),
        updated_at=updated_at.astimezone(UTC),
        version=version,
        message_ids=message_ids,
        detail=detail,
    )


class _Statements:
    """The store's SQL, composed once for its schema."""

    def __init__(self, namespace: str) -> None:
        ns = sql.Identifier(namespace)
        table = sql.SQL("{}.handled_keys").format(ns)
        self.claim = sql.SQL(
            "INSERT INTO {t} AS held (key, done, token, expires_at) "
            "SELECT key, false, %s, %s FROM unnest(%s::text[]) AS key "
            "ON CONFLICT (key) DO UPDATE "
            "SET done = false, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at "
            "WHERE NOT held.done AND held.expires_at <= %s "
            "RETURNING key"
        ).format(t=table)
        self.any_done = sql.SQL("SELECT bool_or(done) FROM {t} WHERE key = ANY(%s)").format(t=table)
        self.renew = sql.SQL(
            "UPDATE {t} SET expires_at = %s WHERE key = ANY(%s) AND NOT done AND token = %s"
        ).format(t=table)
        self.complete = sql.SQL(
            "INSERT INTO {t} (key, done, token, expires_at) "
            "SELECT key, true, NULL, %s FROM unnest(%s::text[]) AS key "
            "ON CONFLICT (key) DO UPDATE "
            "SET done = true, token = NULL, expires_at = EXCLUDED.expires_at"
        ).format(t=table)
        self.release = sql.SQL(
            "DELETE FROM {t} WHERE key = ANY(%s) AND NOT done AND token = %s"
        ).format(t=table)
        self.is_done = sql.SQL("SELECT 1 FROM {t} WHERE key = %s AND done").format(t=table)
        self.prune = sql.SQL("DELETE FROM {t} WHERE expires_at <= %s").format(t=table)
        self.get_cursor = sql.SQL("SELECT value FROM {}.cursors WHERE name = %s").format(ns)
        self.set_cursor = sql.SQL(
            "INSERT INTO {}.cursors (name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"
        ).format(ns)
        self._inbox(ns, namespace)
        self._outbox(ns)

    def _inbox(self, ns: sql.Identifier, namespace: str) -> None:
        names = {
            "handled": sql.SQL("{}.handled_keys").format(ns),
            "inbox": sql.SQL("{}.inbox").format(ns),
            "leases": sql.SQL("{}.inbox_leases").format(ns),
            # nextval's argument is text naming the sequence; the namespace needs no escape.
            "tokens": sql.Literal(f'"{namespace}".inbox_tokens'),
            "columns": sql.SQL(_COLUMNS),
        }

        def compose(text: str) -> sql.Composed:
            return sql.SQL(text).format(**names)

        self.lock = sql.SQL("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))")
        self.record_keys = compose(
            "INSERT INTO {handled} AS held (key, done, token, expires_at) "
            "SELECT key, true, NULL, %s FROM unnest(%s::text[]) AS key "
            "ON CONFLICT (key) DO UPDATE "
            "SET done = true, token = NULL, expires_at = EXCLUDED.expires_at "
            "WHERE NOT held.done AND held.expires_at <= %s "
            "RETURNING key"
        )
        self.append = compose(
            "INSERT INTO {inbox} "
            "(id, order_key, keys, payload, received_at, due_at, attempts, state, last_error) "
            "VALUES (%s, %s, %s::text[], %s, %s, %s, 0, 'pending', NULL) "
            "ON CONFLICT (id) DO NOTHING RETURNING seq"
        )
        eligible = compose(_ELIGIBLE_HEADS)
        self.lock_candidates = sql.SQL(_LOCK_CANDIDATES).format(eligible=eligible)
        self.lease = sql.SQL(_LEASE).format(eligible=eligible, **names)
        self.heartbeat = compose(
            "UPDATE {leases} SET until = %s WHERE order_key = %s AND token = %s "
            "AND EXISTS (SELECT FROM {inbox} WHERE id = %s AND state = 'pending') "
            "RETURNING token"
        )
        self.free = compose(
            "DELETE FROM {leases} WHERE order_key = %s AND token = %s RETURNING token"
        )
        self.remove = compose(
            "DELETE FROM {inbox} WHERE id = %s AND state = 'pending' RETURNING seq"
        )
        # Removes the turn's entries; the row of the lease's own entry answers for it.
        self.remove_turn = compose(
            "WITH gone AS (DELETE FROM {inbox} WHERE id = ANY(%s::text[]) AND order_key = %s "
            "AND state = 'pending' RETURNING id, seq) SELECT seq FROM gone WHERE id = %s"
        )
        self.pending_of = compose(
            "SELECT {columns} FROM {inbox} WHERE order_key = %s AND state = 'pending' "
            "ORDER BY seq LIMIT %s"
        )
        self.reschedule = compose(
            "UPDATE {inbox} SET due_at = %s, last_error = %s "
            "WHERE id = %s AND state = 'pending' RETURNING seq"
        )
        self.bury = compose(
            "UPDATE {inbox} SET state = 'dead', last_error = %s "
            "WHERE id = %s AND state = 'pending' RETURNING seq"
        )
        self.entries = compose(
            "SELECT {columns} FROM {inbox} WHERE %s::text IS NULL OR state = %s "
            "ORDER BY seq LIMIT %s"
        )
        self.entry = compose("SELECT {columns} FROM {inbox} WHERE id = %s")
        self.order_key_of = compose("SELECT order_key FROM {inbox} WHERE id = %s")
        self.replay = compose(
            "UPDATE {inbox} SET state = 'pending', due_at = %s, attempts = 0 "
            "WHERE id = %s RETURNING seq"
        )
        self.discard = compose("DELETE FROM {inbox} WHERE id = %s RETURNING seq")
        self.stats = compose(
            "SELECT count(*) FILTER (WHERE state = 'pending'), "
            "count(*) FILTER (WHERE state = 'pending' AND due_at <= %(now)s), "
            "(SELECT count(*) FROM {leases} WHERE until > %(now)s), "
            "count(*) FILTER (WHERE state = 'dead'), "
            "min(received_at) FILTER (WHERE state = 'pending') "
            "FROM {inbox}"
        )

    def _outbox(self, ns: sql.Identifier) -> None:
        names = {
            "records": sql.SQL("{}.outbox_records").format(ns),
            "messages": sql.SQL("{}.outbox_messages").format(ns),
            "columns": sql.SQL(_RECORD_COLUMNS),
        }

        def compose(text: str) -> sql.Composed:
            return sql.SQL(text).format(**names)

        self.put_record = compose(
            "INSERT INTO {records} ({columns}) VALUES (%s, %s, %s, %s, %s, 1, %s::text[], %s) "
            "ON CONFLICT (id) DO NOTHING RETURNING version"
        )
        self.get_record = compose("SELECT {columns} FROM {records} WHERE id = %s")
        # The new version is computed from the one expected, never from the record passed in.
        self.replace_record = compose(
            "UPDATE {records} SET state = %s, payload = %s, created_at = %s, updated_at = %s, "
            "message_ids = %s::text[], detail = %s, version = %s + 1 "
            "WHERE id = %s AND version = %s RETURNING version"
        )
        self.messages_of = compose("SELECT message_id FROM {messages} WHERE record_id = %s")
        # The ids come sorted and unnest keeps their order: locks are taken in that order.
        self.lock_messages = sql.SQL(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s || message_id, 0)) "
            "FROM unnest(%s::text[]) AS message_id"
        )
        self.unindex_messages = compose("DELETE FROM {messages} WHERE record_id = %s")
        self.index_messages = compose(
            "INSERT INTO {messages} (message_id, record_id) "
            "SELECT message_id, %s FROM unnest(%s::text[]) AS message_id "
            "ON CONFLICT (message_id) DO UPDATE SET record_id = EXCLUDED.record_id"
        )
        self.record_for_message = compose("SELECT record_id FROM {messages} WHERE message_id = %s")
        self.records = compose("SELECT {columns} FROM {records} ORDER BY created_at, id LIMIT %s")
        self.records_in_state = compose(
            "SELECT {columns} FROM {records} WHERE state = %s ORDER BY created_at, id LIMIT %s"
        )
        self.record_counts = compose("SELECT state, count(*) FROM {records} GROUP BY state")
