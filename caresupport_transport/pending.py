"""Pending conversations: the 1:1 conversation with someone before its first message.

Providers create a chat only together with its first message (Linq does, and
so does the in-memory World as the memory provider uses it), and a blank
message is not an option in care messaging. So ``conversation_for(handle)``,
when no 1:1 chat with ``handle`` exists, answers a *pending* conversation whose
id is ``pending:<handle>``. The id is stateless (the handle is in it), so it
survives a restart; a provider looks for the real chat again whenever it is
used, and the first send creates it. These helpers are the id's one spelling;
how a provider finds the real chat is its own.
"""

from __future__ import annotations

from caresupport_transport.errors import InvalidHandleError, ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation

__all__ = ["PENDING_PREFIX", "handle_of", "is_pending", "pending_conversation"]

PENDING_PREFIX = "pending:"


def is_pending(conversation_id: str) -> bool:
    """Whether ``conversation_id`` names a 1:1 chat that did not exist when it was handed out."""
    return conversation_id.startswith(PENDING_PREFIX)


def pending_conversation(handle: Handle) -> Conversation:
    """The conversation with ``handle`` before its first message: nobody has seen it yet."""
    return Conversation(
        id=f"{PENDING_PREFIX}{handle.value}", participants=(handle,), is_group=False
    )


def handle_of(conversation_id: str) -> Handle:
    """The handle named by a pending id.

    Raises:
        ValidationError: the rest of the id is not a handle.
    """
    try:
        return Handle(conversation_id.removeprefix(PENDING_PREFIX))
    except InvalidHandleError:
        raise ValidationError(
            "conversation_id", f"{conversation_id!r} is not 'pending:' and a handle"
        ) from None
