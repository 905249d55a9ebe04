"""What Linq answers about polls: the poll envelope every poll operation returns.

``{chat_id, message_id, created_at, updated_at, poll {options[] {option_id,
text, creator_handle, can_be_edited, voters[] {handle, voted_at}},
total_voters}, reactions[]}``. ``message_id`` is the poll-definition message's
id, the one the other poll operations take. Option texts are empty on a
zero-day-retention line for our own polls. Handles are kept as Linq sends them
(a string or a ChatHandle object) and read into domain handles by the adapter.
Unknown keys are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = ["PollDetails", "PollEnvelope", "PollOptionInfo", "PollVoter"]


@attrs.frozen
class PollVoter:
    """One vote: who (``handle``, a string or a ChatHandle object) and when."""

    handle: Any
    voted_at: datetime | None = None


@attrs.frozen
class PollOptionInfo:
    option_id: str
    text: str
    creator_handle: Any = None
    can_be_edited: bool | None = None
    voters: tuple[PollVoter, ...] = ()


@attrs.frozen
class PollDetails:
    """The poll itself: its options in order, and how many distinct people voted."""

    options: tuple[PollOptionInfo, ...]
    total_voters: int = 0


@attrs.frozen
class PollEnvelope:
    """The answer of every poll operation."""

    chat_id: str
    message_id: str
    poll: PollDetails
    created_at: datetime | None = None
    updated_at: datetime | None = None
    reactions: tuple[Any, ...] = ()
