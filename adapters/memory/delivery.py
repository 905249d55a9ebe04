"""How long delivery takes in the in-memory world, and the queue of status changes due."""

from __future__ import annotations

import heapq
from datetime import datetime

import attrs

from caresupport_transport.errors import ValidationError
from caresupport_transport.model import DeliveryStatus

__all__ = ["DeliveryDelays", "StatusChange", "StatusSchedule"]


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValidationError(f"delays.{attribute.name}", "must not be negative")


@attrs.frozen
class DeliveryDelays:
    """Seconds after a send at which its status moves on, on the world's virtual clock.

    ``read`` is ``None`` when recipients never read on their own; services
    without read receipts (SMS) never report ``read`` whatever it says.
    """

    sent: float = attrs.field(default=1.0, validator=_non_negative)
    delivered: float = attrs.field(default=3.0, validator=_non_negative)
    read: float | None = 60.0
    failed: float = attrs.field(default=2.0, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.delivered < self.sent:
            raise ValidationError("delays.delivered", "must not come before delays.sent")
        if self.read is not None and self.read < self.delivered:
            raise ValidationError("delays.read", "must not come before delays.delivered")


@attrs.frozen(order=True)
class StatusChange:
    """A status a message reaches at ``due`` (ordered by time, then by scheduling order)."""

    due: datetime
    sequence: int
    message_id: str = attrs.field(order=False)
    status: DeliveryStatus = attrs.field(order=False)
    reason: str | None = attrs.field(default=None, order=False)


@attrs.define
class StatusSchedule:
    """Status changes not yet due, earliest first."""

    _heap: list[StatusChange] = attrs.Factory(list)
    _sequence: int = 0

    def add(
        self, due: datetime, message_id: str, status: DeliveryStatus, reason: str | None = None
    ) -> None:
        heapq.heappush(self._heap, StatusChange(due, self._sequence, message_id, status, reason))
        self._sequence += 1

    def pop_due(self, now: datetime) -> StatusChange | None:
        """The earliest change due at or before ``now``, removed from the schedule."""
        if self._heap and self._heap[0].due <= now:
            return heapq.heappop(self._heap)
        return None

    def __len__(self) -> int:
        return len(self._heap)
