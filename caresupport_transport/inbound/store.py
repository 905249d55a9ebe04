"""The ``EventStore`` protocol: what inbound events were handled, and polling cursors.

A key goes through two states. ``claim`` takes it for one attempt (a lease, so
that a crashed worker's claim runs out and a redelivery can try again);
``complete`` records it as done only after the handler succeeded; ``release``
gives a failed attempt back. A key is therefore never marked done before the
care logic handled it, and two workers sharing one store never handle the same
event at the same time.

Every method is async so that a networked store (Redis, Postgres) can implement
the protocol later without changing the dispatcher.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["DEFAULT_RETENTION", "ClaimStatus", "EventStore"]

DEFAULT_RETENTION = timedelta(hours=48)
"""How long a done key is remembered; longer than any provider's retry window."""


class ClaimStatus(enum.Enum):
    """What ``EventStore.claim`` found."""

    CLAIMED = "claimed"
    """The caller now holds every key and must ``complete`` or ``release`` them."""

    DONE = "done"
    """At least one key was already handled: the event is a duplicate."""

    BUSY = "busy"
    """Another attempt holds a live claim on at least one key; try again later."""


class EventStore(Protocol):
    """Remembers handled inbound events (by key) and per-chat polling cursors."""

    async def claim(
        self, keys: Sequence[str], *, token: str, now: datetime, until: datetime
    ) -> ClaimStatus:
        """Atomically claim every key for one attempt, or none of them.

        Args:
            keys: the event's de-duplication keys (``event:<id>``, ``message:<id>``).
            token: identifies this attempt; ``renew`` and ``release`` need it.
            now: the current time; claims whose lease ended before it are stale.
            until: when this claim's lease ends unless renewed.

        Returns:
            ``DONE`` if any key is done, else ``BUSY`` if any key holds another
            live claim, else ``CLAIMED``.
        """
        ...

    async def renew(self, keys: Sequence[str], *, token: str, until: datetime) -> None:
        """Extend this attempt's claim (a no-op for keys it no longer holds)."""
        ...

    async def complete(self, keys: Sequence[str], *, now: datetime) -> None:
        """Record every key as done at ``now`` (remembered for the retention window)."""
        ...

    async def release(self, keys: Sequence[str], *, token: str) -> None:
        """Give back this attempt's claim so a redelivery can try again."""
        ...

    async def is_done(self, key: str) -> bool:
        """Whether ``key`` was handled (and not yet pruned)."""
        ...

    async def get_cursor(self, name: str) -> str | None:
        """The cursor saved under ``name`` (one per polled chat), if any."""
        ...

    async def set_cursor(self, name: str, value: str) -> None:
        """Save ``value`` as the cursor under ``name``, replacing the one before."""
        ...

    async def prune(self, now: datetime) -> int:
        """Forget done keys and stale claims that expired by ``now``; return how many."""
        ...

    async def close(self) -> None:
        """Release what the store holds (a database connection); it is not used after."""
        ...
