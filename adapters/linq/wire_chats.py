"""What Linq answers about chats and messages, as attrs values (read by ``make_converter``).

Field names are Linq's, except ``from`` which is ``from_``. What a caller acts on
(ids, content, states, timestamps of record) is required, as the API promises it:
a response without it is a :class:`~caresupport_transport.errors.ProtocolError`.
Descriptive fields default to ``None``, so a field Linq leaves out never fails a call.
Unknown keys are ignored. Linq's words (:mod:`adapters.linq._words`) read into
the domain's values: services into
:class:`~caresupport_transport.capabilities.Service` (``"iMessage"`` is
``Service.IMESSAGE``, an unknown service is ``None``), delivery statuses into
:class:`~caresupport_transport.model.DeliveryStatus` (``"received"`` is
``DELIVERED``); reactions read into ``ReactionKind`` and effect types into
``EffectKind``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attrs

from adapters.linq._words import HandleStatus
from caresupport_transport.capabilities import Service
from caresupport_transport.content import EffectKind, ReactionKind
from caresupport_transport.model import DeliveryStatus

__all__ = [
    "Chat",
    "ChatHandle",
    "ChatSummary",
    "ChatsPage",
    "CreateChatResult",
    "CreatedChat",
    "FromSelection",
    "HandleMessageSent",
    "HandleStatus",
    "HealthStatus",
    "Message",
    "MessageEffect",
    "MessageLinkPart",
    "MessageMediaPart",
    "MessageOtherPart",
    "MessagePart",
    "MessageReplyTo",
    "MessageSent",
    "MessageTextPart",
    "MessagesPage",
    "PartReaction",
    "SentMessage",
    "Sticker",
    "VoiceMemoFile",
    "VoiceMemoResult",
    "VoiceMemoSent",
]


@attrs.frozen
class ChatHandle:
    """One participant of a chat (``is_me`` marks the partner's own line)."""

    id: str
    handle: str
    service: Service | None = None
    joined_at: datetime | None = None
    status: HandleStatus | None = None
    left_at: datetime | None = None
    is_me: bool | None = None
    line_type: str | None = None
    """Newer: ``iMessage`` or ``RCS``, a property of the line, not of the chat."""


@attrs.frozen
class HealthStatus:
    """A chat's ``health_status`` (BETA): ``HEALTHY``, ``AT_RISK``, ``CRITICAL`` or ``OPTED_OUT``.

    ``status`` is kept as Linq's word (a newer one reads as no health in the domain).
    """

    status: str
    doc_url: str | None = None
    updated_at: datetime | None = None


@attrs.frozen
class Chat:
    id: str
    display_name: str | None
    handles: tuple[ChatHandle, ...]
    is_group: bool
    created_at: datetime
    updated_at: datetime
    is_archived: bool = False
    service: Service | None = None
    health_status: HealthStatus | None = None
    group_chat_icon: str | None = None


@attrs.frozen
class ChatsPage:
    chats: tuple[Chat, ...]
    next_cursor: str | None = None


@attrs.frozen
class Sticker:
    url: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    file_name: str | None = None


@attrs.frozen
class PartReaction:
    """A tapback on one part of a message."""

    is_me: bool
    handle: ChatHandle
    type: ReactionKind
    custom_emoji: str | None = None
    sticker: Sticker | None = None


@attrs.frozen
class MessageTextPart:
    """A text part; its marks are kept as raw JSON (read leniently into the domain)."""

    TAG: ClassVar[str] = "text"

    value: str
    reactions: tuple[PartReaction, ...] | None = None
    mentions: Any = None
    text_decorations: Any = None
    mention: Any = None
    mention_range: Any = None


@attrs.frozen
class MessageLinkPart:
    """A link shown with a rich preview (``value``: the URL; ``url`` read too)."""

    TAG: ClassVar[str] = "link"

    value: str | None = None
    url: str | None = None
    reactions: tuple[PartReaction, ...] | None = None


@attrs.frozen
class MessageMediaPart:
    TAG: ClassVar[str] = "media"

    id: str
    url: str
    filename: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    reactions: tuple[PartReaction, ...] | None = None


def _not_a_known_part(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value in (MessageTextPart.TAG, MessageMediaPart.TAG, MessageLinkPart.TAG):
        raise ValueError(
            f"{value!r} parts are MessageTextPart, MessageMediaPart or MessageLinkPart"
        )


@attrs.frozen
class MessageOtherPart:
    """A part type this version does not know (newer Linq sends links, app cards, ...)."""

    type: str = attrs.field(validator=_not_a_known_part)


MessagePart = MessageTextPart | MessageMediaPart | MessageLinkPart | MessageOtherPart


@attrs.frozen
class MessageEffect:
    type: EffectKind | None = None
    name: str | None = None


@attrs.frozen
class MessageReplyTo:
    message_id: str
    part_index: int | None = None


@attrs.frozen
class SentMessage:
    """A message as the send and create-chat operations report it."""

    id: str
    parts: tuple[MessagePart, ...]
    sent_at: datetime
    delivery_status: DeliveryStatus
    is_read: bool
    service: Service | None = None
    preferred_service: Service | None = None
    delivered_at: datetime | None = None
    effect: MessageEffect | None = None
    from_handle: ChatHandle | None = None
    reply_to: MessageReplyTo | None = None


@attrs.frozen
class CreatedChat:
    """A new chat and its first message.

    ``idempotency_key`` is the key the first message was sent under: the client
    sets it, it is not read from the wire.
    """

    id: str
    display_name: str | None
    service: Service | None
    is_group: bool
    handles: tuple[ChatHandle, ...]
    message: SentMessage
    idempotency_key: str = ""
    health_status: HealthStatus | None = None


@attrs.frozen
class MessageSent:
    """A message sent into a chat; ``idempotency_key`` is set by the client, as above."""

    chat_id: str
    message: SentMessage
    idempotency_key: str = ""


@attrs.frozen
class Message:
    """A message of a chat's history, either direction."""

    id: str
    chat_id: str
    is_from_me: bool
    is_delivered: bool
    is_read: bool
    created_at: datetime
    updated_at: datetime
    service: Service | None = None
    preferred_service: Service | None = None
    from_: str | None = None
    from_handle: ChatHandle | None = None
    parts: tuple[MessagePart, ...] | None = None
    reply_to: MessageReplyTo | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    effect: MessageEffect | None = None
    delivery_status: DeliveryStatus | None = None
    """Newer than the published schema (which has only ``is_delivered`` / ``is_read``)."""
    reconciled_at: datetime | None = None
    """Set when Linq recovered the message late by reconciliation (its ``sent_at`` is old)."""


@attrs.frozen
class MessagesPage:
    messages: tuple[Message, ...]
    next_cursor: str | None = None


@attrs.frozen
class VoiceMemoFile:
    id: str
    url: str
    filename: str
    mime_type: str
    size_bytes: int
    duration_ms: int | None = None


@attrs.frozen
class ChatSummary:
    id: str
    handles: tuple[ChatHandle, ...]
    is_group: bool
    service: Service | None = None
    is_active: bool | None = None


@attrs.frozen
class VoiceMemoSent:
    """A voice memo sent into a chat; ``idempotency_key`` is set by the client."""

    id: str
    to: tuple[str, ...]
    status: str
    voice_memo: VoiceMemoFile
    created_at: datetime
    chat: ChatSummary
    from_: str | None = None
    service: Service | None = None
    idempotency_key: str = ""


@attrs.frozen
class FromSelection:
    """Why Linq chose the line and chat of a send-by-handle (``reason`` kept as given)."""

    reason: str
    reused_existing_chat: bool | None = None


@attrs.frozen
class HandleMessageSent:
    """The result of ``POST /v3/messages``: Linq picked (or created) the chat and the line."""

    chat_id: str
    message: SentMessage
    created_new_chat: bool | None = None
    from_: str | None = None
    from_selection: FromSelection | None = None
    handles: tuple[ChatHandle, ...] | None = None
    is_group: bool | None = None
    service: Service | None = None
    previous_chat_id: str | None = None
    idempotency_key: str = ""


@attrs.frozen
class CreateChatResult:
    """The envelope of ``POST /v3/chats``."""

    chat: CreatedChat


@attrs.frozen
class VoiceMemoResult:
    """The envelope of ``POST /v3/chats/{chatId}/voicememo``."""

    voice_memo: VoiceMemoSent
