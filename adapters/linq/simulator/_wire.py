"""Domain objects from the World, in Linq's JSON shapes (chats, handles, messages, parts).

Rules: timestamps are ISO 8601 UTC with milliseconds and ``Z``; Linq's words
(services ``iMessage`` / ``RCS`` / ``SMS``, delivery statuses, directions, handle
statuses) come from the adapter's one table, :mod:`adapters.linq._words`; the
line's own handle comes first with ``is_me: true``; participant handle ids are
stable per chat and handle.
"""

from __future__ import annotations

import mimetypes
import posixpath
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from adapters.linq import _words
from adapters.linq.simulator.state import Backend
from adapters.memory.world import ReactionRecord, World
from caresupport_transport.capabilities import Service
from caresupport_transport.content import Effect, LinkPart, MediaPart, Part, ReplyTo, TextPart
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, DeliveryStatus, Direction, Message

__all__ = [
    "chat_json",
    "direction_label",
    "effect_json",
    "handle_json",
    "health_json",
    "iso",
    "message_json",
    "parts_json",
    "reaction_id",
    "sent_message_json",
    "service_label",
    "status_label",
]

JSON = dict[str, Any]


def iso(moment: datetime) -> str:
    """``2026-01-01T09:00:00.000Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def service_label(service: Service | None) -> str | None:
    """Linq's name of ``service`` (``"iMessage"``), or ``None``."""
    return None if service is None else _words.service_word(service)


def status_label(status: DeliveryStatus, direction: Direction = Direction.OUTBOUND) -> str:
    """Linq's word for ``status`` (``"received"`` for an inbound delivered message)."""
    return _words.status_word(status, direction)


def direction_label(direction: Direction) -> str:
    """Linq's word for ``direction`` (``"inbound"`` / ``"outbound"``)."""
    return _words.direction_word(direction)


def handle_json(
    backend: Backend,
    chat_id: str,
    handle: Handle,
    *,
    service: Service | None,
    is_me: bool,
    joined_at: datetime,
) -> JSON:
    """A ``ChatHandle``."""
    return {
        "id": backend.ids.stable("handle", chat_id, handle.value),
        "handle": handle.value,
        "service": service_label(service or Service.IMESSAGE),
        "status": _words.HandleStatus.ACTIVE.value,
        "joined_at": iso(joined_at),
        "left_at": None,
        "is_me": is_me,
    }


def line_handle_json(backend: Backend, line: str, world: World, conversation: Conversation) -> JSON:
    """The line's own ``ChatHandle``; every simulated line's ``line_type`` is iMessage."""
    return {
        **handle_json(
            backend,
            conversation.id,
            Handle(line),
            service=conversation.service,
            is_me=True,
            joined_at=world.created_at(conversation.id),
        ),
        "line_type": "iMessage",
    }


def participant_json(
    backend: Backend, world: World, conversation: Conversation, handle: Handle
) -> JSON:
    return handle_json(
        backend,
        conversation.id,
        handle,
        service=conversation.service,
        is_me=False,
        joined_at=world.joined_at(conversation.id, handle),
    )


def handles_json(
    backend: Backend, line: str, world: World, conversation: Conversation
) -> list[JSON]:
    """The line's own handle, then every participant."""
    return [
        line_handle_json(backend, line, world, conversation),
        *(participant_json(backend, world, conversation, h) for h in conversation.participants),
    ]


HEALTH_DOC_URL = "https://docs.linqapp.com/guides/chat-health"
"""Where ``health_status.doc_url`` points (Linq's Chat Health guide; any URL does here)."""


def health_json(world: World, conversation: Conversation) -> JSON:
    """A chat's ``health_status {status, doc_url, updated_at}`` (BETA, always present)."""
    return {
        "status": world.health_of(conversation.id).value,
        "doc_url": HEALTH_DOC_URL,
        "updated_at": iso(world.now),
    }


