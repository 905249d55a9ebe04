"""Linq webhook deliveries to domain events (call only after verification).

``parse_delivery`` takes the raw body, ``parse_envelope`` an already decoded JSON
object. The envelope is ``{api_version, webhook_version, event_type, event_id,
created_at, trace_id, partner_id, data}``; ``event_type``, ``event_id``,
``created_at`` and ``data`` are required, the rest is kept when present.

Event types and what they become:

- ``message.received``, ``message.sent`` (the outbound echo): ``MessageReceived``
- ``message.delivered``, ``message.read``: ``MessageStatusChanged``
- ``message.failed``: ``MessageStatusChanged`` (``FAILED``, with code and reason)
- ``message.edited``: ``MessageEdited``
- ``reaction.added``, ``reaction.removed``: ``ReactionAdded``, ``ReactionRemoved``
- ``participant.added``, ``participant.removed``: ``ParticipantAdded``, ``ParticipantRemoved``
- ``chat.created``: ``ConversationCreated``
- ``chat.group_name_updated``, ``chat.group_icon_updated`` and their ``_update_failed``
  twins: ``ConversationUpdated`` (``change`` is ``"name"`` or ``"icon"``)
- ``chat.typing_indicator.started``, ``.stopped``: ``TypingStarted``, ``TypingStopped``
- ``poll.*``: see :mod:`adapters.linq._webhook_polls` (votes, received polls,
  added options, the poll message's statuses)
- ``phone_number.status_updated``: ``LineStatusChanged`` (status and reputation)
- ``contact_card.received``: ``ContactCardReceived``
- ``webhook_subscription.disabled``, ``.enabled``, ``.deleted``: ``WebhookSubscriptionChanged``
- every other type of :data:`~adapters.linq.event_types.ALL_EVENT_TYPES` (and any
  type Linq adds later): ``UnknownEvent``, payload kept, ``problem`` ``None``

The parsers are one table (``_PARSERS``, event type to function), so another
type becomes typed by adding one entry.

Unknown keys are ignored and unknown event types never raise (Linq keeps adding
both). A body that is not an envelope raises
:class:`~caresupport_transport.errors.ProtocolError` naming the field, with the
delivery's ``trace_id`` when it could be read. A valid envelope of a known type
whose data cannot be modelled (a short-code sender that is no handle, a missing
id) becomes an ``UnknownEvent`` whose ``problem`` names the field: a verified
delivery is never refused, since a refused delivery is lost once Linq stops
retrying.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

from adapters.linq._fields import (
    optional_bool,
    optional_int,
    optional_mapping,
    optional_str,
    require_datetime,
    require_list,
    require_str,
)
from adapters.linq._to_domain import (
    handle_from_wire,
    reaction_from_wire,
    service_from_wire,
)
from adapters.linq._webhook_messages import (
    EventContext,
    conversation_id_of,
    health_of_chat,
    message_routing,
    parse_message_edited,
    parse_message_event,
    parse_message_failed,
    parse_message_status,
)
from adapters.linq._webhook_polls import POLL_PARSERS
from caresupport_transport.errors import ProtocolError, ValidationError
from caresupport_transport.events import (
    ContactCardReceived,
    ConversationCreated,
    ConversationUpdated,
    InboundEvent,
    LineReputation,
    LineStatus,
    LineStatusChanged,
    ParticipantAdded,
    ParticipantRemoved,
    ReactionAdded,
    ReactionRemoved,
    TypingStarted,
    TypingStopped,
    UnknownEvent,
    WebhookSubscriptionChanged,
)
from caresupport_transport.handles import Handle
from caresupport_transport.inbound.codec import register_delivery_source
from caresupport_transport.inbound.delivery import Delivery
from caresupport_transport.model import Conversation, Direction

__all__ = [
    "DELIVERY_SOURCE",
    "KNOWN_EVENT_TYPES",
    "Envelope",
    "decode_body",
    "delivery_of",
    "parse_delivery",
    "parse_delivery_text",
    "parse_envelope",
    "read_envelope",
]

DELIVERY_SOURCE = "linq"
"""The :class:`~caresupport_transport.inbound.Delivery` source; its decoder is
:func:`parse_delivery_text`."""

_UNPARSED_TYPES = frozenset({"message.received", "message.sent"})

_Parser = Callable[[EventContext, Mapping[str, Any]], InboundEvent]
_E = TypeVar("_E", bound=enum.Enum)


@attrs.frozen
class Envelope:
    """The part of a delivery common to every event type."""

    event_type: str
    event_id: str
    created_at: datetime
    data: Any
    webhook_version: str | None = None
    api_version: str | None = None
    trace_id: str | None = None
    partner_id: str | None = None


def parse_delivery(body: bytes) -> InboundEvent:
    """Decode one verified delivery's raw body into a domain event.

    Raises:
        ProtocolError: when the body is not UTF-8, not JSON, not a JSON object,
            not an envelope, or a known event lacks what it needs.
    """
    payload, _ = decode_body(body)
    return parse_envelope(payload)


def parse_delivery_text(text: str) -> InboundEvent:
    """:func:`parse_delivery` of a body already decoded to text (the inbox's decoder).

    Raises:
        ProtocolError: as :func:`parse_delivery`.
    """
    return parse_envelope(_json_object(text))


def decode_body(body: bytes) -> tuple[dict[str, Any], str]:
    """A verified body's JSON object and its text.

    Raises:
        ProtocolError: when the body is not UTF-8, not JSON or not a JSON object.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"body must be the raw bytes, not {type(body).__name__}")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("body: is not valid UTF-8") from None
    return _json_object(text), text


