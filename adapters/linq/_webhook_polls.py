"""Linq ``poll.*`` webhook payloads to domain events.

Every poll event but ``poll.reaction.added`` carries ``chat {id, ...}``,
``direction``, ``message_id`` (the poll-definition message's id: the domain's
poll id) and ``service``. What each becomes:

- ``poll.sent``, ``poll.delivered``, ``poll.read``: ``MessageStatusChanged`` of
  the poll message (``SENT``, ``DELIVERED``, ``READ``);
- ``poll.failed``: ``MessageStatusChanged(FAILED)`` with ``error.code`` and
  ``error.message`` (``error.code`` here, where ``message.failed`` has ``code``);
- ``poll.received``: ``PollReceived``, its creator the ``sender_handle``;
- ``poll.updated``: ``PollOptionsAdded`` with ``added_options`` (only the new
  ones; their ``creator_handle`` says who added them, since ``sender_handle``
  is our own line);
- ``poll.vote.added``, ``poll.vote.removed``: ``PollVoteAdded``,
  ``PollVoteRemoved``; ``sender_handle`` is the voter. Linq sends only the
  option id: the transport adds the option's text from the poll on the way to
  the care logic;
- ``poll.reaction.added``: ``ReactionAdded`` on the poll message (there is no
  ``poll.reaction.removed``), read by ``reaction.added``'s parser in
  ``webhook_events`` (Linq gives both one shape).

Option texts are empty on a zero-day-retention line for our own polls; they
are kept as Linq sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adapters.linq._fields import (
    optional_int,
    optional_mapping,
    optional_str,
    require_list,
    require_mapping,
    require_str,
)
from adapters.linq._poll_domain import poll_from_json, poll_options_from_json
from adapters.linq._to_domain import handle_from_wire, service_from_wire
from adapters.linq._webhook_messages import EventContext, conversation_id_of
from caresupport_transport.errors import ProtocolError
from caresupport_transport.events import (
    InboundEvent,
    MessageStatusChanged,
    PollOptionsAdded,
    PollReceived,
    PollVoteAdded,
    PollVoteRemoved,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import DeliveryStatus
from caresupport_transport.polls import Poll

__all__ = ["POLL_PARSERS"]

_STATUSES = {
    "poll.sent": DeliveryStatus.SENT,
    "poll.delivered": DeliveryStatus.DELIVERED,
    "poll.read": DeliveryStatus.READ,
}


def _chat_id(data: Mapping[str, Any]) -> str:
    chat_id = conversation_id_of(data)
    if chat_id is None:
        raise ProtocolError("data.chat.id: is required")
    return chat_id


def _sender(data: Mapping[str, Any]) -> Handle:
    return handle_from_wire(data.get("sender_handle"), field="data.sender_handle")


def _status(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    return MessageStatusChanged(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=_chat_id(data),
        message_id=require_str(data, "message_id", path="data"),
        status=_STATUSES[context.event_type],
        service=service_from_wire(data.get("service")),
    )


def _failed(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    error = optional_mapping(data, "error", path="data") or {}
    return MessageStatusChanged(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=_chat_id(data),
        message_id=require_str(data, "message_id", path="data"),
        status=DeliveryStatus.FAILED,
        service=service_from_wire(data.get("service")),
        error_code=optional_int(error, "code", path="data.error"),
        reason=optional_str(error, "message", path="data.error"),
    )


def _received(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    chat_id = _chat_id(data)
    sender = _sender(data)
    poll = Poll(
        id=require_str(data, "message_id", path="data"),
        conversation_id=chat_id,
        options=poll_from_json(require_mapping(data, "poll", path="data"), path="data.poll"),
        creator=sender,
    )
    return PollReceived(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=chat_id,
        poll=poll,
    )


def _updated(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    return PollOptionsAdded(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=_chat_id(data),
        poll_id=require_str(data, "message_id", path="data"),
        options=poll_options_from_json(
            require_list(data, "added_options", path="data"), path="data.added_options"
        ),
    )


def _vote(context: EventContext, data: Mapping[str, Any]) -> InboundEvent:
    event_class = PollVoteAdded if context.event_type == "poll.vote.added" else PollVoteRemoved
    return event_class(
        event_id=context.event_id,
        occurred_at=context.occurred_at,
        conversation_id=_chat_id(data),
        poll_id=require_str(data, "message_id", path="data"),
        option_id=require_str(data, "option_id", path="data"),
        voter=_sender(data),
    )


POLL_PARSERS: dict[str, Callable[[EventContext, Mapping[str, Any]], InboundEvent]] = {
    "poll.received": _received,
    "poll.failed": _failed,
    "poll.sent": _status,
    "poll.delivered": _status,
    "poll.read": _status,
    "poll.updated": _updated,
    "poll.vote.added": _vote,
    "poll.vote.removed": _vote,
}
"""Event type -> parser, merged into the webhook parser's table (``poll.reaction.added``
has the shape of ``reaction.added``, and its parser: ``webhook_events``)."""
