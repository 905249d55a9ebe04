"""``SqliteEventStore``: the embedded, restart-proof event store (stdlib ``sqlite3``).

Design choices:

* Every call runs on one dedicated worker thread (a single-thread executor), so
  the event loop never waits on disk and the connection is used by one thread
  at a time; transactions therefore never interleave. Opening the file (and
  creating the schema) happens synchronously in the constructor, once, at
  start-up.
* Group commit: calls made while the worker is busy queue up, and the worker
  runs the whole queue as one batch, in one ``BEGIN IMMEDIATE ... COMMIT`` (one
  thread hop and one sync to disk per batch, not per call). Each call inside
  the batch is its own ``SAVEPOINT``, so a call that fails is rolled back alone
  and the others commit. No call returns before the batch's ``COMMIT`` did: an
  acknowledged intake or done mark is in the file. A batch of reads only opens
  no transaction.
* With ``synchronous="normal"`` a commit syncs nothing, so batches run inline
  on the event loop (no thread hop): the calls made in one turn of the loop
  are committed together at the start of the next. The checkpoints (which
  sync) run on the worker every 500 commits instead of automatically, and a
  batch that finds the file locked by another process goes to the worker,
  which waits for the lock (busy timeout) off the loop.
* WAL journal; ``synchronous`` is a setting (see :data:`SYNCHRONOUS_LEVELS`).
  ``"full"`` (the default) syncs the WAL at every commit, so whatever a call
  acknowledged survives a process crash and a power cut. ``"normal"`` syncs
  only at checkpoints: an acknowledged call survives a crash of the process,
  but a power cut (or an OS crash) may lose the last commits before the next
  checkpoint, and with them deliveries the provider will not send again. The
  file is never corrupted by either. Readers never block the writer.
* Each ``handled_keys`` row carries ``expires_at`` (lease end for a claim, done time plus the
  retention window for a done key) with an index on it, so ``prune`` deletes
  exactly the expired rows by an index range scan: O(expired), not O(table).
* A busy timeout (5 s) lets several processes share one file; claims (see
  :class:`~caresupport_transport.inbound.EventStore`) keep them from handling
  one event twice.
* The durable inbox is three tables. ``inbox`` holds the entries; its
  ``seq`` (``AUTOINCREMENT``, so never reused) is the acceptance order, which
  ``replay`` keeps. ``inbox_leases`` holds one row per leased order key (token,
  end); a row outlives its lease, because an expired lease nobody took over
  still acknowledges. ``inbox_tokens`` is a one-row counter, so a fencing token
  is greater than every token issued before, after a key empties and after a
  reopen. Inbox times are INTEGER microseconds since the epoch (exact to the
  microsecond; naive datetimes are refused; ``handled_keys`` keeps its REAL
  seconds).
* ``take`` walks the due pending entries through the ``(state, due_at)`` index
  (whose implicit ``seq`` gives due-then-accepted order) and keeps those that
  head their key (no earlier pending entry, probed through ``(order_key,
  state, seq)``) and whose key holds no live lease, stopping at the limit.
  Every read-then-write (intake, take, ack, retry, bury, heartbeat) is one
  ``BEGIN IMMEDIATE`` transaction, so processes sharing the file never lease
  one key twice.
* The outbox is two tables. ``outbox_records`` holds the records (times in
  INTEGER microseconds, ``message_ids`` as JSON), listed through ``(created_at,
  id)`` or ``(state, created_at, id)``; ``outbox_messages`` maps a provider's
  message id to its record, written in the same transaction as the record
  by ``put_record`` and ``replace_record``. ``put_record`` stores the
  record and enqueues its job (the intake above, shared) in one transaction;
  ``replace_record`` is ``UPDATE ... WHERE version = ?``, so of two writers
  from one version only the first changes a row.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from caresupport_transport.errors import ConfigurationError
from caresupport_transport.inbound.inbox_entry import (
    InboxEntry,
    InboxLease,
    InboxState,
    InboxStats,
)
from caresupport_transport.inbound.outbox_record import OutboxRecord
from caresupport_transport.inbound.store import DEFAULT_RETENTION, ClaimStatus, EnqueueStatus

if TYPE_CHECKING:
    import sqlite3

__all__ = ["SYNCHRONOUS_LEVELS", "SqliteEventStore"]

SYNCHRONOUS_LEVELS = ("full", "normal")
"""The ``synchronous`` settings ``SqliteEventStore`` accepts (WAL journal in both).

