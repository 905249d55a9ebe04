"""Linq's wire vocabulary to domain values: services, statuses, handles, parts, reactions.

Shared by webhook parsing and by ``LinqTransport`` reading API responses (the same
words appear in both). Rules:

- Anything the domain needs and cannot do without (a handle, a part's URL, a
  delivery status, a reaction kind) that is malformed raises
  :class:`~caresupport_transport.errors.ProtocolError` naming the field.
- Decoration the domain can do without (an unknown service, an unknown effect, a
  reply reference without a message id) reads as ``None`` rather than failing the
  whole message: losing a care message over an animation would be the wrong trade.
- Inbound content is not held to outbound sending limits: text over 10,000
  characters is split into several text parts (nothing dropped), blank text parts
  are skipped, and a media part whose size or content type breaks an outbound
  rule keeps its URL with that attribute left unknown (``None``).
- Part types this version does not know (newer Linq sends more) are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.linq._fields import optional_int, optional_str
from caresupport_transport import limits
from caresupport_transport.capabilities import Service
from caresupport_transport.content import (
    Effect,
    EffectKind,
    MediaPart,
    Part,
    Reaction,
    ReactionKind,
    ReplyTo,
    TextPart,
)
from caresupport_transport.errors import InvalidHandleError, ProtocolError, ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.model import DeliveryStatus, Direction

__all__ = [
    "direction_from_wire",
    "effect_from_wire",
    "handle_from_wire",
    "parts_from_wire",
    "reaction_from_wire",
    "reply_to_from_wire",
    "service_from_wire",
    "service_to_wire",
    "status_from_wire",
]

_SERVICES = {"imessage": Service.IMESSAGE, "rcs": Service.RCS, "sms": Service.SMS}
_WIRE_SERVICES = {Service.IMESSAGE: "iMessage", Service.RCS: "RCS", Service.SMS: "SMS"}

_STATUSES = {
    "pending": DeliveryStatus.PENDING,
    "queued": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    # "received" (newer payloads) is an inbound message that reached our line.
    "received": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}

_DIRECTIONS = {"inbound": Direction.INBOUND, "outbound": Direction.OUTBOUND}
_REACTIONS = {kind.value: kind for kind in ReactionKind}
_EFFECT_KINDS = {kind.value: kind for kind in EffectKind}


def service_from_wire(value: object) -> Service | None:
    """``"iMessage"`` -> ``Service.IMESSAGE`` (any case); ``None`` for null or unknown names."""
    if not isinstance(value, str):
        return None
    return _SERVICES.get(value.lower())


def service_to_wire(service: Service) -> str:
    """``Service.IMESSAGE`` -> ``"iMessage"``, as Linq spells it."""
    return _WIRE_SERVICES[service]


def status_from_wire(value: object, *, field: str = "status") -> DeliveryStatus:
    """``"delivered"`` -> ``DeliveryStatus.DELIVERED``; ``"received"`` reads as delivered.

    Raises:
        ProtocolError: for anything that is not a known status.
    """
    if isinstance(value, str):
        status = _STATUSES.get(value.lower())
        if status is not None:
            return status
    raise ProtocolError(f"{field}: {value!r} is not a delivery status")


def direction_from_wire(value: object, *, field: str = "direction") -> Direction:
    """``"inbound"`` / ``"outbound"`` -> ``Direction``.

    Raises:
        ProtocolError: for anything else.
    """
    if isinstance(value, str):
        direction = _DIRECTIONS.get(value.lower())
        if direction is not None:
            return direction
    raise ProtocolError(f"{field}: {value!r} is not 'inbound' or 'outbound'")


def handle_from_wire(value: object, *, field: str = "handle") -> Handle:
    """A handle from a bare string (``"+12025551234"``) or a ChatHandle object.

    Raises:
        ProtocolError: naming ``field`` when the value is missing or not a valid
            phone number or email address.
    """
    if isinstance(value, Mapping):
        field = f"{field}.handle"
        value = value.get("handle")
    if value is None:
        raise ProtocolError(f"{field}: is required")
    try:
        return Handle(value)
    except InvalidHandleError as exc:
        raise ProtocolError(f"{field}: {exc.rule}") from None


def reaction_from_wire(
    kind: object, custom_emoji: object = None, *, field: str = "reaction_type"
) -> Reaction:
    """``("love", None)`` -> ``Reaction(LOVE)``; ``("custom", "🙏")`` -> a custom reaction.

    An emoji sent alongside a standard tapback is ignored.

    Raises:
        ProtocolError: for an unknown reaction type or a custom one without an emoji.
    """
    reaction_kind = _REACTIONS.get(kind) if isinstance(kind, str) else None
    if reaction_kind is None:
        raise ProtocolError(f"{field}: {kind!r} is not a reaction type")
    if reaction_kind is not ReactionKind.CUSTOM:
        return Reaction(reaction_kind)
    if not isinstance(custom_emoji, str) or not custom_emoji.strip():
        raise ProtocolError("custom_emoji: a custom reaction needs an emoji")
    return Reaction(reaction_kind, custom_emoji)


def effect_from_wire(value: object) -> Effect | None:
    """``{"type": "screen", "name": "confetti"}`` -> an ``Effect``; ``None`` if not one we know."""
    if not isinstance(value, Mapping):
        return None
    wire_kind = value.get("type")
    kind = _EFFECT_KINDS.get(wire_kind) if isinstance(wire_kind, str) else None
    name = value.get("name")
    if kind is None or not isinstance(name, str):
        return None
    try:
        return Effect(kind, name)
    except ValidationError:
        return None


def reply_to_from_wire(value: object, *, field: str = "reply_to") -> ReplyTo | None:
    """``{"message_id": ..., "part_index": 0}`` -> ``ReplyTo``; ``None`` without a message id.

    Raises:
        ProtocolError: when ``part_index`` is present but not a non-negative integer.
    """
    if not isinstance(value, Mapping):
        return None
    message_id = value.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        return None
    part_index = optional_int(value, "part_index", path=field) or 0
    if part_index < 0:
        raise ProtocolError(f"{field}.part_index: must not be negative")
    return ReplyTo(message_id, part_index)


def parts_from_wire(value: object, *, field: str = "parts") -> tuple[Part, ...]:
    """Linq's ``[{"type": "text", "value": ...}, {"type": "media", "url": ...}]`` -> parts.

    See the module docstring for how inbound content is kept whole.

    Raises:
        ProtocolError: when ``value`` is not an array, a part is not an object, or
            a media part has neither a usable URL nor an attachment id.
    """
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ProtocolError(f"{field}: must be an array")
    parts: list[Part] = []
    for index, raw in enumerate(value):
        path = f"{field}[{index}]"
        if not isinstance(raw, Mapping):
            raise ProtocolError(f"{path}: must be an object")
        kind = raw.get("type")
        if kind == "text":
            parts.extend(_text_parts(raw, path))
        elif kind == "media":
            parts.append(_media_part(raw, path))
    return tuple(parts)


def _text_parts(raw: Mapping[str, Any], path: str) -> list[TextPart]:
    text = optional_str(raw, "value", path=path)
    if text is None:
        text = optional_str(raw, "text", path=path)
    if text is None:
        return []
    step = limits.MAX_TEXT_CHARS
    chunks = (text[start : start + step] for start in range(0, len(text), step))
    return [TextPart(chunk) for chunk in chunks if chunk.strip()]


def _media_part(raw: Mapping[str, Any], path: str) -> MediaPart:
    url = optional_str(raw, "url", path=path)
    attachment_id = optional_str(raw, "id", path=path) or optional_str(
        raw, "attachment_id", path=path
    )
    content_type = optional_str(raw, "mime_type", path=path) or optional_str(
        raw, "content_type", path=path
    )
    filename = optional_str(raw, "filename", path=path)
    size = optional_int(raw, "size_bytes", path=path)
    if size is not None and size < 0:
        size = None
    by_url = url is not None and url.startswith(("https://", "http://"))
    # Received media keeps its type and size as reported: sending rules (no WebP,
    # 10 MB by URL) bind what we send, not what someone sent us.
    try:
        if by_url:
            return MediaPart(
                url=url,
                content_type=content_type,
                size_bytes=size,
                filename=filename,
                received=True,
            )
        if attachment_id is not None:
            return MediaPart(
                attachment_id=attachment_id,
                content_type=content_type,
                size_bytes=size,
                filename=filename,
                received=True,
            )
    except ValidationError as exc:
        raise ProtocolError(f"{path}: {exc.rule}") from None
    raise ProtocolError(f"{path}: a media part needs an http(s) url or an id")
