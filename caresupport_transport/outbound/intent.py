"""The outbox's values: an intent to send, its delivery state, and what is known of it."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

from caresupport_transport.capabilities import Service, ServicePreference
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.handles import Handle

__all__ = ["DeliveryState", "IntentStatus", "OutboxIntent"]


class DeliveryState(enum.Enum):
    """Where an intent stands; ``FAILED`` may still turn ``DELIVERED`` (Linq reports both)."""

    QUEUED = "queued"
    """Recorded; a worker will send it."""

    SENT = "sent"
    """The provider accepted it."""

    DELIVERED = "delivered"
    """It reached the person's device."""

    READ = "read"
    """The person read it (where read receipts exist)."""

    FAILED = "failed"
    """The provider refused it for good, or reported a failed delivery."""

    CANCELLED = "cancelled"
    """Cancelled before it was sent; it never will be."""


def _handles(value: Iterable[Handle]) -> tuple[Handle, ...]:
    return tuple(value)


@attrs.frozen
class OutboxIntent:
    """What the care logic asked to send, recorded before any I/O.

    Exactly one of ``conversation_id`` (``send_message``) and ``recipients``
    (``start_conversation``) is set.

    Attributes:
        id: the intent's id; also the idempotency key every attempt is sent under.
        message: what to send.
        conversation_id: the conversation to send into.
        recipients: the people to start a conversation with.
        preference: the service preference, as for a direct send.
        kind: the kind of message (``"medication-reminder"``), choosing the
            watchdog rules; ``None`` for the outbox's default rules.
        created_at: when the outbox recorded it.
    """

    id: str
    message: OutgoingMessage
    created_at: datetime
    conversation_id: str | None = None
    recipients: tuple[Handle, ...] = attrs.field(default=(), converter=_handles)
    preference: ServicePreference = ServicePreference.AUTO
    kind: str | None = None

    @property
    def order_key(self) -> str:
        """Sends to one conversation (or one set of people) go one at a time, in order."""
        if self.conversation_id is not None:
            return f"conversation:{self.conversation_id}"
        return "start:" + ",".join(sorted(str(handle) for handle in self.recipients))


@attrs.frozen
class IntentStatus:
    """An intent and what is known of its delivery.

    Attributes:
        intent: what was asked.
        state: where it stands.
        message_ids: the provider's messages sent for it (a re-send adds one).
        conversation_id: where it went (known after a ``start_conversation`` is sent).
        service: the service of the last send.
        sent_at, delivered_at, read_at, failed_at: when each was learnt.
        attempts: sends tried (each under the intent's key, or a re-send's).
        resends: re-sends over the next service made by the watchdog.
        error: why it failed or last could not be sent (a summary: class, code,
            trace id; never a message text).
        fired: the watchdog rules that fired for it.
        recovered: a message of it was reported failed, then delivered after all
            (Linq can report both for one message).
        delivered_message_ids: the messages of it reported delivered (or read);
            two when a re-send and the original it replaced both arrived, so the
            person got the text twice (see :attr:`delivered_twice`).
    """

    intent: OutboxIntent
    state: DeliveryState
    message_ids: tuple[str, ...] = ()
    conversation_id: str | None = None
    service: Service | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None
    attempts: int = 0
    resends: int = 0
    error: str | None = None
    fired: tuple[str, ...] = ()
    recovered: bool = False
    delivered_message_ids: tuple[str, ...] = ()

    @property
    def delivered_twice(self) -> bool:
        """Whether more than one of its messages arrived (a re-send and a late original)."""
        return len(self.delivered_message_ids) > 1
