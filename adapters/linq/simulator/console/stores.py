"""The console's inbox and outbox views: a care app's durable stores, when configured.

Given the event store of the app's inbox and/or its outbox's own store
(``simulate --inbox-store URL --outbox-store URL``), the console lists inbox
entries (dead letters with a replay button), outbox intents (a retry button for
a failed or queued one) and the outbox's pending deadlines (the watchdog's
scheduled checks). Only ids, states, counts, times and error summaries are
shown: never an event's or an intent's content.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from caresupport_transport.inbound.inbox_entry import InboxState
from caresupport_transport.inbound.store import EventStore
from caresupport_transport.outbound import Outbox

__all__ = ["STORE_ROWS", "replay_dead_letter", "retry_intent", "store_views"]

STORE_ROWS = 50
"""How many entries, intents and deadlines each view lists (oldest first)."""


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


async def _inbox_view(store: EventStore, now: datetime) -> dict[str, Any]:
    stats = await store.stats(now=now)
    entries = await store.entries(state=None, limit=STORE_ROWS)
    return {
        "pending": stats.pending,
        "dead": stats.dead,
        "entries": [
            {
                "id": e.id,
                "state": e.state.value,
                "attempts": e.attempts,
                "due_at": _iso(e.due_at),
                "last_error": e.last_error,
            }
            for e in entries
        ],
    }


async def _outbox_view(store: EventStore) -> dict[str, Any]:
    intents = await Outbox(store).intents(limit=STORE_ROWS)
    deadlines = await store.entries(state=InboxState.PENDING, limit=STORE_ROWS)
    return {
        "intents": [
            {
                "id": s.intent.id,
                "state": s.state.value,
                "service": s.service.value if s.service else None,
                "attempts": s.attempts,
                "error": s.error,
            }
            for s in intents
        ],
        "deadlines": [{"id": d.id, "due_at": _iso(d.due_at)} for d in deadlines],
    }


async def store_views(
    inbox: EventStore | None, outbox: EventStore | None, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """The inbox and outbox views, or ``None`` when no store is configured."""
    if inbox is None and outbox is None:
        return None
    moment = now or datetime.now(UTC)
    return {
        "inbox": None if inbox is None else await _inbox_view(inbox, moment),
        "outbox": None if outbox is None else await _outbox_view(outbox),
    }


async def replay_dead_letter(store: EventStore, entry_id: str) -> bool:
    """Put a dead inbox entry back in line, due now."""
    return await store.replay(entry_id, now=datetime.now(UTC))


async def retry_intent(store: EventStore, intent_id: str) -> bool:
    """Queue a failed (or stuck queued) outbox intent again."""
    return await Outbox(store).retry(intent_id)
