"""Inbound domain events: what the care logic hears from the outside world.

Every event has an ``event_id`` (unique per delivery source, the de-duplication
key), ``occurred_at`` and ``conversation_id`` (``None`` only for events that
belong to no conversation), so the dispatcher can de-duplicate and keep
per-conversation order without knowing the concrete type.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from caresupport_transport.capabilities import Service
from caresupport_transport.content import Part, Reaction
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, DeliveryStatus, Message

__all__ = [
    "ConversationCreated",
    "ConversationUpdated",
    "InboundEvent",
    "MessageEdited",
    "MessageReceived",
    "MessageStatusChanged",
    "ParticipantAdded",
    "ParticipantRemoved",
    "ReactionAdded",
    "ReactionRemoved",
    "TypingStarted",
    "TypingStopped",
    "UnknownEvent",
]


@attrs.frozen
class MessageReceived:
    """A message appeared in a conversation.

    Outbound echoes (``message.direction is Direction.OUTBOUND``) are filtered by
    the dispatcher unless asked for.
    """

    event_id: str
    occurred_at: datetime
    conversation_id: str
    message: Message


@attrs.frozen
class MessageStatusChanged:
    """A sent message moved on: sent, delivered, read or failed."""

    event_id: str
    occurred_at: datetime
    conversation_id: str
    message_id: str
    status: DeliveryStatus
    service: Service | None = None
    error_code: int | None = None
    reason: str | None = None


@attrs.frozen
class MessageEdited:
    """A message's text was edited.

    When ``part_index`` is ``None``, ``parts`` is the whole message as edited;
    otherwise ``parts`` is the new content of that one part (Linq reports one
    edited part at a time). ``is_from_me`` marks the echo of our own edit
    (``Transport.correct_message``), as on ``ReactionAdded``; the relay hands it
    over like any other event, marked, so care logic can tell it from a
    participant's edit.
    """

    event_id: str
    occurred_at: datetime
    conversation_id: str
    message_id: str
    parts: tuple[Part, ...] = ()
    part_index: int | None = None
    is_from_me: bool = False


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


InboundEvent = (
    MessageReceived
    | MessageStatusChanged
    | MessageEdited
    | ReactionAdded
    | ReactionRemoved
    | ParticipantAdded
    | ParticipantRemoved
    | ConversationCreated
    | ConversationUpdated
    | TypingStarted
    | TypingStopped
    | UnknownEvent
)