def _json_object(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        # ValueError covers malformed JSON and over-long integers; RecursionError
        # deeply nested arrays. Neither is a delivery Linq would send.
        raise ProtocolError("body: is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ProtocolError(f"body: must be a JSON object, not {_json_kind(payload)}")
    return payload


def delivery_of(payload: Mapping[str, Any], text: str) -> Delivery | None:
    """The inbox's :class:`Delivery` for a received or sent message, or ``None``: parse it.

    Only ``message.received`` and ``message.sent`` (most of the traffic, and the
    costliest to parse) are taken unparsed, and only when their routing fields
    read cleanly, the same way :func:`parse_envelope` reads them
    (:func:`~adapters.linq._webhook_messages.message_routing`); every other
    delivery is parsed at intake as before.

    Raises:
        ProtocolError: when ``payload`` is not an envelope (as :func:`parse_envelope`).
    """
    envelope = read_envelope(payload)
    data = envelope.data
    if envelope.event_type not in _UNPARSED_TYPES or not isinstance(data, Mapping):
        return None
    try:
        routing = message_routing(envelope.event_type, data, envelope.webhook_version)
        # Should the worker's parse fail on another field, its UnknownEvent takes
        # the conversation from conversation_id_of: it must name the same one.
        if conversation_id_of(data) != routing.conversation_id:
            return None
    except (ProtocolError, ValidationError):
        return None
    return Delivery(
        source=DELIVERY_SOURCE,
        body=text,
        event_id=envelope.event_id,
        conversation_id=routing.conversation_id,
        message_id=routing.message_id,
        outbound=routing.direction is Direction.OUTBOUND,
    )


def read_envelope(payload: Mapping[str, Any]) -> Envelope:
    """Check the envelope's required fields and read the optional ones.

    Raises:
        ProtocolError: naming the missing or malformed field.
    """
    if not isinstance(payload, Mapping):
        raise ProtocolError(f"body: must be a JSON object, not {_json_kind(payload)}")
    trace_id = _loose_str(payload.get("trace_id"))
    try:
        event_type = require_str(payload, "event_type", path="")
        event_id = require_str(payload, "event_id", path="")
        created_at = require_datetime(payload, "created_at", path="")
        if "data" not in payload:
            raise ProtocolError("data: is required")
    except ProtocolError as exc:
        raise ProtocolError(f"not a Linq webhook envelope: {exc}", trace_id=trace_id) from None
    return Envelope(
        event_type=event_type,
        event_id=event_id,
        created_at=created_at,
        data=payload["data"],
        webhook_version=_loose_str(payload.get("webhook_version")),
        api_version=_loose_str(payload.get("api_version")),
        trace_id=trace_id,
        partner_id=_loose_str(payload.get("partner_id")),
    )


def parse_envelope(payload: Mapping[str, Any]) -> InboundEvent:
    """Turn one decoded delivery into a domain event; see the module docstring.

    Raises:
        ProtocolError: when ``payload`` is not an envelope. An unknown
            ``event_type``, or a known one whose data cannot be modelled, becomes
            an ``UnknownEvent`` instead.
    """
    envelope = read_envelope(payload)
    context = EventContext(
        event_type=envelope.event_type,
        event_id=envelope.event_id,
        occurred_at=envelope.created_at,
        webhook_version=envelope.webhook_version,
        payload=payload,
    )
    parser = _PARSERS.get(envelope.event_type)
    if parser is None:
        return _unknown(context, envelope.data)
    try:
        if not isinstance(envelope.data, Mapping):
            raise ProtocolError(f"data: must be an object, not {_json_kind(envelope.data)}")
        return parser(context, envelope.data)
    except (ProtocolError, ValidationError) as exc:
        # A verified delivery of a known type whose data we cannot model (a short-code
        # sender, a newer shape): hand it over raw rather than refuse it, because a
        # refused delivery is a lost message once Linq stops retrying.
        return _unknown(context, envelope.data, problem=str(exc))


def _unknown(context: EventContext, data: object, problem: str | None = None) -> UnknownEvent:
    conversation_id: str | None = None
    if isinstance(data, Mapping):
        try:
            conversation_id = conversation_id_of(data)
        except ProtocolError:
            conversation_id = None  # an odd chat id must not stop an unknown event
    return UnknownEvent(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        event_type=context.event_type,
        payload=context.payload,
        conversation_id=conversation_id,
        problem=problem,
    )


def _require_conversation_id(data: Mapping[str, Any]) -> str:
    conversation_id = conversation_id_of(data)
    if conversation_id is None:
        raise ProtocolError("data.chat_id: is required")
    return conversation_id


def _optional_handle(data: Mapping[str, Any], *keys: str) -> Handle | None:
    """The first of ``keys`` present, as a handle (an object or a bare string)."""
    for key in keys:
        if data.get(key) is not None:
            return handle_from_wire(data[key], field=f"data.{key}")
    return None


def _reaction(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    part_index = optional_int(data, "part_index", path="data") or 0
    if part_index < 0:
        raise ProtocolError("data.part_index: must not be negative")
    # ``poll.reaction.added`` has the same shape (Linq's reaction event base).
    event_class = ReactionRemoved if context.event_type == "reaction.removed" else ReactionAdded
    sticker = data.get("sticker")
    sticker_url = sticker.get("url") if isinstance(sticker, Mapping) else None
    return event_class(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=_require_conversation_id(data),
        message_id=require_str(data, "message_id", path="data"),
        reaction=reaction_from_wire(
            data.get("reaction_type"), data.get("custom_emoji"), field="data.reaction_type"
        ),
        actor=_optional_handle(data, "from_handle", "from"),
        part_index=part_index,
        is_from_me=optional_bool(data, "is_from_me", path="data") or False,
        # ``reaction_id`` is new; older deliveries name the reaction ``id``.
        reaction_id=_loose_str(data.get("reaction_id")) or _loose_str(data.get("id")),
        sticker_url=_loose_str(sticker_url),
    )


def _participant(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    handle = _optional_handle(data, "participant", "handle")
    if handle is None:
        raise ProtocolError("data.participant (or data.handle): is required")
    event_class = (
        ParticipantAdded if context.event_type == "participant.added" else ParticipantRemoved
    )
    return event_class(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=_require_conversation_id(data),
        handle=handle,
    )


def _chat_created(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    conversation_id = require_str(data, "id", path="data")
    participants: list[Handle] = []
    for index, raw in enumerate(require_list(data, "handles", path="data")):
        # Our own line is not a participant, as in ``Transport.start_conversation``.
        if isinstance(raw, Mapping) and raw.get("is_me") is True:
            continue
        participants.append(handle_from_wire(raw, field=f"data.handles[{index}]"))
    is_group = optional_bool(data, "is_group", path="data")
    conversation = Conversation(
        id=conversation_id,
        participants=participants,
        is_group=len(participants) > 1 if is_group is None else is_group,
        service=service_from_wire(data.get("service")),
        display_name=optional_str(data, "display_name", path="data"),
        health=health_of_chat(data),
    )
    return ConversationCreated(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=conversation_id,
        conversation=conversation,
    )


def _group_update(change: str, *, failed: bool) -> _Parser:
    def parse(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
        return ConversationUpdated(
            event_id=context.event_id,
            occurred_at=context.occurred_at,
            conversation_id=_require_conversation_id(data),
            change=change,
            value=None if failed else optional_str(data, "new_value", path="data"),
            failed=failed,
        )

    return parse


def _typing(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    event_class = (
        TypingStarted if context.event_type == "chat.typing_indicator.started" else TypingStopped
    )
    return event_class(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=_require_conversation_id(data),
        handle=_optional_handle(data, "actor_handle", "from_handle", "handle"),
    )


def _phone_number_status(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    return LineStatusChanged(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        line=handle_from_wire(data.get("phone_number"), field="data.phone_number"),
        status=_enum_or_none(LineStatus, data.get("new_status")),
        reputation=_enum_or_none(LineReputation, data.get("new_reputation")),
        previous_status=_enum_or_none(LineStatus, data.get("previous_status")),
        previous_reputation=_enum_or_none(LineReputation, data.get("previous_reputation")),
    )


def _contact_card_received(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    owner = data.get("owner_handle")
    return ContactCardReceived(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        person=handle_from_wire(data.get("sender_handle"), field="data.sender_handle"),
        first_name=optional_str(data, "first_name", path="data") or "",
        last_name=optional_str(data, "last_name", path="data") or None,
        media_url=optional_str(data, "media_url", path="data"),
        line=None if owner is None else handle_from_wire(owner, field="data.owner_handle"),
        conversation_id=conversation_id_of(data),
    )


def _webhook_subscription(change: str) -> _Parser:
    def parse(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
        subscription = optional_mapping(data, "webhook_subscription", path="data") or {}
        return WebhookSubscriptionChanged(
            event_id=context.event_id,
            occurred_at=context.occurred_at,
            subscription_id=require_str(subscription, "id", path="data.webhook_subscription"),
            enabled=change == "enabled",
            change=change,
            target_url=_loose_str(subscription.get("target_url")),
        )

    return parse


def _enum_or_none(kind: type[_E], value: object) -> _E | None:
    """A wire word as ``kind`` (any case), or ``None`` when absent or not one we know."""
    if not isinstance(value, str):
        return None
    try:
        return kind(value.upper())
    except ValueError:
        return None


_PARSERS: dict[str, _Parser] = {
    "message.received": parse_message_event,
    "message.sent": parse_message_event,
    "message.delivered": parse_message_status,
    "message.read": parse_message_status,
    "message.failed": parse_message_failed,
    "message.edited": parse_message_edited,
    "reaction.added": _reaction,
    "reaction.removed": _reaction,
    "participant.added": _participant,
    "participant.removed": _participant,
    "chat.created": _chat_created,
    "chat.group_name_updated": _group_update("name", failed=False),
    "chat.group_icon_updated": _group_update("icon", failed=False),
    "chat.group_name_update_failed": _group_update("name", failed=True),
    "chat.group_icon_update_failed": _group_update("icon", failed=True),
    "chat.typing_indicator.started": _typing,
    "chat.typing_indicator.stopped": _typing,
    "phone_number.status_updated": _phone_number_status,
    **POLL_PARSERS,
    "poll.reaction.added": _reaction,
    "contact_card.received": _contact_card_received,
    "webhook_subscription.disabled": _webhook_subscription("disabled"),
    "webhook_subscription.enabled": _webhook_subscription("enabled"),
    "webhook_subscription.deleted": _webhook_subscription("deleted"),
}

KNOWN_EVENT_TYPES = frozenset(_PARSERS)
"""The event types parsed into typed domain events; every other type (see
:data:`~adapters.linq.event_types.ALL_EVENT_TYPES`) parses as ``UnknownEvent``."""


def _loose_str(value: object) -> str | None:
    """Optional envelope metadata: a string, or ``None`` for anything else."""
    return value if isinstance(value, str) and value else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


# Workers in this process decode Linq deliveries through this; other processes
# find it through the package's entry point (``caresupport_transport.deliveries``).
register_delivery_source(DELIVERY_SOURCE, parse_delivery_text)
