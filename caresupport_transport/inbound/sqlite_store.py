"""``SqliteEventStore``: the embedded, restart-proof event store (stdlib ``sqlite3``).

Design choices:

* Every call runs on one dedicated worker thread (a single-thread executor), so
  the event loop never waits on disk and the connection is used by one thread
  at a time; transactions therefore never interleave. Opening the file (and
  creating the schema) happens synchronously in the constructor, once, at
  start-up.
* WAL journal with ``synchronous=FULL``: a done mark that was acknowledged
  survives a power cut, and readers never block the writer.
* Each row carries ``expires_at`` (lease end for a claim, done time plus the
  retention window for a done key) with an index on it, so ``prune`` deletes
  exactly the expired rows by an index range scan: O(expired), not O(table).
* A busy timeout (5 s) lets several processes share one file; claims (see
  :class:`~caresupport_transport.inbound.EventStore`) keep them from handling
  one event twice.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from caresupport_transport.errors import ConfigurationError
from caresupport_transport.inbound.store import DEFAULT_RETENTION, ClaimStatus

if TYPE_CHECKING:
    import sqlite3

__all__ = ["SqliteEventStore"]

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled_keys (
    key TEXT PRIMARY KEY,
    done INTEGER NOT NULL,
    token TEXT,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS handled_keys_expires_at ON handled_keys (expires_at);
CREATE TABLE IF NOT EXISTS cursors (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
_BUSY_TIMEOUT_SECONDS = 5.0  # how long a write waits for another process's (sets busy_timeout)
_SYNCHRONOUS_FULL = 2  # what ``PRAGMA synchronous`` answers for FULL


class SqliteEventStore:
    """An ``EventStore`` in one SQLite file; reopening the file remembers everything.

    Args:
        path: the database file (created if missing; its directory must exist).
        retention: how long a done key is remembered (default 48 hours).

    Raises:
        ConfigurationError: the file cannot be opened, WAL mode is refused, or the
            path is ``":memory:"`` (an in-memory database forgets everything when
            the process stops, and with it which events were handled).
    """

    def __init__(self, path: str | Path, *, retention: timedelta = DEFAULT_RETENTION) -> None:
        if retention <= timedelta(0):
            raise ConfigurationError(f"retention must be positive, got {retention}")
        self.path = Path(path)
        self.retention = retention
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-store")
        try:
            self._connection = self._executor.submit(self._open).result()
        except BaseException:
            self._executor.shutdown(wait=True)
            raise

    def _open(self) -> sqlite3.Connection:
        import sqlite3  # imported here: most users of the package never need it

        try:
            # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
            connection = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open event store {self.path}: {exc}") from exc
        try:
            (mode,) = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                why = (
                    "an in-memory SQLite database forgets every handled event when the process "
                    "stops, so deliveries after a restart would be handled again; give a file "
                    "path (MemoryEventStore serves tests)"
                    if str(mode).lower() == "memory"
                    else f"SQLite refused WAL mode (got {mode!r})"
                )
                raise ConfigurationError(f"event store {str(self.path)!r}: {why}")
            connection.execute("PRAGMA synchronous = FULL")
            connection.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            connection.close()
            raise ConfigurationError(f"cannot open event store {self.path}: {exc}") from exc
        except BaseException:
            connection.close()
            raise
        return connection

    async def journal_mode(self) -> str:
        """SQLite's journal mode for this file: ``"wal"``."""
        return await self._run(self._journal_mode)

    def _journal_mode(self) -> str:
        (mode,) = self._connection.execute("PRAGMA journal_mode").fetchone()
        return str(mode)

    async def synchronous(self) -> str:
        """SQLite's ``synchronous`` setting for this store: ``"full"`` (see the module notes)."""
        return await self._run(self._synchronous)

    def _synchronous(self) -> str:
        (level,) = self._connection.execute("PRAGMA synchronous").fetchone()
        return "full" if int(level) == _SYNCHRONOUS_FULL else str(level)

    async def claim(
        self, keys: Sequence[str], *, token: str, now: datetime, until: datetime
    ) -> ClaimStatus:
        return await self._run(self._claim, tuple(keys), token, now.timestamp(), until.timestamp())

    def _claim(self, keys: tuple[str, ...], token: str, now: float, until: float) -> ClaimStatus:
        with self._transaction() as db:
            rows = [
                db.execute(
                    "SELECT done, expires_at FROM handled_keys WHERE key = ?", (key,)
                ).fetchone()
                for key in keys
            ]
            found = [row for row in rows if row is not None]
            if any(done for done, _ in found):
                return ClaimStatus.DONE
            if any(expires_at > now for _, expires_at in found):
                return ClaimStatus.BUSY
            db.executemany(
                "INSERT OR REPLACE INTO handled_keys (key, done, token, expires_at) "
                "VALUES (?, 0, ?, ?)",
                [(key, token, until) for key in keys],
            )
            return ClaimStatus.CLAIMED

    async def renew(self, keys: Sequence[str], *, token: str, until: datetime) -> None:
        await self._run(self._renew, tuple(keys), token, until.timestamp())

    def _renew(self, keys: tuple[str, ...], token: str, until: float) -> None:
        with self._transaction() as db:
            db.executemany(
                "UPDATE handled_keys SET expires_at = ? WHERE key = ? AND done = 0 AND token = ?",
                [(until, key, token) for key in keys],
            )

    async def complete(self, keys: Sequence[str], *, now: datetime) -> None:
        expires_at = (now + self.retention).timestamp()
        await self._run(self._complete, tuple(keys), expires_at)

    def _complete(self, keys: tuple[str, ...], expires_at: float) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO handled_keys (key, done, token, expires_at) "
                "VALUES (?, 1, NULL, ?)",
                [(key, expires_at) for key in keys],
            )

    async def release(self, keys: Sequence[str], *, token: str) -> None:
        await self._run(self._release, tuple(keys), token)

    def _release(self, keys: tuple[str, ...], token: str) -> None:
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM handled_keys WHERE key = ? AND done = 0 AND token = ?",
                [(key, token) for key in keys],
            )

    async def is_done(self, key: str) -> bool:
        return await self._run(self._is_done, key)

    def _is_done(self, key: str) -> bool:
        row = self._connection.execute(
            "SELECT 1 FROM handled_keys WHERE key = ? AND done = 1", (key,)
        ).fetchone()
        return row is not None

    async def get_cursor(self, name: str) -> str | None:
        return await self._run(self._get_cursor, name)

    def _get_cursor(self, name: str) -> str | None:
        row = self._connection.execute(
            "SELECT value FROM cursors WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else str(row[0])

    async def set_cursor(self, name: str, value: str) -> None:
        await self._run(self._set_cursor, name, value)

    def _set_cursor(self, name: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO cursors (name, value) VALUES (?, ?)", (name, value))

    async def prune(self, now: datetime) -> int:
        return await self._run(self._prune, now.timestamp())

    def _prune(self, now: float) -> int:
        with self._transaction() as db:
            return db.execute("DELETE FROM handled_keys WHERE expires_at <= ?", (now,)).rowcount

    async def close(self) -> None:
        """Close the file and stop the worker thread; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connection.close)
        self._executor.shutdown(wait=False)

    async def __aenter__(self) -> SqliteEventStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        if self._closed:
            raise ConfigurationError(f"event store {self.path} is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(func, *args))

    def _transaction(self) -> _Transaction:
        return _Transaction(self._connection)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error) on the worker thread.

    IMMEDIATE takes the write lock up front, so a claim's read-then-write cannot
    race another process's claim of the same key.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self._connection.execute("BEGIN IMMEDIATE")
        return self._connection

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._connection.execute("COMMIT" if exc_type is None else "ROLLBACK")
