"""Linq's words for services, delivery statuses, directions, handle statuses (private).

The one table of how Linq spells what the domain names: the client's converter,
the reader (:mod:`adapters.linq._to_domain`), webhook parsing and the simulator
all read and write these words here and nowhere else.

- Reading is case-insensitive (``"imessage"`` is ``"iMessage"``); a word this
  version does not know reads as ``None``, and each caller decides whether that
  is an error.
- ``"received"`` (newer payloads) is an inbound message that reached our line: it
  reads as ``DeliveryStatus.DELIVERED``, and is written for an inbound delivered
  message.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from caresupport_transport.capabilities import Service
from caresupport_transport.model import DeliveryStatus, Direction

__all__ = [
    "DIRECTION_WORDS",
    "SERVICE_WORDS",
    "STATUS_WORDS",
    "HandleStatus",
    "direction_from_word",
    "direction_word",
    "service_from_word",
    "service_word",
    "status_from_word",
    "status_word",
]

SERVICE_WORDS: Mapping[Service, str] = MappingProxyType(
    {Service.IMESSAGE: "iMessage", Service.RCS: "RCS", Service.SMS: "SMS"}
)
STATUS_WORDS: Mapping[DeliveryStatus, str] = MappingProxyType(
    {
        DeliveryStatus.PENDING: "pending",
        DeliveryStatus.QUEUED: "queued",
        DeliveryStatus.SENT: "sent",
        DeliveryStatus.DELIVERED: "delivered",
        DeliveryStatus.READ: "read",
        DeliveryStatus.FAILED: "failed",
    }
)
_RECEIVED = "received"
DIRECTION_WORDS: Mapping[Direction, str] = MappingProxyType(
    {Direction.INBOUND: "inbound", Direction.OUTBOUND: "outbound"}
)


class HandleStatus(enum.Enum):
    """A chat participant's ``status`` (the domain has no twin: it drops those gone)."""

    ACTIVE = "active"
    LEFT = "left"
    REMOVED = "removed"

    @property
    def gone(self) -> bool:
        """The handle left the chat or was removed from it."""
        return self is not HandleStatus.ACTIVE


_SERVICES = {word.casefold(): service for service, word in SERVICE_WORDS.items()}
_STATUSES = {word: status for status, word in STATUS_WORDS.items()} | {
    _RECEIVED: DeliveryStatus.DELIVERED
}
_DIRECTIONS = {word: direction for direction, word in DIRECTION_WORDS.items()}


def service_word(service: Service) -> str:
    """``Service.IMESSAGE`` -> ``"iMessage"``."""
    return SERVICE_WORDS[service]


def service_from_word(word: object) -> Service | None:
    """``"iMessage"`` (any case) -> ``Service.IMESSAGE``; ``None`` for anything else."""
    return _SERVICES.get(word.casefold()) if isinstance(word, str) else None


def status_word(status: DeliveryStatus, direction: Direction = Direction.OUTBOUND) -> str:
    """``DeliveryStatus.QUEUED`` -> ``"queued"``; an inbound delivered message is ``"received"``."""
    if direction is Direction.INBOUND and status is DeliveryStatus.DELIVERED:
        return _RECEIVED
    return STATUS_WORDS[status]


def status_from_word(word: object) -> DeliveryStatus | None:
    """``"delivered"`` or ``"received"`` (any case) -> ``DELIVERED``; ``None`` for anything else."""
    return _STATUSES.get(word.casefold()) if isinstance(word, str) else None


def direction_word(direction: Direction) -> str:
    """``Direction.INBOUND`` -> ``"inbound"``."""
    return DIRECTION_WORDS[direction]


def direction_from_word(word: object) -> Direction | None:
    """``"inbound"`` / ``"outbound"`` (any case) -> ``Direction``; ``None`` for anything else."""
    return _DIRECTIONS.get(word.casefold()) if isinstance(word, str) else None
