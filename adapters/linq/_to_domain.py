"""Linq API answers (the client's wire types) as domain values (private).

Word-level mapping (parts, effects, replies, handles, statuses) is
:mod:`adapters.linq._domain_map`'s, shared with webhook parsing: a wire value
is unstructured back to Linq's JSON with the client's converter and read by the
same functions, so an API answer and a webhook about the same message give the
same domain ``Message``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.linq._convert import converter
from adapters.linq._domain_map import (
    effect_from_wire,
    handle_from_wire,
    parts_from_wire,
    reply_to_from_wire,
    status_from_wire,
)
from adapters.linq._http import LOGGER_NAME
from adapters.linq.wire_chats import (
    Chat,
    ChatHandle,
    ChatSummary,
    CreatedChat,
    HandleStatus,
    MessagePart,
)
from adapters.linq.wire_chats import Message as WireMessage
from caresupport_transport.content import Part
from caresupport_transport.errors import ProtocolError
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, DeliveryStatus, Direction, Message

__all__ = [
    "conversation_from_chat",
    "lenient_status",
    "message_from_wire",
    "participants_of",
    "parts_of",
]

_log = logging.getLogger(LOGGER_NAME)
_GONE = (HandleStatus.LEFT, HandleStatus.REMOVED)


def participants_of(handles: Iterable[ChatHandle], line: Handle | None) -> tuple[Handle, ...]:
    """The other people in a chat: not our own line, not those who left or were removed.

    Raises:
        ProtocolError: a participant's handle is not a phone number or email address.
    """
    found: list[Handle] = []
    for index, item in enumerate(handles):
        if item.is_me or item.status in _GONE:
            continue
        handle = handle_from_wire(item.handle, field=f"handles[{index}].handle")
        if handle != line and handle not in found:
            found.append(handle)
    return tuple(found)


def conversation_from_chat(
    chat: Chat | CreatedChat | ChatSummary, line: Handle | None
) -> Conversation:
    """A chat (listed, fetched, created or summarised) as a domain ``Conversation``."""
    display_name = chat.display_name if isinstance(chat, Chat | CreatedChat) else None
    return Conversation(
        id=chat.id,
        participants=participants_of(chat.handles, line),
        is_group=chat.is_group,
        service=chat.service,
        display_name=display_name,
    )


def parts_of(parts: Iterable[MessagePart] | None, *, field: str = "parts") -> tuple[Part, ...]:
    """Wire parts as domain parts (unknown part types skipped, as in webhooks)."""
    if parts is None:
        return ()
    return parts_from_wire(converter().unstructure(list(parts)), field=field)


def lenient_status(value: object, default: DeliveryStatus) -> DeliveryStatus:
    """A delivery status word, or ``default`` when Linq sent one this version does not know."""
    try:
        return status_from_wire(value)
    except ProtocolError:
        return default


def _status(message: WireMessage) -> DeliveryStatus:
    if message.delivery_status is not None:
        return message.delivery_status.domain
    # The published schema has only flags and timestamps: read them, best first.
    if message.is_read or message.read_at is not None:
        return DeliveryStatus.READ
    if message.is_delivered or message.delivered_at is not None or not message.is_from_me:
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.SENT if message.sent_at is not None else DeliveryStatus.PENDING


def _sender(raw: Mapping[str, Any], message: WireMessage, line: Handle | None) -> Handle | None:
    if message.is_from_me and line is not None:
        return line
    source = raw.get("from_handle") or raw.get("from")
    if source is None:
        return None
    try:
        return handle_from_wire(source, field="from_handle")
    except ProtocolError:
        # A short code or an alphanumeric sender: the message still counts.
        _log.warning("message %s: the sender is not a phone number or email", message.id)
        return None


def message_from_wire(message: WireMessage, line: Handle | None) -> Message:
    """A message of a chat's history (either direction) as a domain ``Message``."""
    raw: Mapping[str, Any] = converter().unstructure(message)
    return Message(
        id=message.id,
        conversation_id=message.chat_id,
        direction=Direction.OUTBOUND if message.is_from_me else Direction.INBOUND,
        sender=_sender(raw, message, line),
        parts=parts_from_wire(raw.get("parts"), field="parts"),
        service=message.service,
        status=_status(message),
        created_at=message.created_at,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        read_at=message.read_at,
        reply_to=reply_to_from_wire(raw.get("reply_to")),
        effect=effect_from_wire(raw.get("effect")),
    )
