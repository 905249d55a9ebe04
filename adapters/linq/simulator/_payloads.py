"""Domain events from the World, as Linq webhook payloads in either payload version.

Only message events differ between versions: ``2025-01-01`` nests the message
in ``data.message`` with ``is_from_me`` / ``from_handle`` / ``chat_id`` at the
top; ``2026-02-03`` is flat with ``direction``, ``sender_handle`` and
``chat{id, is_group, owner_handle}``. A status event shows the message as it
stood at that status (``message.sent`` has ``delivered_at: null`` even when the
message was delivered since). ``message.edited`` goes to ``2026-02-03``
subscriptions only, as Linq does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.linq._words import HandleStatus
from adapters.linq.simulator import _wire
from adapters.linq.simulator._poll_payloads import poll_payload
from adapters.linq.simulator.state import Backend, LineEvent, LinqOnlyEvent
from adapters.memory.world import ReactionRecord, World
from caresupport_transport.content import TextPart
from caresupport_transport.events import (
    ContactCardReceived,
    ConversationCreated,
    ConversationUpdated,
    InboundEvent,
    LineReputation,
    LineStatus,
    LineStatusChanged,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
    ParticipantAdded,
    ParticipantRemoved,
    ReactionAdded,
    ReactionRemoved,
    TypingStarted,
    TypingStopped,
    WebhookSubscriptionChanged,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import DeliveryStatus, Direction, Message

__all__ = ["build_payload", "event_type_of"]

JSON = dict[str, Any]
_V2025 = "2025-01-01"
_STATUS_TYPES = {
    DeliveryStatus.SENT: "message.sent",
    DeliveryStatus.DELIVERED: "message.delivered",
    DeliveryStatus.READ: "message.read",
    DeliveryStatus.FAILED: "message.failed",
}


def event_type_of(event: InboundEvent | LinqOnlyEvent) -> str | None:
    """The webhook ``event_type`` a domain event becomes, or ``None`` if Linq sends none."""
    if isinstance(event, LinqOnlyEvent):
        return event.event_type
    if isinstance(event, MessageReceived):
        return "message.received"
    if isinstance(event, MessageStatusChanged):
        return _STATUS_TYPES.get(event.status)
    if isinstance(event, WebhookSubscriptionChanged):
        return f"webhook_subscription.{event.change}"
    if isinstance(event, ConversationUpdated):
        kind = "name" if event.change == "name" else "icon"
        return f"chat.group_{kind}_update{'_failed' if event.failed else 'd'}"
    return {
        MessageEdited: "message.edited",
        ReactionAdded: "reaction.added",
        ReactionRemoved: "reaction.removed",
        ParticipantAdded: "participant.added",
        ParticipantRemoved: "participant.removed",
        ConversationCreated: "chat.created",
        TypingStarted: "chat.typing_indicator.started",
        TypingStopped: "chat.typing_indicator.stopped",
        ContactCardReceived: "contact_card.received",
        LineStatusChanged: "phone_number.status_updated",
    }.get(type(event))


def _as_of(message: Message, status: DeliveryStatus | None) -> tuple[Any, Any, Any]:
    """``(sent_at, delivered_at, read_at)`` as they stood when ``status`` was reached."""
    if status is None or message.direction is Direction.INBOUND:
        return message.sent_at, message.delivered_at, message.read_at
    sent = message.sent_at or message.created_at
    delivered = message.delivered_at if status.rank >= DeliveryStatus.DELIVERED.rank else None
    read = message.read_at if status is DeliveryStatus.READ else None
    return sent, delivered, read


def _message_data(
    backend: Backend,
    line: str,
    world: World,
    message: Message,
    version: str,
    status: DeliveryStatus | None,
) -> JSON:
    conversation = world.conversation(message.conversation_id)
    sent, delivered, read = _as_of(message, status)
    outbound = message.direction is Direction.OUTBOUND
    key = world.message_keys.get(message.id)
    sender = _wire.from_handle_json(backend, line, world, message)
    line_handle = _wire.line_handle_json(backend, line, world, conversation)
    parts = _wire.parts_json(backend, world, message, line, reactions=False)
    preferred = _wire.service_label(world.preferred_services.get(message.id))
    if version == _V2025:
        data: JSON = {
            "chat_id": conversation.id,
            "is_group": conversation.is_group,
            "idempotency_key": key,
            "from": _wire.sender_value(line, message),
            "from_handle": sender,
            "is_from_me": outbound,
            "message": {
                "id": message.id,
                "parts": parts,
                # 2025-01-01 types these as objects: absent, never null.
                **_present(
                    effect=_wire.effect_json(message.effect),
                    reply_to=_wire.reply_json(message.reply_to),
                ),
                "is_delivered": delivered is not None,
                "is_read": read is not None,
                "created_at": _wire.iso(message.created_at),
                "updated_at": _wire.iso(message.created_at),
                "sent_at": _wire.iso_or_none(sent),
                "delivered_at": _wire.iso_or_none(delivered),
                "read_at": _wire.iso_or_none(read),
            },
            "received_at": None if outbound else _wire.iso_or_none(message.created_at),
            "recipient_handle": None if outbound else line_handle,
            "recipient_phone": None,
            "service": _wire.service_label(message.service),
            "preferred_service": preferred,
        }
        if status is DeliveryStatus.DELIVERED:
            data.update(message_id=message.id, delivered_at=_wire.iso_or_none(delivered))
        elif status is DeliveryStatus.READ:
            data.update(message_id=message.id, read_at=_wire.iso_or_none(read))
        return data
    return {
        "chat": _wire.event_chat_json(backend, line, world, conversation, health=True),
        "id": message.id,
        "idempotency_key": key,
        "direction": _wire.direction_label(message.direction),
        "sender_handle": sender,
        "parts": parts,
        "effect": _wire.effect_json(message.effect),
        "reply_to": _wire.reply_json(message.reply_to),
        "sent_at": _wire.iso_or_none(sent),
        "delivered_at": _wire.iso_or_none(delivered),
        "read_at": _wire.iso_or_none(read),
        "service": _wire.service_label(message.service),
        "preferred_service": preferred,
        **_present(reconciled_at=_wire.iso_or_none(message.reconciled_at)),
    }


def _present(**values: Any) -> JSON:
    return {key: value for key, value in values.items() if value is not None}


def _failure_code(reason: str | None) -> int:
    # 4005: the recipient cannot take this kind of message; 3007: anything else upstream.
    return 4005 if reason and "cannot receive" in reason else 3007


def _handle(
    backend: Backend, line: str, world: World, chat_id: str, handle: Handle | None, at: datetime
) -> JSON | None:
    if handle is None:
        return None
    conversation = world.conversations.get(chat_id)
    is_me = handle == world.owner
    return _wire.handle_json(
        backend,
        chat_id,
        Handle(line) if is_me else handle,
        service=conversation.service if conversation else None,
        is_me=is_me,
        # Founders and the owner have no join of their own: the event's time stands in.
        joined_at=world.joins.get((chat_id, handle), at),
    )


def _data(backend: Backend, item: LineEvent, version: str) -> JSON | None:
    line, event = item.line, item.event
    if isinstance(event, LinqOnlyEvent):
        return event.data
    world = backend.lines[line]
    at = event.occurred_at
    if isinstance(event, MessageReceived):
        return _message_data(backend, line, world, event.message, version, None)
    if isinstance(event, MessageStatusChanged):
        if event.status is DeliveryStatus.FAILED:
            return {
                "chat_id": event.conversation_id,
                "message_id": event.message_id,
                "code": _failure_code(event.reason),
                "reason": event.reason,
                "failed_at": _wire.iso(at),
                "service": _wire.service_label(event.service),
                "preferred_service": _wire.service_label(
                    world.preferred_services.get(event.message_id)
                ),
                **_present(detail_code=event.detail_code),
            }
        message = world.messages[event.message_id]
        return _message_data(backend, line, world, message, version, event.status)
    if isinstance(event, MessageEdited):
        if version == _V2025:
            return None
        message = world.messages[event.message_id]
        conversation = world.conversation(event.conversation_id)
        text = next((p.text for p in event.parts if isinstance(p, TextPart)), "")
        return {
            "id": event.message_id,
            "chat": _wire.event_chat_json(backend, line, world, conversation, health=True),
            "direction": _wire.direction_label(message.direction),
            "edited_at": _wire.iso(at),
            "part": {"index": event.part_index or 0, "text": text},
            "sender_handle": _wire.from_handle_json(backend, line, world, message),
        }
    if isinstance(event, ReactionAdded | ReactionRemoved):
        chat = world.conversations.get(event.conversation_id)
        actor = event.actor
        return {
            "chat_id": event.conversation_id,
            "message_id": event.message_id,
            "part_index": event.part_index,
            "from": line if event.is_from_me or actor is None else actor.value,
            "from_handle": _handle(backend, line, world, event.conversation_id, actor, at),
            "reaction_type": event.reaction.kind.value,
            "custom_emoji": event.reaction.emoji,
            "is_from_me": event.is_from_me,
            "service": _wire.service_label(chat.service if chat else None),
            "reacted_at": _wire.iso(at),
            "sticker": None,
            **(
                {"reaction_id": _wire.reaction_id(backend, _record_of(event, world.owner))}
                if isinstance(event, ReactionAdded)
                else {}
            ),
        }
    if isinstance(event, ParticipantAdded | ParticipantRemoved):
        added = isinstance(event, ParticipantAdded)
        participant = _handle(backend, line, world, event.conversation_id, event.handle, at)
        assert participant is not None
        if not added:
            participant.update(status=HandleStatus.REMOVED.value, left_at=_wire.iso(at))
        return {
            "chat_id": event.conversation_id,
            "handle": event.handle.value,
            "participant": participant,
            ("added_at" if added else "removed_at"): _wire.iso(at),
        }
    if isinstance(event, ConversationCreated):
        conversation = world.conversations.get(event.conversation_id, event.conversation)
        return {
            **_wire.chat_json(backend, line, world, conversation),
            "created_at": _wire.iso(at),
            "updated_at": _wire.iso(at),
        }
    if isinstance(event, ConversationUpdated):
        if event.failed:
            return {
                "chat_id": event.conversation_id,
                "error_code": 3007,
                "failed_at": _wire.iso(at),
            }
        return {
            "chat_id": event.conversation_id,
            "old_value": None,
            "new_value": event.value,
            "changed_by_handle": _handle(
                backend, line, world, event.conversation_id, world.owner, at
            ),
            "updated_at": _wire.iso(at),
        }
    if isinstance(event, TypingStarted | TypingStopped):
        typist = _handle(backend, line, world, event.conversation_id, event.handle, at)
        if version == _V2025:
            return {"chat_id": event.conversation_id, "from_handle": typist}
        return {"chat_id": event.conversation_id, "actor_handle": typist}
    if isinstance(event, ContactCardReceived):
        return {
            "sender_handle": event.person.value,
            "owner_handle": line,
            "first_name": event.first_name,
            "last_name": event.last_name or "",
            "media_url": event.media_url,
        }
    if isinstance(event, LineStatusChanged):
        return {
            "phone_number": line,
            "changed_at": _wire.iso(at),
            "previous_status": _word(event.previous_status),
            "new_status": _word(event.status),
            "previous_reputation": _word(event.previous_reputation),
            "new_reputation": _word(event.reputation),
        }
    if isinstance(event, WebhookSubscriptionChanged):
        return {
            "summary": f"Webhook subscription {event.change}",
            "occurred_at": _wire.iso(at),
            "actor": {"type": "system"},
            "origin": "linq",
            "webhook_subscription": {"id": event.subscription_id, "target_url": event.target_url},
        }
    return None


def _word(value: LineStatus | LineReputation | None) -> str | None:
    return None if value is None else value.value


def _record_of(event: ReactionAdded, owner: Handle) -> ReactionRecord:
    """The reaction record an added reaction left (it carries the reaction's id)."""
    actor = owner if event.is_from_me or event.actor is None else event.actor
    return ReactionRecord(
        event.message_id, event.reaction, actor, event.part_index, event.occurred_at
    )


def build_payload(backend: Backend, item: LineEvent, version: str) -> tuple[str, JSON] | None:
    """``(event_type, envelope)`` for one event in one payload version, or ``None``."""
    about_poll = poll_payload(backend, item)
    if about_poll is not None:
        event_type, data = about_poll
    else:
        found = event_type_of(item.event)
        if found is None:
            return None
        event_type = found
        built = _data(backend, item, version)
        if built is None:
            return None
        data = built
    return event_type, {
        "api_version": "v3",
        "webhook_version": version,
        "event_type": event_type,
        "event_id": item.event.event_id,
        "created_at": _wire.iso(item.event.occurred_at),
        "trace_id": backend.ids.trace(),
        "partner_id": backend.partner_id,
        "data": data,
    }
