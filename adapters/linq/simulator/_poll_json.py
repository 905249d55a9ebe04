"""Polls as Linq writes them: the ``poll`` object, its options, and the REST envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.linq.simulator import _wire
from adapters.linq.simulator.state import Backend
from adapters.memory.world import World
from caresupport_transport.handles import Handle
from caresupport_transport.polls import Poll, PollOption

__all__ = ["handle_json", "option_json", "poll_envelope_json", "poll_json", "updated_at"]

JSON = dict[str, Any]


def handle_json(backend: Backend, line: str, world: World, chat_id: str, handle: Handle) -> JSON:
    conversation = world.conversation(chat_id)
    is_me = handle == world.owner
    return _wire.handle_json(
        backend,
        chat_id,
        Handle(line) if is_me else handle,
        service=conversation.service,
        is_me=is_me,
        joined_at=world.joined_at(chat_id, handle) if not is_me else world.created_at(chat_id),
    )


def option_json(
    backend: Backend, line: str, world: World, poll: Poll, option: PollOption, *, texts: bool
) -> JSON:
    """One option; ``texts=False`` blanks the text, as a zero-retention line does."""
    creator = option.creator or world.owner
    return {
        "option_id": option.id,
        "text": option.text if texts else "",
        "creator_handle": handle_json(backend, line, world, poll.conversation_id, creator),
        "can_be_edited": False,
        "voters": [
            {"handle": vote.voter.value, "voted_at": _wire.iso_or_none(vote.voted_at)}
            for vote in option.votes
        ],
    }


def poll_json(backend: Backend, line: str, world: World, poll: Poll, *, texts: bool = True) -> JSON:
    """``{options[], total_voters}``."""
    return {
        "options": [
            option_json(backend, line, world, poll, option, texts=texts) for option in poll.options
        ],
        "total_voters": poll.total_voters,
    }


def updated_at(world: World, poll: Poll) -> datetime:
    """When the poll last changed: its newest vote, else when it was sent."""
    created = world.message(poll.id).created_at
    voted = [v.voted_at for o in poll.options for v in o.votes if v.voted_at is not None]
    return max([created, *voted])


def poll_envelope_json(backend: Backend, line: str, world: World, poll: Poll) -> JSON:
    """What every poll operation answers."""
    return {
        "chat_id": poll.conversation_id,
        "message_id": poll.id,
        "created_at": _wire.iso(world.message(poll.id).created_at),
        "updated_at": _wire.iso(updated_at(world, poll)),
        "poll": poll_json(backend, line, world, poll),
        "reactions": [],
    }
