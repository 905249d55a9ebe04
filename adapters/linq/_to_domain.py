"""Linq's JSON as domain values: the one reader, for API answers and webhooks alike (private).

Two ways in, one set of rules. Webhook parsing hands over decoded JSON (the
``*_from_wire`` functions); the transport hands over API answers the client's
converter has already read into wire types (:func:`conversation_from_chat`,
:func:`message_from_wire`), whose fields are read here directly, with no
round trip back to JSON. Both end in the same builders below, so an API answer
and a webhook about the same message give the same domain ``Message``. Linq's
words (services, statuses, directions) come from :mod:`adapters.linq._words`.

Rules:

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
- A sender that is not a phone number or email (a short code) is ``None`` in a
  message of a chat's history (the message still counts); webhook parsing
  refuses it through :func:`handle_from_wire` and keeps the delivery raw.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from adapters.linq import _words
from adapters.linq._fields import optional_int, optional_str
from adapters.linq._http import LOGGER_NAME
from adapters.linq._text_marks import link_from_wire, text_from_wire
from adapters.linq.wire_chats import (
    Chat,
    ChatHandle,
    ChatSummary,
    CreatedChat,
    MessageEffect,
    MessageLinkPart,
    MessageMediaPart,
    MessagePart,
    MessageReplyTo,
    MessageTextPart,
)
from adapters.linq.wire_chats import Message as WireMessage
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
from caresupport_transport.model import (
    Conversation,
    ConversationHealth,
    DeliveryStatus,
    Direction,
    Message,
)

__all__ = [
    "conversation_from_chat",
    "direction_from_wire",
    "effect_from_wire",
    "handle_from_wire",
    "health_from_wire",
    "lenient_status",
    "message_from_wire",
    "participants_of",
    "parts_from_wire",
    "parts_of",
    "reaction_from_wire",
    "reply_to_from_wire",
    "service_from_wire",
    "status_from_wire",
]

_log = logging.getLogger(LOGGER_NAME)
_REACTIONS = {kind.value: kind for kind in ReactionKind}
_EFFECT_KINDS = {kind.value: kind for kind in EffectKind}


# Words and small values -------------------------------------------------------


def service_from_wire(value: object) -> Service | None:
    """``"iMessage"`` -> ``Service.IMESSAGE`` (any case); ``None`` for null or unknown names."""
    return _words.service_from_word(value)


def status_from_wire(value: object, *, field: str = "status") -> DeliveryStatus:
    """``"delivered"`` -> ``DeliveryStatus.DELIVERED``; ``"received"`` reads as delivered.

    Raises:
        ProtocolError: for anything that is not a known status.
    """
    status = _words.status_from_word(value)
    if status is None:
        raise ProtocolError(f"{field}: {value!r} is not a delivery status")
    return status


def lenient_status(value: object, default: DeliveryStatus) -> DeliveryStatus:
    """A delivery status word, or ``default`` when Linq sent one this version does not know."""
    status = _words.status_from_word(value)
    return default if status is None else status


def direction_from_wire(value: object, *, field: str = "direction") -> Direction:
    """``"inbound"`` / ``"outbound"`` -> ``Direction``.

    Raises:
        ProtocolError: for anything else.
    """
    direction = _words.direction_from_word(value)
    if direction is None:
        raise ProtocolError(f"{field}: {value!r} is not 'inbound' or 'outbound'")
    return direction


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
    if isinstance(value, MessageEffect):
        return _effect(value.type, value.name)
    if not isinstance(value, Mapping):
        return None
    wire_kind = value.get("type")
    kind = _EFFECT_KINDS.get(wire_kind) if isinstance(wire_kind, str) else None
    return _effect(kind, value.get("name"))


def _effect(kind: EffectKind | None, name: object) -> Effect | None:
    if kind is None or not isinstance(name, str):
        return None
    try:
        return Effect(kind, name)
    except ValidationError:
        return None


def reply_to_from_wire(value: object, *, field: str = "reply_to") -> ReplyTo | None:
    """``{"message_id": ..., "part_index": 0}`` -> ``ReplyTo``; ``None`` without a message id.

    Also reads an API answer's :class:`~adapters.linq.wire_chats.MessageReplyTo`.

    Raises:
        ProtocolError: when ``part_index`` is present but not a non-negative integer.
    """
    if isinstance(value, MessageReplyTo):
        return _reply_to(value.message_id, value.part_index, field)
    if not isinstance(value, Mapping):
        return None
    message_id = value.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        return None
    return _reply_to(message_id, optional_int(value, "part_index", path=field), field)


def _reply_to(message_id: str, part_index: int | None, field: str) -> ReplyTo | None:
    if not message_id:
        return None
    if part_index is not None and part_index < 0:
        raise ProtocolError(f"{field}.part_index: must not be negative")
    return ReplyTo(message_id, part_index or 0)


# Parts ------------------------------------------------------------------------


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
            text = optional_str(raw, "value", path=path)
            if text is None:
                text = optional_str(raw, "text", path=path)
            parts.extend(
                _text_parts(
                    text,
                    mentions=raw.get("mentions"),
                    decorations=raw.get("text_decorations"),
                    mention=raw.get("mention"),
                    mention_range=raw.get("mention_range"),
                )
            )
        elif kind == "media":
            parts.append(_media_part_from_json(raw, path))
        elif kind == "link":
            link = link_from_wire(raw.get("value") or raw.get("url"))
            if link is not None:
                parts.append(link)
    return tuple(parts)


def parts_of(parts: Iterable[MessagePart] | None, *, field: str = "parts") -> tuple[Part, ...]:
    """An API answer's parts as domain parts, by the same rules as :func:`parts_from_wire`."""
    found: list[Part] = []
    for index, part in enumerate(parts or ()):
        if isinstance(part, MessageTextPart):
            found.extend(
                _text_parts(
                    part.value,
                    mentions=part.mentions,
                    decorations=part.text_decorations,
                    mention=part.mention,
                    mention_range=part.mention_range,
                )
            )
        elif isinstance(part, MessageLinkPart):
            link = link_from_wire(part.value or part.url)
            if link is not None:
                found.append(link)
        elif isinstance(part, MessageMediaPart):
            found.append(
                _media_part(
                    f"{field}[{index}]",
                    url=part.url,
                    attachment_id=part.id,
                    content_type=part.mime_type,
                    filename=part.filename,
                    size=part.size_bytes,
                )
            )
    return tuple(found)