``"full"``: an acknowledged call survives a process crash and a power cut (the default).
``"normal"``: it survives a process crash; a power cut may lose the last commits.
"""

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
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    order_key TEXT NOT NULL,
    keys TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    state TEXT NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS inbox_order ON inbox (order_key, state, seq);
CREATE INDEX IF NOT EXISTS inbox_due ON inbox (state, due_at);
CREATE TABLE IF NOT EXISTS inbox_leases (
    order_key TEXT PRIMARY KEY,
    token INTEGER NOT NULL,
    until INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox_tokens (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT OR IGNORE INTO inbox_tokens (id, last) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS outbox_records (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    message_ids TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_records_created ON outbox_records (created_at, id);
CREATE INDEX IF NOT EXISTS outbox_records_state ON outbox_records (state, created_at, id);
CREATE TABLE IF NOT EXISTS outbox_messages (
    message_id TEXT PRIMARY KEY,
    record_id TEXT NOT NULL
);
"""
_ENTRY_COLUMNS = "id, order_key, keys, payload, received_at, due_at, attempts, state, last_error"
_RECORD_COLUMNS = "id, state, payload, created_at, updated_at, version, message_ids, detail"
# Oldest first; with a state, through the (state, created_at, id) index.
_RECORDS = f"SELECT {_RECORD_COLUMNS} FROM outbox_records ORDER BY created_at, id LIMIT ?"
_RECORDS_IN_STATE = (
    f"SELECT {_RECORD_COLUMNS} FROM outbox_records WHERE state = ? ORDER BY created_at, id LIMIT ?"
)
_REPLACE_RECORD = """
UPDATE outbox_records
SET state = ?, payload = ?, created_at = ?, updated_at = ?, version = ?, message_ids = ?, detail = ?
WHERE id = ? AND version = ?
"""
# The due pending entries that head their key (no earlier pending entry) on a
# key without a live lease, due soonest first, then accepted first.
_TAKE = f"""
SELECT seq, {_ENTRY_COLUMNS} FROM inbox AS head
WHERE head.state = 'pending' AND head.due_at <= :now
  AND NOT EXISTS (
    SELECT 1 FROM inbox AS earlier
    WHERE earlier.order_key = head.order_key AND earlier.state = 'pending'
      AND earlier.seq < head.seq
  )
  AND NOT EXISTS (
    SELECT 1 FROM inbox_leases AS lease
    WHERE lease.order_key = head.order_key AND lease.until > :now
  )
ORDER BY head.due_at, head.seq
LIMIT :limit
"""
# ``_holds``: the key's lease carries the token and the entry is still pending.
_HOLDS = """
SELECT 1 FROM inbox_leases AS lease, inbox AS entry
WHERE lease.order_key = ? AND lease.token = ? AND entry.id = ? AND entry.state = 'pending'
"""
_STATS = """
SELECT
    (SELECT COUNT(*) FROM inbox WHERE state = 'pending'),
    (SELECT COUNT(*) FROM inbox WHERE state = 'pending' AND due_at <= :now),
    (SELECT COUNT(*) FROM inbox_leases WHERE until > :now),
    (SELECT COUNT(*) FROM inbox WHERE state = 'dead'),
    (SELECT MIN(received_at) FROM inbox WHERE state = 'pending')
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_BUSY_TIMEOUT_SECONDS = 5.0  # how long a write waits for another process's (sets busy_timeout)
_CHECKPOINT_EVERY = 500  # inline commits (synchronous=normal) between checkpoints on the worker
_SYNCHRONOUS_NAMES = {2: "full", 1: "normal"}  # what ``PRAGMA synchronous`` answers


class SqliteEventStore:
    """An ``EventStore`` in one SQLite file; reopening the file remembers everything.

    Args:
        path: the database file (created if missing; its directory must exist).
        retention: how long a done key is remembered (default 48 hours).
        synchronous: ``"full"`` (default) or ``"normal"``; what an acknowledged
            call survives (see :data:`SYNCHRONOUS_LEVELS` and the module notes).

    Raises:
        ConfigurationError: the ``synchronous`` level is unknown, the file
            cannot be opened, WAL mode is refused, or the
            path is ``":memory:"`` (an in-memory database forgets everything when
            the process stops, and with it which events were handled).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        synchronous: str = "full",
    ) -> None:
        if retention <= timedelta(0):
            raise ConfigurationError(f"retention must be positive, got {retention}")
        if synchronous not in SYNCHRONOUS_LEVELS:
            raise ConfigurationError(
                f"synchronous must be one of {', '.join(SYNCHRONOUS_LEVELS)}, got {synchronous!r}"
            )
        self.path = Path(path)
        self.retention = retention
        self._synchronous_level = synchronous
        self._closed = False
        self._queue: list[_Call] = []
        self._flushing = False
        self._flushers: set[asyncio.Task[None]] = set()
        self._writing = False  # whether the worker's current call opened a savepoint
        # "normal" syncs nothing at commit, so calls run inline on the event loop (see _run).
        self._inline = synchronous == "normal"
        self._inline_now = False  # whether the call running now runs inline
        self._commits_since_checkpoint = 0
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
            connection.execute(f"PRAGMA synchronous = {self._synchronous_level.upper()}")
            if self._inline:
                # Checkpoints (which sync) run on the worker thread, never inline.
                connection.execute("PRAGMA wal_autocheckpoint = 0")
                # Inline calls never wait for another process's lock; the worker does.
                connection.execute("PRAGMA busy_timeout = 0")
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
        """SQLite's ``synchronous`` setting for this store: ``"full"`` or ``"normal"``."""
        return await self._run(self._synchronous)

    def _synchronous(self) -> str:
        (level,) = self._connection.execute("PRAGMA synchronous").fetchone()
        return _SYNCHRONOUS_NAMES.get(int(level), str(level))

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

    async def enqueue(self, entry: InboxEntry, *, now: datetime) -> EnqueueStatus:
        return await self._run(self._enqueue, self._intake(entry, now))

    def _enqueue(self, intake: _Intake) -> EnqueueStatus:
        with self._transaction() as db:
            return _enqueue_in(db, intake)

    def _intake(self, entry: InboxEntry, now: datetime) -> _Intake:
        """What ``_enqueue_in`` writes for ``entry`` accepted at ``now`` (times checked here)."""
        row = (
            entry.id,
            entry.order_key,
            json.dumps(list(entry.keys)),
            entry.payload,
            _micros(entry.received_at),
            _micros(entry.due_at),
            InboxState.PENDING.value,
        )
        return _Intake(entry, row, now.timestamp(), (now + self.retention).timestamp())

    async def take(self, *, now: datetime, until: datetime, limit: int) -> list[InboxLease]:
        taken = await self._run(self._take, _micros(now), _micros(until), limit)
        return [InboxLease(entry, token, until) for entry, token in taken]

    def _take(self, now: int, until: int, limit: int) -> list[tuple[InboxEntry, int]]:
        if limit <= 0:
            return []
        with self._transaction() as db:
            heads = db.execute(_TAKE, {"now": now, "limit": limit}).fetchall()
            if not heads:
                return []
            (last_token,) = db.execute("SELECT last FROM inbox_tokens WHERE id = 1").fetchone()
            taken = []
            for token, (seq, *columns) in enumerate(heads, start=last_token + 1):
                stored = _entry_from_row(columns)
                entry = attrs.evolve(stored, attempts=stored.attempts + 1)
                db.execute("UPDATE inbox SET attempts = attempts + 1 WHERE seq = ?", (seq,))
                db.execute(
                    "INSERT OR REPLACE INTO inbox_leases (order_key, token, until) "
                    "VALUES (?, ?, ?)",
                    (entry.order_key, token, until),
                )
                taken.append((entry, token))
            db.execute("UPDATE inbox_tokens SET last = ? WHERE id = 1", (taken[-1][1],))
            return taken

    async def heartbeat(self, lease: InboxLease, *, until: datetime) -> bool:
        return await self._run(self._heartbeat, lease, _micros(until))

    def _heartbeat(self, lease: InboxLease, until: int) -> bool:
        with self._transaction() as db:
            if not _holds(db, lease):
                return False
            db.execute(
                "UPDATE inbox_leases SET until = ? WHERE order_key = ?",
                (until, lease.entry.order_key),
            )
            return True

    async def ack(self, lease: InboxLease, *, now: datetime) -> bool:
        return await self._run(self._ack, lease)

    def _ack(self, lease: InboxLease) -> bool:
        with self._transaction() as db:
            if not _holds(db, lease):
                return False
            db.execute("DELETE FROM inbox WHERE id = ?", (lease.entry.id,))
            db.execute("DELETE FROM inbox_leases WHERE order_key = ?", (lease.entry.order_key,))
            return True

    async def ack_turn(self, lease: InboxLease, entry_ids: Sequence[str], *, now: datetime) -> bool:
        return await self._run(self._ack_turn, lease, list(entry_ids))

    def _ack_turn(self, lease: InboxLease, entry_ids: list[str]) -> bool:
        with self._transaction() as db:
            if not _holds(db, lease):
                return False
            db.execute("DELETE FROM inbox WHERE id = ?", (lease.entry.id,))
            db.executemany(
                "DELETE FROM inbox WHERE id = ? AND order_key = ? AND state = ?",
                [(i, lease.entry.order_key, InboxState.PENDING.value) for i in entry_ids],
            )
            db.execute("DELETE FROM inbox_leases WHERE order_key = ?", (lease.entry.order_key,))
            return True

    async def pending_of(self, order_key: str, *, limit: int) -> list[InboxEntry]:
        return await self._run(self._pending_of, order_key, limit)

    def _pending_of(self, order_key: str, limit: int) -> list[InboxEntry]:
        rows = self._connection.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM inbox WHERE order_key = ? AND state = ? "
            "ORDER BY seq LIMIT ?",
            (order_key, InboxState.PENDING.value, max(limit, 0)),
        ).fetchall()
        return [_entry_from_row(row) for row in rows]

    async def retry(self, lease: InboxLease, *, error: str, due_at: datetime) -> bool:
        return await self._run(self._retry, lease, error, _micros(due_at))

    def _retry(self, lease: InboxLease, error: str, due_at: int) -> bool:
        with self._transaction() as db:
            if not _holds(db, lease):
                return False
            db.execute(
                "UPDATE inbox SET due_at = ?, last_error = ? WHERE id = ?",
                (due_at, error, lease.entry.id),
            )
            db.execute("DELETE FROM inbox_leases WHERE order_key = ?", (lease.entry.order_key,))
            return True

    async def bury(self, lease: InboxLease, *, error: str) -> bool:
        return await self._run(self._bury, lease, error)

    def _bury(self, lease: InboxLease, error: str) -> bool:
        with self._transaction() as db:
            if not _holds(db, lease):
                return False
            db.execute(
                "UPDATE inbox SET state = ?, last_error = ? WHERE id = ?",
                (InboxState.DEAD.value, error, lease.entry.id),
            )
            db.execute("DELETE FROM inbox_leases WHERE order_key = ?", (lease.entry.order_key,))
            return True

    async def entries(self, *, state: InboxState | None, limit: int) -> list[InboxEntry]:
        return await self._run(self._entries, None if state is None else state.value, limit)

    def _entries(self, state: str | None, limit: int) -> list[InboxEntry]:
        rows = self._connection.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM inbox WHERE ? IS NULL OR state = ? ORDER BY seq LIMIT ?",
            (state, state, max(limit, 0)),
        ).fetchall()
        return [_entry_from_row(row) for row in rows]

    async def entry(self, entry_id: str) -> InboxEntry | None:
        return await self._run(self._entry, entry_id)

    def _entry(self, entry_id: str) -> InboxEntry | None:
        row = self._connection.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM inbox WHERE id = ?", (entry_id,)
        ).fetchone()
        return None if row is None else _entry_from_row(row)

    async def replay(self, entry_id: str, *, now: datetime) -> bool:
        return await self._run(self._replay, entry_id, _micros(now))

    def _replay(self, entry_id: str, now: int) -> bool:
        with self._transaction() as db:
            updated = db.execute(
                "UPDATE inbox SET state = ?, due_at = ?, attempts = 0 WHERE id = ?",
                (InboxState.PENDING.value, now, entry_id),
            )
            return updated.rowcount > 0

    async def discard(self, entry_id: str) -> bool:
        return await self._run(self._discard, entry_id)

    def _discard(self, entry_id: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM inbox WHERE id = ?", (entry_id,)).rowcount > 0

    async def stats(self, *, now: datetime) -> InboxStats:
        return await self._run(self._stats, _micros(now))

    def _stats(self, now: int) -> InboxStats:
        # One statement, so the counts come from one snapshot of the file.
        pending, due, leased, dead, oldest = self._connection.execute(
            _STATS, {"now": now}
        ).fetchone()
        return InboxStats(
            pending=pending,
            due=due,
            leased=leased,
            dead=dead,
            oldest_pending=None if oldest is None else _moment(oldest),
        )

    async def put_record(self, record: OutboxRecord, job: InboxEntry, *, now: datetime) -> bool:
        row = (
            record.id,
            record.state,
            record.payload,
            _micros(record.created_at),
            _micros(record.updated_at),
            1,
            json.dumps(list(record.message_ids)),
            record.detail,
        )
        return await self._run(self._put_record, row, record, self._intake(job, now))

    def _put_record(self, row: tuple[object, ...], record: OutboxRecord, job: _Intake) -> bool:
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM outbox_records WHERE id = ?", (record.id,)).fetchone():
                return False
            db.execute(
                f"INSERT INTO outbox_records ({_RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            _index_messages(db, record)
            _enqueue_in(db, job)  # a duplicate job leaves the record stored, as the contract says
            return True

    async def get_record(self, record_id: str) -> OutboxRecord | None:
        return await self._run(self._get_record, record_id)

    def _get_record(self, record_id: str) -> OutboxRecord | None:
        row = self._connection.execute(
            f"SELECT {_RECORD_COLUMNS} FROM outbox_records WHERE id = ?", (record_id,)
        ).fetchone()
        return None if row is None else _record_from_row(row)

    async def replace_record(self, record: OutboxRecord, *, expected_version: int) -> bool:
        row = (
            record.state,
            record.payload,
            _micros(record.created_at),
            _micros(record.updated_at),
            expected_version + 1,
            json.dumps(list(record.message_ids)),
            record.detail,
            record.id,
            expected_version,
        )
        return await self._run(self._replace_record, row, record)

    def _replace_record(self, row: tuple[object, ...], record: OutboxRecord) -> bool:
        with self._transaction() as db:
            before = db.execute(
                "SELECT message_ids FROM outbox_records WHERE id = ?", (record.id,)
            ).fetchone()
            if db.execute(_REPLACE_RECORD, row).rowcount == 0:
                return False
            # Only the rows that still point here: a message id a later record took stays its.
            db.executemany(
                "DELETE FROM outbox_messages WHERE message_id = ? AND record_id = ?",
                [(message_id, record.id) for message_id in json.loads(before[0])],
            )
            _index_messages(db, record)
            return True

    async def record_for_message(self, message_id: str) -> str | None:
        return await self._run(self._record_for_message, message_id)

    def _record_for_message(self, message_id: str) -> str | None:
        row = self._connection.execute(
            "SELECT record_id FROM outbox_messages WHERE message_id = ?", (message_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    async def records(self, *, state: str | None, limit: int) -> list[OutboxRecord]:
        return await self._run(self._records, state, max(limit, 0))

    def _records(self, state: str | None, limit: int) -> list[OutboxRecord]:
        if state is None:
            rows = self._connection.execute(_RECORDS, (limit,)).fetchall()
        else:
            rows = self._connection.execute(_RECORDS_IN_STATE, (state, limit)).fetchall()
        return [_record_from_row(row) for row in rows]

    async def record_counts(self) -> dict[str, int]:
        return await self._run(self._record_counts)

    def _record_counts(self) -> dict[str, int]:
        rows = self._connection.execute(
            "SELECT state, COUNT(*) FROM outbox_records GROUP BY state"
        ).fetchall()
        return {str(state): int(count) for state, count in rows}

    async def close(self) -> None:
        """Close the file and stop the worker thread; calling it again does nothing.

        Calls already queued run (and commit) first.
        """
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        while self._flushing or self._queue:
            await asyncio.sleep(0)
            if self._queue and not self._flushing:
                self._start_flush(loop)
        await loop.run_in_executor(self._executor, self._connection.close)
        self._executor.shutdown(wait=False)

    async def __aenter__(self) -> SqliteEventStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        """Run ``func(*args)`` in the next batch; its result once the batch committed.

        With ``synchronous="normal"`` the batch runs inline on the event loop
        (a commit syncs nothing, so nothing waits on the disk): every call made
        in one turn of the loop joins it, and it runs at the start of the next
        turn, with no thread hop. It goes to the worker instead when another
        process holds the write lock (the worker waits for it, up to the busy
        timeout) or a checkpoint is due (the checkpoint syncs). With
        ``"full"`` batches run on the worker thread: the calls made while it
        syncs one batch form the next.
        """
        if self._closed:
            raise ConfigurationError(f"event store {self.path} is closed")
        loop = asyncio.get_running_loop()
        call = _Call(func, args, loop.create_future())
        self._queue.append(call)
        if not self._flushing:
            if self._inline and self._commits_since_checkpoint < _CHECKPOINT_EVERY:
                self._flushing = True
                loop.call_soon(self._flush_inline, loop)
            else:
                self._start_flush(loop)
        result: _T = await call.future
        return result

    def _flush_inline(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run the queue as one batch on the event loop; to the worker when the file is locked."""
        batch, self._queue = self._queue, []
        self._inline_now = True
        try:
            outcomes = self._run_batch(batch)
        except _Busy:
            self._queue = batch + self._queue
            self._start_flush(loop)
            return
        except BaseException as exc:
            self._flushing = False
            _settle(batch, [(False, exc)] * len(batch))
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self._inline_now = False
        # Settling only schedules the callers: nothing can queue a call meanwhile.
        self._flushing = False
        _settle(batch, outcomes)

    def _start_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._flushing = True
        flusher = loop.create_task(self._flush())
        self._flushers.add(flusher)
        flusher.add_done_callback(self._flushers.discard)

    async def _flush(self) -> None:
        """Run the queue batch after batch on the worker thread until it is empty."""
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    outcomes = await loop.run_in_executor(self._executor, self._run_batch, batch)
                except BaseException as exc:  # the thread hop itself failed
                    for call in batch:
                        if not call.future.done():
                            call.future.set_exception(exc)
                    raise
                _settle(batch, outcomes)
        finally:
            self._flushing = False

    def _run_batch(self, batch: list[_Call]) -> list[tuple[bool, Any]]:
        """On the worker thread: every call in turn, then one ``COMMIT`` if any of them wrote.

        A write opens the batch's transaction (``BEGIN IMMEDIATE``) when it is
        the first, and runs in its own savepoint. A failed ``COMMIT`` (or a
        failure after which SQLite rolled the whole transaction back) fails
        every call that wrote in the batch: none of their writes is in the file.
        """
        outcomes: list[tuple[bool, Any]] = []
        writers: list[int] = []
        if self._inline and not self._inline_now:
            self._connection.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_SECONDS * 1000)}")
        for index, call in enumerate(batch):
            self._writing = False
            try:
                outcomes.append((True, call.func(*call.args)))
            except _Busy:
                raise  # inline only, at the first BEGIN: nothing was written
            except _TransactionLost as lost:
                outcomes.append((False, lost.cause))
                for writer in writers:
                    outcomes[writer] = (False, lost.cause)
                writers.clear()
                continue
            except Exception as exc:
                outcomes.append((False, exc))
            if self._writing:
                writers.append(index)
        if self._connection.in_transaction:
            try:
                self._connection.execute("COMMIT")
            except Exception as exc:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                for writer in writers:
                    outcomes[writer] = (False, exc)
            else:
                self._commits_since_checkpoint += 1
        if self._inline and not self._inline_now:
            self._connection.execute("PRAGMA busy_timeout = 0")
            if self._commits_since_checkpoint >= _CHECKPOINT_EVERY:
                self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self._commits_since_checkpoint = 0
        return outcomes

    def _transaction(self) -> _Savepoint:
        return _Savepoint(self)


@attrs.define
class _Call:
    """One queued store call: the worker's function, its arguments, where the answer goes."""

    func: Callable[..., Any]
    args: tuple[object, ...]
    future: asyncio.Future[Any]


def _settle(batch: list[_Call], outcomes: list[tuple[bool, Any]]) -> None:
    """Hand each call of ``batch`` its outcome (a caller that was cancelled has gone)."""
    for call, (ok, value) in zip(batch, outcomes, strict=True):
        if call.future.done():  # its caller was cancelled
            continue
        if ok:
            call.future.set_result(value)
        else:
            call.future.set_exception(value)


class _Busy(Exception):
    """An inline call found the file locked by another process (it goes to the worker)."""


class _TransactionLost(Exception):
    """SQLite rolled the batch's whole transaction back (disk full, I/O error)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Savepoint:
    """One call's writes inside the batch's transaction, on the worker thread.

    The batch's first write opens the transaction with ``BEGIN IMMEDIATE``:
    IMMEDIATE takes the write lock up front, so a claim's (or an intake's, or a
    take's) read-then-write cannot race another process's on the same key. A
    call that raises is rolled back to its savepoint; the batch's other calls
    keep their writes.
    """

    def __init__(self, store: SqliteEventStore) -> None:
        self._store = store
        self._connection = store._connection

    def __enter__(self) -> sqlite3.Connection:
        if not self._connection.in_transaction:
            try:
                self._connection.execute("BEGIN IMMEDIATE")
            except Exception as exc:
                if (
                    self._store._inline_now
                    and getattr(exc, "sqlite_errorname", "") == "SQLITE_BUSY"
                ):
                    raise _Busy from exc
                raise
        self._connection.execute("SAVEPOINT call")
        self._store._writing = True
        return self._connection

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, *rest: object) -> None:
        if exc_type is None:
            self._connection.execute("RELEASE call")
            return
        if not self._connection.in_transaction:
            raise _TransactionLost(exc if isinstance(exc, BaseException) else RuntimeError(exc))
        self._connection.execute("ROLLBACK TO call")
        self._connection.execute("RELEASE call")


@attrs.frozen
class _Intake:
    """One entry to enqueue, prepared outside the worker thread (see ``_enqueue_in``).

    Attributes:
        entry: the entry.
        row: its ``inbox`` columns but ``attempts`` and ``last_error``.
        now: acceptance time (seconds), to tell live claims.
        expires_at: when its keys' done marks expire (seconds).
    """

    entry: InboxEntry
    row: tuple[object, ...]
    now: float
    expires_at: float


def _enqueue_in(db: sqlite3.Connection, intake: _Intake) -> EnqueueStatus:
    """``enqueue`` inside the caller's transaction: the duplicate check, the keys, the entry.

    A duplicate is an entry with this id, or a key already recorded: done, or
    claimed by a live claim (the memory store's ``_recorded``). One query asks both.
    """
    entry = intake.entry
    keys = entry.keys
    marks = ", ".join("?" * len(keys))
    found = db.execute(
        "SELECT 1 FROM inbox WHERE id = ? UNION ALL SELECT 1 FROM handled_keys "
        f"WHERE key IN ({marks}) AND (done = 1 OR expires_at > ?) LIMIT 1",
        (entry.id, *keys, intake.now),
    ).fetchone()
    if found:
        return EnqueueStatus.DUPLICATE
    if keys:
        db.execute(
            "INSERT OR REPLACE INTO handled_keys (key, done, token, expires_at) VALUES "
            + ", ".join("(?, 1, NULL, ?)" for _ in keys),
            [value for key in keys for value in (key, intake.expires_at)],
        )
    db.execute(
        f"INSERT INTO inbox ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 0, ?, NULL)", intake.row
    )
    return EnqueueStatus.QUEUED


def _index_messages(db: sqlite3.Connection, record: OutboxRecord) -> None:
    """Point each of ``record.message_ids`` at it (taking it from any record it pointed at)."""
    db.executemany(
        "INSERT OR REPLACE INTO outbox_messages (message_id, record_id) VALUES (?, ?)",
        [(message_id, record.id) for message_id in record.message_ids],
    )


def _holds(db: sqlite3.Connection, lease: InboxLease) -> bool:
    """Whether ``lease``'s token is still its key's and its entry is still pending."""
    found = db.execute(_HOLDS, (lease.entry.order_key, lease.token, lease.entry.id)).fetchone()
    return found is not None


def _entry_from_row(row: Sequence[Any]) -> InboxEntry:
    """An ``InboxEntry`` from a row of ``_ENTRY_COLUMNS``."""
    entry_id, order_key, keys, payload, received_at, due_at, attempts, state, last_error = row
    return InboxEntry(
        id=entry_id,
        order_key=order_key,
        keys=json.loads(keys),
        payload=payload,
        received_at=_moment(received_at),
        due_at=_moment(due_at),
        attempts=attempts,
        state=InboxState(state),
        last_error=last_error,
    )


def _record_from_row(row: Sequence[Any]) -> OutboxRecord:
    """An ``OutboxRecord`` from a row of ``_RECORD_COLUMNS``."""
    record_id, state, payload, created_at, updated_at, version, message_ids, detail = row
    return OutboxRecord(
        id=record_id,
        state=state,
        payload=payload,
        created_at=_moment(created_at),
        updated_at=_moment(updated_at),
        version=version,
        message_ids=json.loads(message_ids),
        detail=detail,
    )


def _micros(moment: datetime) -> int:
    """``moment`` (timezone-aware) as whole microseconds since the epoch, exactly."""
    if moment.utcoffset() is None:
        raise ValueError(f"store times must be timezone-aware, got {moment!r}")
    return (moment - _EPOCH) // _MICROSECOND


def _moment(micros: int) -> datetime:
    """The aware UTC datetime ``micros`` microseconds after the epoch."""
    return _EPOCH + timedelta(microseconds=micros)
