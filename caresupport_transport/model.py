"""Conversations, messages and what a send or an action reports back."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

from caresupport_transport.capabilities import Feature, Service
from caresupport_transport.content import Effect, Part, ReplyTo, TextPart
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle

__all__ = [
    "ActionResult",
    "Attachment",
    "BlockedHandle",
    "Conversation",
    "ConversationHealth",
    "CorrectionReceipt",
    "Degradation",
    "DegradationAction",
    "DeliveryStatus",
    "Direction",
    "Message",
    "SendAttempt",
    "SendReceipt",
    "StartedConversation",
]


class Direction(enum.Enum):
    """Whether a message came to us (``INBOUND``) or was sent by us (``OUTBOUND``)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class DeliveryStatus(enum.Enum):
    """Where a message is on its way; ``READ`` is final, and so is ``FAILED``, nearly.

    A ``DELIVERED`` (or ``READ``) may follow ``FAILED`` for the same message
    (Linq reports both, rarely): the message arrived after all. That is a
    recovery to record, not a stale status to drop; :attr:`rank` orders
    progress and says nothing about it.
    """

    PENDING = "pending"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """Progress order, so a late ``delivered`` never overwrites ``read``."""
        return _RANKS[self]


_RANKS = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.QUEUED: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
    DeliveryStatus.FAILED: 5,
}


def _handles(value: Iterable[Handle]) -> tuple[Handle, ...]:
    return tuple(value)


class ConversationHealth(enum.Enum):
    """How a conversation stands with the provider (Linq's chat ``health_status``).

    ``HEALTHY`` is where every chat starts; ``AT_RISK`` and ``CRITICAL`` mean it
    is degrading on engagement or delivery (many such chats put the line at
    risk); ``OPTED_OUT`` means the person sent an opt-out keyword *here*. The
    opt-out itself covers the person in every conversation, so a ``HEALTHY``
    chat can still refuse a send (``OptedOutError``).
    """

    HEALTHY = "HEALTHY"
    AT_RISK = "AT_RISK"
    CRITICAL = "CRITICAL"
    OPTED_OUT = "OPTED_OUT"


@attrs.frozen
class Conversation:
    """A 1:1 or group chat; ``service`` is ``None`` until known.

    ``health`` is ``None`` when the provider does not say.
    """

    id: str
    participants: tuple[Handle, ...] = attrs.field(converter=_handles)
    is_group: bool
    service: Service | None = None
    display_name: str | None = None
    health: ConversationHealth | None = None


def _parts(value: Iterable[Part]) -> tuple[Part, ...]:
    return tuple(value)


@attrs.frozen
class Message:
    """A message as it stands in a conversation, either direction."""

    id: str
    conversation_id: str
    direction: Direction
    sender: Handle | None
    parts: tuple[Part, ...] = attrs.field(converter=_parts)
    service: Service | None
    status: DeliveryStatus
    created_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    reply_to: ReplyTo | None = None
    effect: Effect | None = None
    reconciled_at: datetime | None = None
    """Set when the provider recovered the message late (Linq's reconciliation).

    Such a message is genuine but arrived out of order, its ``sent_at`` well in
    the past: treat it as history (no automatic reply), not as a live message.
    """

    @property
    def is_reconciled(self) -> bool:
        """Whether the message arrived late, recovered by reconciliation (see ``reconciled_at``)."""
        return self.reconciled_at is not None

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.parts if isinstance(p, TextPart))


class DegradationAction(enum.Enum):
    """What a degradation did to a feature: dropped, converted, split, skipped or fell back."""

    DROPPED = "dropped"
    CONVERTED = "converted"
    SPLIT = "split"
    SKIPPED = "skipped"
    FELL_BACK = "fell back"


@attrs.frozen
class Degradation:
    """One change made so a service could carry a message: nothing changes silently.

    ``str()`` reads like ``effect dropped: SMS has no effects``.
    """

    feature: Feature
    action: DegradationAction
    reason: str

    def __str__(self) -> str:
        return f"{self.feature.value} {self.action.value}: {self.reason}"


@attrs.frozen
class SendAttempt:
    """One try on one service, for sends that fell back after a failure."""

    service: Service
    message_id: str | None
    status: DeliveryStatus
    idempotency_key: str
    error: str | None = None


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    ids = tuple(value)
    if not ids:
        raise ValidationError("message_ids", "a receipt names at least one message")
    return ids


@attrs.frozen
class SendReceipt:
    """What a send did.

    Attributes:
        message_ids: every message created, in order (more than one when long
            text was split into bubbles or a tapback became text).
        conversation_id: where it went.
        service: the service actually used (``None`` when not yet known).
        status: the delivery status as last known.
        degradations: every change made so the service could carry it.
        attempts: each try, when a failed send was re-sent on the next service.
        idempotency_key: the key the send was made under (reuse it to retry).
        opt_out_overridden: the people who had opted out and were sent this
            anyway, because the send asked for ``override_optout`` (a final
            courtesy message); empty otherwise.
    """

    message_ids: tuple[str, ...] = attrs.field(converter=_ids)
    conversation_id: str
    service: Service | None
    status: DeliveryStatus
    idempotency_key: str
    degradations: tuple[Degradation, ...] = ()
    attempts: tuple[SendAttempt, ...] = ()
    opt_out_overridden: tuple[Handle, ...] = attrs.field(default=(), converter=_handles)

    @property
    def message_id(self) -> str:
        """The first (usually only) message created."""
        return self.message_ids[0]


@attrs.frozen
class StartedConversation:
    """What ``Transport.start_conversation`` made: the conversation and its first receipt."""

    conversation: Conversation
    receipt: SendReceipt


@attrs.frozen
class ActionResult:
    """What a non-message action did: ``performed`` is false when it was skipped."""

    performed: bool
    degradations: tuple[Degradation, ...] = ()
    message_id: str | None = None
    """Set when the action was carried as a message (a tapback sent as text)."""


@attrs.frozen
class Attachment:
    """An uploaded file, to send as ``MediaPart(attachment_id=...)``."""

    id: str
    filename: str
    content_type: str
    size_bytes: int
    download_url: str | None = None


@attrs.frozen
class BlockedHandle:
    """A handle on our own blocklist: nothing from it is heard, nothing direct goes to it.

    Attributes:
        handle: the blocked handle.
        blocked_at: when it was blocked.
        reason: why, as given when blocking (free text), if given.
    """

    handle: Handle
    blocked_at: datetime
    reason: str | None = None


@attrs.frozen
class CorrectionReceipt:
    """What ``Transport.correct_message`` did: edited the message, or sent a correction text.

    Attributes:
        message_id: the message that was corrected.
        conversation_id: its conversation.
        edited: ``True`` when the message was edited in place (iMessage, within
            its limits); ``False`` when a correction text was sent instead.
        correction: the receipt of the correction text, when one was sent.
        idempotency_key: the key the correction was made under (reuse it to retry).
        degradations: why a correction text was sent instead of an edit
            (``Feature.EDIT``, ``CONVERTED``), and what the text's send degraded.
    """

    message_id: str
    conversation_id: str
    edited: bool
    idempotency_key: str
    correction: SendReceipt | None = None
    degradations: tuple[Degradation, ...] = ()
