"""Linq ``message.*`` webhook payloads, in both payload versions, to domain events.

The two versions differ only for message events:

``2025-01-01``
    ``data.chat_id``, ``data.is_from_me``, ``data.from_handle`` (or the deprecated
    ``data.from``) at the top, the message itself nested in ``data.message``.
``2026-02-03``
    Flat message fields (``data.id``, ``data.parts``, ...), ``data.direction``
    (``inbound`` / ``outbound``), ``data.sender_handle`` and
    ``data.chat{id, is_group, owner_handle}``.

The version is read from the payload's shape, not from ``webhook_version``, so a
delivery whose version label is missing or new still parses when its shape is
one of these; ``webhook_version`` only breaks a tie when neither shape shows.
Status events (delivered, read, failed) need only the ids, read shape-agnostically.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from adapters.linq._fields import (
    optional_bool,
    optional_datetime,
    optional_int,
    optional_mapping,
    optional_str,
    require_mapping,
    require_str,
)
from adapters.linq._to_domain import (
    direction_from_wire,
    effect_from_wire,
    handle_from_wire,
    health_from_wire,
    parts_from_wire,
    reply_to_from_wire,
    service_from_wire,
)
from caresupport_transport.errors import ProtocolError
from caresupport_transport.events import (
    InboundEvent,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
    UnknownEvent,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import ConversationHealth, DeliveryStatus, Direction, Message

__all__ = [
    "EventContext",
    "MessageRouting",
    "conversation_id_of",
    "health_of_chat",
    "health_of_event",
    "message_routing",
    "parse_message_edited",
    "parse_message_event",
    "parse_message_failed",
    "parse_message_status",
]

VERSION_2025 = "2025-01-01"
VERSION_2026 = "2026-02-03"

_DEFAULT_DIRECTIONS = {
    "message.received": Direction.INBOUND,
    "message.sent": Direction.OUTBOUND,
}
_STATUS_EVENTS = {
    "message.delivered": DeliveryStatus.DELIVERED,
    "message.read": DeliveryStatus.READ,
}


@attrs.frozen
class EventContext:
    """What the envelope says about the event being parsed."""

    event_type: str
    event_id: str
    occurred_at: datetime
    webhook_version: str | None
    payload: Mapping[str, Any]


def conversation_id_of(data: Mapping[str, Any]) -> str | None:
    """``data.chat_id`` or ``data.chat.id``, whichever the payload carries."""
    chat_id = optional_str(data, "chat_id", path="data")
    if chat_id is not None:
        return chat_id
    chat = optional_mapping(data, "chat", path="data")
    return None if chat is None else optional_str(chat, "id", path="data.chat")


def health_of_event(data: Mapping[str, Any]) -> ConversationHealth | None:
    """``data.chat.health_status.status`` (2026-02-03 message events), else ``None``."""
    chat = data.get("chat")
    return health_of_chat(chat) if isinstance(chat, Mapping) else None


def health_of_chat(chat: Mapping[str, Any]) -> ConversationHealth | None:
    """A chat object's ``health_status`` (absent on older payloads: ``None``)."""
    raw = chat.get("health_status")
    return health_from_wire(raw.get("status")) if isinstance(raw, Mapping) else None


def _require_conversation_id(data: Mapping[str, Any]) -> str:
    conversation_id = conversation_id_of(data)
    if conversation_id is None:
        raise ProtocolError("data.chat_id (or data.chat.id): is required")
    return conversation_id


def _message_id_of(data: Mapping[str, Any]) -> str | None:
    nested = optional_mapping(data, "message", path="data")
    if nested is not None:
        nested_id = optional_str(nested, "id", path="data.message")
        if nested_id is not None:
            return nested_id
    return optional_str(data, "message_id", path="data") or optional_str(data, "id", path="data")


