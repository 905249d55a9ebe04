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
  (``caresupport`` by default): ``handled_keys``, ``cursors`` and
  ``schema_version``. Several deployments (or tests) can share a database, and
  the version row lets a later release migrate the tables it finds.
* Each row carries ``expires_at`` (lease end for a claim, done time plus the
  retention window for a done key) with an index on it, so ``prune`` deletes
  exactly the expired rows.
* The driver's errors never leave the store: a server that cannot be reached or
  drops the connection is an :class:`~caresupport_transport.UnreachableError`,
  a pool with no free connection in time a
  :class:`~caresupport_transport.TransportTimeoutError`, bad settings or a
  missing privilege a :class:`~caresupport_transport.ConfigurationError`, any
  other refusal a :class:`~caresupport_transport.ProtocolError` (with its
  SQLSTATE); messages name the server but never its password, nor a key's or
  cursor's value.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
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
from caresupport_transport.inbound.store import DEFAULT_RETENTION, ClaimStatus
from caresupport_transport.inbound.urls import redacted_url

__all__ = [
    "DEFAULT_POOL_SIZE",
    "DEFAULT_POOL_TIMEOUT",
    "SCHEMA_VERSION",
    "PostgresEventStore",
]

SCHEMA_VERSION = 1
"""The version of the tables this release creates and reads."""

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
        self._sql = _Statements(sql.Identifier(namespace))

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


class _Statements:
    """The store's SQL, composed once for its schema."""

    def __init__(self, ns: sql.Identifier) -> None:
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
