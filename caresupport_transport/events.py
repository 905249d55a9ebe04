"""Inbound domain events: what the care logic hears from the outside world.

Every event has an ``event_id`` (unique per delivery source, the de-duplication
key), ``occurred_at`` and ``conversation_id`` (``None`` only for events that
belong to no conversation), so the dispatcher can de-duplicate and keep
per-conversation order without knowing the concrete type.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from caresupport_transport.capabilities import Service
from caresupport_transport.content import Part, Reaction
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, ConversationHealth, DeliveryStatus, Message
from caresupport_transport.polls import Poll, PollOption

__all__ = [
    "ContactCardReceived",
    "ConversationCreated",
    "ConversationHealthChanged",
    "ConversationUpdated",
    "InboundEvent",
    "LineReputation",
    "LineStatus",
    "LineStatusChanged",
    "MessageEdited",
    "MessageReceived",
    "MessageStatusChanged",
    "OptedIn",
    "OptedOut",
    "ParticipantAdded",
    "ParticipantRemoved",
    "PollOptionsAdded",
    "PollReceived",
    "PollVoteAdded",
    "PollVoteRemoved",
    "ReactionAdded",
    "ReactionRemoved",
    "TypingStarted",
    "TypingStopped",
    "UnknownEvent",
    "WebhookSubscriptionChanged",
]


@attrs.frozen
class MessageReceived:
    """A message appeared in a conversation.

    Outbound echoes (``message.direction is Direction.OUTBOUND``) are filtered by
    the dispatcher unless asked for.

    Attributes:
        conversation_health: the conversation's health as the provider reported
            it with this event (Linq's 2026-02-03 ``chat.health_status``), else
            ``None``; a change of it is reported as ``ConversationHealthChanged``.
    """

    event_id: str
    occurred_at: datetime
    conversation_id: str
    message: Message
    conversation_health: ConversationHealth | None = None

    @property
    def reconciled(self) -> bool:
        """The message arrived late (recovered by reconciliation): history, not a live message.

        Care logic should not reply automatically to it; see ``Message.reconciled_at``.
        """
        return self.message.reconciled_at is not None


@attrs.frozen
class MessageStatusChanged:
    """A sent message moved on: sent, delivered, read or failed.

    A ``DELIVERED`` or ``READ`` may follow a ``FAILED`` for the same message
    (Linq reports both, rarely): the message did arrive after all.

    Attributes:
        error_code: the provider's failure code (``FAILED`` only).
        reason: the provider's human-readable failure reason (``FAILED`` only).
        detail_code: an opaque diagnostic number inside ``error_code``, to log and
            quote to support; its values are not documented and may change, so
            never branch on it.
        preferred_service: the service the sender asked for, when reported.
        conversation_health: the conversation's health reported with this event
            (as on ``MessageReceived``).
    """

    event_id: str
    occurred_at: datetime
    conversation_id: str
    message_id: str
    status: DeliveryStatus
    service: Service | None = None
    error_code: int | None = None
    reason: str | None = None
    detail_code: int | None = None
    preferred_service: Service | None = None
    conversation_health: ConversationHealth | None = None


@attrs.frozen
class MessageEdited:
    """A message's text was edited.

    When ``part_index`` is ``None``, ``parts`` is the whole message as edited;
    otherwise ``parts`` is the new content of that one part (Linq reports one
    edited part at a time). ``is_from_me`` marks the echo of our own edit
    (``Transport.correct_message``), as on ``ReactionAdded``; the relay hands it
    over like any other event, marked, so care logic can tell it from a
    participant's edit. ``conversation_health`` is as on ``MessageReceived``.
    """

    event_id: str
    occurred_at: datetime
    conversation_id: str
    message_id: str
    parts: tuple[Part, ...] = ()
    part_index: int | None = None
    is_from_me: bool = False
    conversation_health: ConversationHealth | None = None


@attrs.frozen
class ReactionAdded:
    """Someone (``actor``; us when ``is_from_me``) added a tapback to a message."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    message_id: str
    reaction: Reaction
    actor: Handle | None
    part_index: int = 0
    is_from_me: bool = False
    reaction_id: str | None = None
    """The provider's id of this reaction (a sticker can be moved by it later)."""
    sticker_url: str | None = None
    """For a ``STICKER`` reaction: where the image can be fetched (short-lived)."""


@attrs.frozen
class ReactionRemoved:
    """Someone (``actor``; us when ``is_from_me``) took a tapback back."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    message_id: str
    reaction: Reaction
    actor: Handle | None
    part_index: int = 0
    is_from_me: bool = False
    reaction_id: str | None = None
    """The provider's id of this reaction (a sticker can be moved by it later)."""
    sticker_url: str | None = None
    """For a ``STICKER`` reaction: where the image can be fetched (short-lived)."""


@attrs.frozen
class ParticipantAdded:
    """``handle`` joined a group conversation."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    handle: Handle


@attrs.frozen
class ParticipantRemoved:
    """``handle`` left, or was removed from, a group conversation."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    handle: Handle


@attrs.frozen
class ConversationCreated:
    """A conversation came into being (ours or someone else's first message)."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    conversation: Conversation


@attrs.frozen
class ConversationUpdated:
    """A group's name or icon changed (or failed to): ``change`` says which."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    change: str
    value: str | None = None
    failed: bool = False


@attrs.frozen
class ConversationHealthChanged:
    """A conversation's health changed (``HEALTHY``, ``AT_RISK``, ``CRITICAL``).

    ``AT_RISK`` and ``CRITICAL`` matter to a care team: the conversation is
    degrading on engagement or delivery, and many such conversations on one
    line put the line at risk of being flagged (slow down, open fewer new
    conversations; pause on ``CRITICAL``). The health is the provider's
    judgement; sends are still gated on its refusals, not on this.

    ``OPTED_OUT`` is never reported here: opt-outs are ``OptedOut`` /
    ``OptedIn``, by the keyword rule (``caresupport_transport.consent``).

    Attributes:
        health: the conversation's health now.
        previous: its health as this process last saw it (``None``: never seen,
            which the provider's starting state ``HEALTHY`` stands for).
    """

    event_id: str
    occurred_at: datetime
    conversation_id: str
    health: ConversationHealth
    previous: ConversationHealth | None = None


@attrs.frozen
class TypingStarted:
    """Someone (``handle``, when known) started typing in a conversation."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    handle: Handle | None = None


@attrs.frozen
class TypingStopped:
    """Someone (``handle``, when known) stopped typing in a conversation."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    handle: Handle | None = None


@attrs.frozen
class ContactCardReceived:
    """``person`` shared their contact card with our line (again when it changes).

    Names are health-adjacent personal data: they never reach a log. ``media_url``
    (their photo) may lapse within the hour; download it at once if it is kept.
    """

    event_id: str
    occurred_at: datetime
    person: Handle
    first_name: str = attrs.field(repr=False)
    last_name: str | None = attrs.field(default=None, repr=False)
    media_url: str | None = attrs.field(default=None, repr=False)
    line: Handle | None = None
    """Our line the card was shared with."""
    conversation_id: str | None = None


class LineStatus(enum.Enum):
    """Whether one of our own lines can send: ``FLAGGED`` lines are restricted."""

    ACTIVE = "ACTIVE"
    FLAGGED = "FLAGGED"


class LineReputation(enum.Enum):
    """A line's sending reputation: ``AT_RISK`` slow down, ``CRITICAL`` messages are not landing."""

    HEALTHY = "HEALTHY"
    AT_RISK = "AT_RISK"
    CRITICAL = "CRITICAL"


@attrs.frozen
class LineStatusChanged:
    """One of our own lines changed status or reputation (no conversation).

    A ``FLAGGED`` line or a ``CRITICAL`` reputation means care messages from it
    may not arrive: move traffic to another line.
    """

    event_id: str
    occurred_at: datetime
    line: Handle
    status: LineStatus | None = None
    reputation: LineReputation | None = None
    previous_status: LineStatus | None = None
    previous_reputation: LineReputation | None = None
    conversation_id: str | None = None


@attrs.frozen
class WebhookSubscriptionChanged:
    """A webhook subscription was switched off or deleted (``enabled=False``), or on again.

    While a subscription is off, the events it would carry (care messages among
    them) are not delivered: read the API (polling) to catch up.
    """

    event_id: str
    occurred_at: datetime
    subscription_id: str
    enabled: bool
    change: str = "disabled"
    """What happened: ``"disabled"``, ``"enabled"`` or ``"deleted"`` (off for good)."""
    target_url: str | None = None
    conversation_id: str | None = None


@attrs.frozen
class OptedOut:
    """``person`` sent an opt-out keyword in a 1:1 conversation: direct sends to them stop.

    The opt-out covers the person in every conversation (groups excepted)
    until any later message of theirs (:class:`OptedIn`). Sends to them raise
    ``OptedOutError`` unless one asks for ``override_optout``.
    """

    event_id: str
    occurred_at: datetime
    conversation_id: str
    person: Handle


@attrs.frozen
class OptedIn:
    """``person``, who had opted out, wrote again (any other message): sends may resume."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    person: Handle


@attrs.frozen
class UnknownEvent:
    """An event this version cannot model; the raw payload is kept so nothing is lost.

    ``problem`` is ``None`` for an event type this version does not know, and
    says what could not be read when a known type came in a shape it cannot
    model (a sender that is not a valid handle, say).
    """

    event_id: str
    occurred_at: datetime
    event_type: str
    payload: Mapping[str, Any]
    conversation_id: str | None = None
    problem: str | None = None


@attrs.frozen
class PollVoteAdded:
    """``voter`` voted for an option of a poll (native, or a numbered text question).

    ``option_index`` (0-based) and ``option_text`` are filled in on the way to
    the care logic from the poll itself (a provider's vote event may carry only
    the option id); ``None`` when the poll can no longer be read. ``message`` is
    the text reply that was read as this vote (numbered questions only): it is
    handed over as this event *instead of* a ``MessageReceived``.
    """

    event_id: str
    occurred_at: datetime
    conversation_id: str
    poll_id: str
    option_id: str
    voter: Handle
    option_index: int | None = None
    option_text: str | None = None
    message: Message | None = None


@attrs.frozen
class PollVoteRemoved:
    """``voter`` took back their vote for an option of a native poll."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    poll_id: str
    option_id: str
    voter: Handle
    option_index: int | None = None
    option_text: str | None = None


@attrs.frozen
class PollReceived:
    """Someone else's native poll reached us (``poll.creator`` asked it; no votes yet)."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    poll: Poll


@attrs.frozen
class PollOptionsAdded:
    """Options were added to a native poll (``options``: only the new ones, with their creator)."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    poll_id: str
    options: tuple[PollOption, ...]


InboundEvent = (
    MessageReceived
    | MessageStatusChanged
    | MessageEdited
    | ReactionAdded
    | ReactionRemoved
    | ParticipantAdded
    | ParticipantRemoved
    | ConversationCreated
    | ConversationHealthChanged
    | ConversationUpdated
    | TypingStarted
    | TypingStopped
    | PollVoteAdded
    | PollVoteRemoved
    | PollReceived
    | PollOptionsAdded
    | ContactCardReceived
    | LineStatusChanged
    | WebhookSubscriptionChanged
    | OptedOut
    | OptedIn
    | UnknownEvent
)