def event_chat_json(
    backend: Backend, line: str, world: World, conversation: Conversation, *, health: bool
) -> JSON:
    """The ``chat {id, is_group, owner_handle}`` a webhook event names (``health_status``
    too on message events, ``health``)."""
    chat: JSON = {
        "id": conversation.id,
        "is_group": conversation.is_group,
        "owner_handle": line_handle_json(backend, line, world, conversation),
    }
    if health:
        chat["health_status"] = health_json(world, conversation)
    return chat


def chat_json(backend: Backend, line: str, world: World, conversation: Conversation) -> JSON:
    """A ``Chat``."""
    created = world.created_at(conversation.id)
    history = world.history(conversation.id)
    updated = max([created, *(m.created_at for m in history[:1])])
    return {
        "id": conversation.id,
        "display_name": conversation.display_name,
        "service": service_label(conversation.service),
        "handles": handles_json(backend, line, world, conversation),
        "is_archived": False,
        "is_group": conversation.is_group,
        "created_at": iso(created),
        "updated_at": iso(updated),
        "health_status": health_json(world, conversation),
        "group_chat_icon": backend.group_icons.get(conversation.id),
    }


def effect_json(effect: Effect | None) -> JSON | None:
    return None if effect is None else {"type": effect.kind.value, "name": effect.name}


def reply_json(reply_to: ReplyTo | None) -> JSON | None:
    if reply_to is None:
        return None
    return {"message_id": reply_to.message_id, "part_index": reply_to.part_index}


def reaction_id(backend: Backend, record: ReactionRecord) -> str:
    """A reaction's ``id`` (stable: the same reaction always has the same id)."""
    return backend.ids.stable(
        "reaction",
        record.message_id,
        record.actor.value,
        str(record.part_index),
        record.reaction.kind.value,
        iso(record.at),
    )


def _reactions(
    backend: Backend, world: World, message: Message, part_index: int, line: str
) -> list[JSON]:
    conversation = world.conversation(message.conversation_id)
    created = world.created_at(conversation.id)
    found = []
    for record in world.reactions_on(message.id):
        if record.part_index != part_index:
            continue
        is_me = record.actor == world.owner
        found.append(
            {
                "is_me": is_me,
                "handle": handle_json(
                    backend,
                    conversation.id,
                    Handle(line) if is_me else record.actor,
                    service=conversation.service,
                    is_me=is_me,
                    joined_at=created,
                ),
                "id": reaction_id(backend, record),
                "type": record.reaction.kind.value,
                "custom_emoji": record.reaction.emoji,
                "sticker": None,
            }
        )
    return found


def _media_json(
    backend: Backend, world: World, message_id: str, index: int, part: MediaPart
) -> JSON:
    if part.attachment_id is not None:
        attachment = world.attachments.get(part.attachment_id)
        upload = backend.uploads.get(part.attachment_id)
        if attachment is not None:
            return {
                "type": "media",
                "id": attachment.id,
                "url": upload.download_url if upload else attachment.download_url or "",
                "filename": attachment.filename,
                "mime_type": attachment.content_type,
                "size_bytes": attachment.size_bytes,
            }
        if upload is not None:
            return {
                "type": "media",
                "id": upload.id,
                "url": upload.download_url,
                "filename": upload.filename,
                "mime_type": upload.content_type,
                "size_bytes": upload.size_bytes,
            }
    url = part.url or ""
    filename = part.filename or posixpath.basename(urlsplit(url).path) or "attachment"
    mime = part.content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return {
        "type": "media",
        "id": part.attachment_id or backend.ids.stable("part", message_id, str(index)),
        "url": url,
        "filename": filename,
        "mime_type": mime,
        "size_bytes": part.size_bytes or 0,
    }


