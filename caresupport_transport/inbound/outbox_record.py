"""``OutboxRecord``: one outbound intent as a store keeps it (the store's outbox part).

The store knows nothing of messages: a record is an id (the intent's
idempotency key), an opaque immutable ``payload`` (the intent, encoded), a
``state`` name, an opaque mutable ``detail`` (JSON the outbox owns) and the
provider's ``message_ids`` (indexed, so a delivery status finds its intent).
Every change goes through ``replace_record`` with the version the writer read:
two workers updating one intent at once cannot both win, and the loser reads
again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

__all__ = ["OutboxRecord"]


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class OutboxRecord:
    """One outbound intent and where it stands.

    Attributes:
        id: the intent's id, which is also its idempotency key (unique).
        version: 1 when stored, one more after each ``replace_record``.
        state: the outbox's state name (``queued``, ``sent``, ``delivered``...).
        payload: the intent, encoded (never changes).
        created_at: when it was stored.
        updated_at: when it last changed.
        message_ids: the provider's ids of the messages sent for it.
        detail: what else the outbox tracks (encoded JSON; the store does not read it).
    """

    id: str
    state: str
    payload: str = attrs.field(repr=False)
    created_at: datetime
    updated_at: datetime
    version: int = 1
    message_ids: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    detail: str = attrs.field(default="{}", repr=False)
