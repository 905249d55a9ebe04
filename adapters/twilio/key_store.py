"""``SqliteKeyStore``: the Twilio provider's idempotency records, durable on one host."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, MutableMapping
from pathlib import Path

__all__ = ["SqliteKeyStore"]


class SqliteKeyStore(MutableMapping[str, str]):
    """A string -> string mapping in one SQLite table, each write committed at once.

    Give it to ``TwilioProvider(records=...)`` so a send retried by another
    process (an outbox worker after a crash, a second CLI run) finds the text its
    key already made, or the ambiguous create it must reconcile first.

    Args:
        path: the database file (created with its directory if missing).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS twilio_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )

    def __getitem__(self, name: str) -> str:
        row = self._db.execute("SELECT value FROM twilio_keys WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise KeyError(name)
        value: str = row[0]
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO twilio_keys (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def __delitem__(self, name: str) -> None:
        if self._db.execute("DELETE FROM twilio_keys WHERE name = ?", (name,)).rowcount == 0:
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        names = [row[0] for row in self._db.execute("SELECT name FROM twilio_keys")]
        return iter(names)

    def __len__(self) -> int:
        count: int = self._db.execute("SELECT COUNT(*) FROM twilio_keys").fetchone()[0]
        return count

    def close(self) -> None:
        self._db.close()