def _text_parts(
    text: str | None,
    *,
    mentions: object = None,
    decorations: object = None,
    mention: object = None,
    mention_range: object = None,
) -> list[TextPart]:
    if text is None:
        return []
    if text.strip() and len(text) <= limits.MAX_TEXT_CHARS:
        # Mentions and decorations are kept on a part that is one domain part.
        return [
            text_from_wire(
                text,
                mentions=mentions,
                decorations=decorations,
                mention=mention,
                mention_range=mention_range,
            )
        ]
    step = limits.MAX_TEXT_CHARS
    chunks = (text[start : start + step] for start in range(0, len(text), step))
    return [TextPart(chunk) for chunk in chunks if chunk.strip()]


def _media_part_from_json(raw: Mapping[str, Any], path: str) -> MediaPart:
    return _media_part(
        path,
        url=optional_str(raw, "url", path=path),
        attachment_id=optional_str(raw, "id", path=path)
        or optional_str(raw, "attachment_id", path=path),
        content_type=optional_str(raw, "mime_type", path=path)
        or optional_str(raw, "content_type", path=path),
        filename=optional_str(raw, "filename", path=path),
        size=optional_int(raw, "size_bytes", path=path),
    )


def _media_part(
    path: str,
    *,
    url: str | None,
    attachment_id: str | None,
    content_type: str | None,
    filename: str | None,
    size: int | None,
) -> MediaPart:
    if size is not None and size < 0:
        size = None
    attachment_id = attachment_id or None
    content_type = content_type or None
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


# API answers ------------------------------------------------------------------


def participants_of(handles: Iterable[ChatHandle], line: Handle | None) -> tuple[Handle, ...]:
    """The other people in a chat: not our own line, not those who left or were removed.

    Raises:
        ProtocolError: a participant's handle is not a phone number or email address.
    """
    found: list[Handle] = []
    for index, item in enumerate(handles):
        if item.is_me or (item.status is not None and item.status.gone):
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
    health = chat.health_status if isinstance(chat, Chat | CreatedChat) else None
    return Conversation(
        id=chat.id,
        participants=participants_of(chat.handles, line),
        is_group=chat.is_group,
        service=chat.service,
        display_name=display_name,
        health=health_from_wire(health.status if health is not None else None),
    )


def health_from_wire(value: object) -> ConversationHealth | None:
    """A chat's ``health_status.status`` as the domain's health; ``None`` when absent or unknown.

    Health is decoration the domain can do without: a newer word never fails a read.
    """
    if not isinstance(value, str):
        return None
    try:
        return ConversationHealth(value.upper())
    except ValueError:
        return None


def _status(message: WireMessage) -> DeliveryStatus:
    if message.delivery_status is not None:
        return message.delivery_status
    # The published schema has only flags and timestamps: read them, best first.
    if message.is_read or message.read_at is not None:
        return DeliveryStatus.READ
    if message.is_delivered or message.delivered_at is not None or not message.is_from_me:
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.SENT if message.sent_at is not None else DeliveryStatus.PENDING


def _sender(message: WireMessage, line: Handle | None) -> Handle | None:
    if message.is_from_me and line is not None:
        return line
    if message.from_handle is not None:
        source, field = message.from_handle.handle, "from_handle.handle"
    elif message.from_ is not None:
        source, field = message.from_, "from"
    else:
        return None
    try:
        return handle_from_wire(source, field=field)
    except ProtocolError:
        # A short code or an alphanumeric sender: the message still counts.
        _log.warning("message %s: the sender is not a phone number or email", message.id)
        return None


def message_from_wire(message: WireMessage, line: Handle | None) -> Message:
    """A message of a chat's history (either direction) as a domain ``Message``."""
    return Message(
        id=message.id,
        conversation_id=message.chat_id,
        direction=Direction.OUTBOUND if message.is_from_me else Direction.INBOUND,
        sender=_sender(message, line),
        parts=parts_of(message.parts),
        service=message.service,
        status=_status(message),
        created_at=message.created_at,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        read_at=message.read_at,
        reply_to=reply_to_from_wire(message.reply_to),
        effect=effect_from_wire(message.effect),
        reconciled_at=message.reconciled_at,
    )