def _is_2025_shape(data: Mapping[str, Any], version: str | None) -> bool:
    if isinstance(data.get("message"), Mapping):
        return True
    if isinstance(data.get("chat"), Mapping) or "sender_handle" in data or "direction" in data:
        return False
    if version == VERSION_2025:
        return True
    if version == VERSION_2026:
        return False
    raise ProtocolError(
        "data: not a message of either payload version (no data.message, no data.chat)"
    )


@attrs.frozen
class MessageRouting:
    """What a message event needs for routing, read the same way for a parse and for intake.

    Attributes:
        conversation_id: the chat's id.
        message_id: the message's id.
        direction: inbound, or outbound (our own message's echo).
        nested: the 2025-01-01 shape (the message in ``data.message``).
    """

    conversation_id: str
    message_id: str
    direction: Direction
    nested: bool


def message_routing(
    event_type: str, data: Mapping[str, Any], webhook_version: str | None
) -> MessageRouting:
    """The routing fields of a ``message.received`` / ``message.sent`` delivery's data.

    Raises:
        ProtocolError: for a data object of neither payload version, or a routing
            field missing or of the wrong type.
    """
    default = _DEFAULT_DIRECTIONS.get(event_type, Direction.INBOUND)
    if _is_2025_shape(data, webhook_version):
        conversation_id = require_str(data, "chat_id", path="data")
        body = require_mapping(data, "message", path="data")
        is_from_me = optional_bool(data, "is_from_me", path="data")
        if is_from_me is None:
            direction = default
        else:
            direction = Direction.OUTBOUND if is_from_me else Direction.INBOUND
        message_id = require_str(body, "id", path="data.message")
        return MessageRouting(conversation_id, message_id, direction, nested=True)
    chat = require_mapping(data, "chat", path="data")
    wire_direction = data.get("direction")
    direction = (
        default
        if wire_direction is None
        else direction_from_wire(wire_direction, field="data.direction")
    )
    message_id = require_str(data, "id", path="data")
    conversation_id = require_str(chat, "id", path="data.chat")
    return MessageRouting(conversation_id, message_id, direction, nested=False)


def parse_message_event(context: EventContext, data: Mapping[str, Any]) -> MessageReceived:
    """``message.received`` and ``message.sent`` (the outbound echo) -> ``MessageReceived``."""
    routing = message_routing(context.event_type, data, context.webhook_version)
    sender: Handle | None = None
    if routing.nested:
        body, path = data["message"], "data.message"
        if data.get("from_handle") is not None:
            sender = handle_from_wire(data["from_handle"], field="data.from_handle")
        elif data.get("from") is not None:
            sender = handle_from_wire(data["from"], field="data.from")
    else:
        body, path = data, "data"
        if data.get("sender_handle") is not None:
            sender = handle_from_wire(data["sender_handle"], field="data.sender_handle")
    message = _message(
        context,
        body,
        path,
        message_id=routing.message_id,
        conversation_id=routing.conversation_id,
        direction=routing.direction,
        sender=sender,
        service=data.get("service"),
    )
    return MessageReceived(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=message.conversation_id,
        message=message,
        conversation_health=health_of_event(data),
    )


def _message(
    context: EventContext,
    body: Mapping[str, Any],
    path: str,
    *,
    message_id: str,
    conversation_id: str,
    direction: Direction,
    sender: Handle | None,
    service: object,
) -> Message:
    """The fields both versions share, read from ``body`` (``data.message`` or ``data``)."""
    sent_at = optional_datetime(body, "sent_at", path=path)
    delivered_at = optional_datetime(body, "delivered_at", path=path)
    read_at = optional_datetime(body, "read_at", path=path)
    created_at = optional_datetime(body, "created_at", path=path) or sent_at or context.occurred_at
    if read_at is not None:
        status = DeliveryStatus.READ
    elif delivered_at is not None or direction is Direction.INBOUND:
        status = DeliveryStatus.DELIVERED  # an inbound message has reached our line
    else:
        status = DeliveryStatus.SENT
    return Message(
        id=message_id,
        conversation_id=conversation_id,
        direction=direction,
        sender=sender,
        parts=parts_from_wire(body.get("parts"), field=f"{path}.parts"),
        service=service_from_wire(service),
        status=status,
        created_at=created_at,
        sent_at=sent_at,
        delivered_at=delivered_at,
        read_at=read_at,
        reply_to=reply_to_from_wire(body.get("reply_to"), field=f"{path}.reply_to"),
        effect=effect_from_wire(body.get("effect")),
        reconciled_at=optional_datetime(body, "reconciled_at", path=path),
    )


