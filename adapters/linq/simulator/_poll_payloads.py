"""Poll events from the World as Linq's ``poll.*`` webhook payloads (section 6 shapes).

Both payload versions get the same shape (Linq's SDK models only one). A poll's
delivery statuses become ``poll.sent|delivered|read|failed`` with a snapshot
of the poll; votes ``poll.vote.added|removed`` (``sender_handle`` is the
voter; no snapshot); added options ``poll.updated`` (``sender_handle`` is our
line, ``added_options`` only the new ones); someone else's poll ``poll.received``.
"""

from __future__ import annotations

from typing import Any

from adapters.linq.simulator import _wire
from adapters.linq.simulator._poll_json import handle_json, option_json, poll_json, updated_at
from adapters.linq.simulator.state import Backend, LineEvent
from adapters.memory.world import World
from caresupport_transport.events import (
    MessageStatusChanged,
    PollOptionsAdded,
    PollReceived,
    PollVoteAdded,
    PollVoteRemoved,
)
from caresupport_transport.model import DeliveryStatus, Message
from caresupport_transport.polls import Poll

__all__ = ["poll_payload"]

JSON = dict[str, Any]
_STATUS_TYPES = {
    DeliveryStatus.SENT: "poll.sent",
    DeliveryStatus.DELIVERED: "poll.delivered",
    DeliveryStatus.READ: "poll.read",
    DeliveryStatus.FAILED: "poll.failed",
}


def _common(backend: Backend, line: str, world: World, poll: Poll, message: Message) -> JSON:
    conversation = world.conversation(poll.conversation_id)
    return {
        "chat": _wire.event_chat_json(backend, line, world, conversation, health=False),
        "direction": _wire.direction_label(message.direction),
        "message_id": poll.id,
        "service": _wire.service_label(message.service),
        "zero_retention": False,
    }


def poll_payload(backend: Backend, item: LineEvent) -> tuple[str, JSON] | None:
    """``(event_type, data)`` when the event is about a poll, else ``None``."""
    line, event = item.line, item.event
    world = backend.lines[line]
    at = _wire.iso(event.occurred_at)
    if isinstance(event, MessageStatusChanged) and event.message_id in world.polls:
        poll = world.polls[event.message_id]
        message = world.messages[poll.id]
        data = {
            **_common(backend, line, world, poll, message),
            "poll": poll_json(backend, line, world, poll),
            "created_at": _wire.iso(message.created_at),
            "updated_at": _wire.iso(updated_at(world, poll)),
        }
        if event.status is DeliveryStatus.FAILED:
            data.update(
                sender_handle=None,
                error={"code": 3007, "message": event.reason or "delivery failed"},
                failed_at=at,
            )
        else:
            reached = event.status.rank
            data.update(
                sender_handle=handle_json(backend, line, world, poll.conversation_id, world.owner),
                sent_at=_wire.iso_or_none(message.sent_at),
                delivered_at=(
                    _wire.iso_or_none(message.delivered_at)
                    if reached >= DeliveryStatus.DELIVERED.rank
                    else None
                ),
                read_at=_wire.iso_or_none(message.read_at)
                if event.status is DeliveryStatus.READ
                else None,
            )
        return _STATUS_TYPES[event.status], data
    if isinstance(event, PollReceived):
        poll = world.polls[event.poll.id]
        message = world.messages[poll.id]
        sender = poll.creator or world.owner
        received = {
            **_common(backend, line, world, poll, message),
            "poll": poll_json(backend, line, world, event.poll),
            "received_at": at,
            "created_at": _wire.iso(message.created_at),
            "updated_at": _wire.iso(message.created_at),
            "sender_handle": handle_json(backend, line, world, poll.conversation_id, sender),
        }
        return "poll.received", received
    if isinstance(event, PollOptionsAdded):
        poll = world.polls[event.poll_id]
        message = world.messages[poll.id]
        updated = {
            **_common(backend, line, world, poll, message),
            "added_options": [
                option_json(backend, line, world, poll, option, texts=True)
                for option in event.options
            ],
            "sender_handle": handle_json(backend, line, world, poll.conversation_id, world.owner),
            "updated_at": at,
        }
        return "poll.updated", updated
    if isinstance(event, PollVoteAdded | PollVoteRemoved):
        poll = world.polls[event.poll_id]
        message = world.messages[poll.id]
        vote = {
            **_common(backend, line, world, poll, message),
            "option_id": event.option_id,
            "sender_handle": handle_json(backend, line, world, poll.conversation_id, event.voter),
            "voted_at": at,
        }
        added = isinstance(event, PollVoteAdded)
        return ("poll.vote.added" if added else "poll.vote.removed"), vote
    return None