def _marks_json(line: str, part: TextPart) -> JSON:
    """``mentions`` (every one, ``is_me`` for our line) and ``text_decorations`` of a text part."""
    return {
        "mentions": [
            {
                "handle": m.handle.value,
                "is_me": m.handle.value == line,
                "range": [m.range.start, m.range.end],
            }
            for m in part.mentions
        ]
        or None,
        "text_decorations": [
            {
                "range": [d.range.start, d.range.end],
                **({"style": d.style.value} if d.style is not None else {}),
                **({"animation": d.animation.value} if d.animation is not None else {}),
            }
            for d in part.decorations
        ]
        or None,
    }


def parts_json(
    backend: Backend,
    world: World,
    message: Message,
    line: str,
    *,
    reactions: bool = True,
    parts: tuple[Part, ...] | None = None,
) -> list[JSON]:
    """``TextPartResponse`` / ``MediaPartResponse`` items (webhooks omit ``reactions``)."""
    found: list[JSON] = []
    for index, part in enumerate(message.parts if parts is None else parts):
        if isinstance(part, TextPart):
            item: JSON = {"type": "text", "value": part.text, **_marks_json(line, part)}
        elif isinstance(part, LinkPart):
            item = {"type": "link", "value": part.url}
        else:
            item = _media_json(backend, world, message.id, index, part)
        if reactions:
            item["reactions"] = _reactions(backend, world, message, index, line)
        found.append(item)
    return found


def from_handle_json(backend: Backend, line: str, world: World, message: Message) -> JSON | None:
    conversation = world.conversation(message.conversation_id)
    if message.direction is Direction.OUTBOUND:
        return line_handle_json(backend, line, world, conversation)
    if message.sender is None:
        return None
    return participant_json(backend, world, conversation, message.sender)


def sender_value(line: str, message: Message) -> str | None:
    if message.direction is Direction.OUTBOUND:
        return line
    return None if message.sender is None else message.sender.value


def message_json(backend: Backend, line: str, world: World, message: Message) -> JSON:
    """A ``Message``."""
    status = message.status
    return {
        "id": message.id,
        "chat_id": message.conversation_id,
        "service": service_label(message.service),
        "preferred_service": service_label(world.preferred_services.get(message.id)),
        "from": sender_value(line, message),
        "from_handle": from_handle_json(backend, line, world, message),
        "parts": parts_json(backend, world, message, line),
        "reply_to": reply_json(message.reply_to),
        "is_from_me": message.direction is Direction.OUTBOUND,
        # Newer than the published schema, which has only is_delivered / is_read.
        "delivery_status": status_label(message.status, message.direction),
        "is_delivered": status.rank >= DeliveryStatus.DELIVERED.rank
        and status is not DeliveryStatus.FAILED,
        "is_read": status is DeliveryStatus.READ,
        "created_at": iso(message.created_at),
        "updated_at": iso(world.updated_at(message.id)),
        "sent_at": iso_or_none(message.sent_at),
        "delivered_at": iso_or_none(message.delivered_at),
        "read_at": iso_or_none(message.read_at),
        "effect": effect_json(message.effect),
        # Only a message recovered late by reconciliation carries it.
        **({} if message.reconciled_at is None else {"reconciled_at": iso(message.reconciled_at)}),
    }


def sent_message_json(backend: Backend, line: str, world: World, message: Message) -> JSON:
    """A ``SentMessage`` (the message in a send's answer).

    ``sent_at`` is required by the published schema; until the message is sent
    it carries the time the message was accepted.
    """
    return {
        "id": message.id,
        "service": service_label(message.service),
        "preferred_service": service_label(world.preferred_services.get(message.id)),
        "parts": parts_json(backend, world, message, line),
        "created_at": iso(message.created_at),
        "sent_at": iso(message.sent_at or message.created_at),
        "delivered_at": iso_or_none(message.delivered_at),
        "delivery_status": status_label(message.status),
        "is_read": message.status is DeliveryStatus.READ,
        "effect": effect_json(message.effect),
        "from_handle": from_handle_json(backend, line, world, message),
        "reply_to": reply_json(message.reply_to),
    }