def parse_message_status(context: EventContext, data: Mapping[str, Any]) -> MessageStatusChanged:
    """``message.delivered`` / ``message.read`` -> ``MessageStatusChanged`` (either version)."""
    message_id = _message_id_of(data)
    if message_id is None:
        raise ProtocolError("data.message.id (or data.id): is required")
    return MessageStatusChanged(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=_require_conversation_id(data),
        message_id=message_id,
        status=_STATUS_EVENTS[context.event_type],
        service=service_from_wire(data.get("service")),
        conversation_health=health_of_event(data),
    )


def parse_message_failed(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    """``message.failed`` -> ``MessageStatusChanged(FAILED)`` with code, reason and detail code.

    ``detail_code`` is an opaque diagnostic number (log it, quote it to support,
    never branch on it). A ``message.delivered`` for the same message may follow.

    Linq may send a failure for a message that expired before it had ids (both
    ids are optional in its schema); such a failure is kept whole as an
    ``UnknownEvent`` rather than refused, so the care logic still hears of it.
    """
    code = optional_int(data, "code", path="data")
    reason = optional_str(data, "reason", path="data")
    # Opaque: carried for the logs and for support, never branched on.
    raw_detail = data.get("detail_code")
    detail_code = (
        raw_detail if isinstance(raw_detail, int) and not isinstance(raw_detail, bool) else None
    )
    conversation_id = conversation_id_of(data)
    message_id = _message_id_of(data)
    if conversation_id is None or message_id is None:
        return UnknownEvent(
            event_id=context.event_id,
            occurred_at=context.occurred_at,
            event_type=context.event_type,
            payload=context.payload,
            conversation_id=conversation_id,
        )
    return MessageStatusChanged(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=conversation_id,
        message_id=message_id,
        status=DeliveryStatus.FAILED,
        service=service_from_wire(data.get("service")),
        error_code=code,
        reason=reason,
        detail_code=detail_code,
        preferred_service=service_from_wire(data.get("preferred_service")),
    )


def parse_message_edited(context: EventContext, data: Mapping[str, Any]) -> MessageEdited:
    """``message.edited`` -> ``MessageEdited``.

    Linq (2026-02-03) reports one edited part: ``data.part{index, text}``. A
    payload carrying the whole message instead (``parts``, flat or nested in
    ``message``) is read as the whole message, with ``part_index`` ``None``.
    """
    message_id = _message_id_of(data)
    if message_id is None:
        raise ProtocolError("data.id (or data.message_id): is required")
    conversation_id = _require_conversation_id(data)
    part = optional_mapping(data, "part", path="data")
    if part is not None:
        index = optional_int(part, "index", path="data.part") or 0
        if index < 0:
            raise ProtocolError("data.part.index: must not be negative")
        text = optional_str(part, "text", path="data.part")
        wire_parts = [] if text is None else [{"type": "text", "value": text}]
        parts = parts_from_wire(wire_parts, field="data.part")
        part_index: int | None = index
    else:
        nested = optional_mapping(data, "message", path="data")
        body, path = (data, "data") if nested is None else (nested, "data.message")
        parts = parts_from_wire(body.get("parts"), field=f"{path}.parts")
        part_index = None
    return MessageEdited(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=conversation_id,
        message_id=message_id,
        parts=parts,
        part_index=part_index,
        is_from_me=data.get("direction") == "outbound" or data.get("is_from_me") is True,
        conversation_health=health_of_event(data),
    )
