"""Corrections of sent messages: the edit limits and the correction text. Pure; no I/O.

The limits are the provider's (Linq's: at most 5 edits per message, within 15
minutes of sending, iMessage only). The in-memory ``World`` enforces them with
:func:`edit_refusal`, so the fake, the simulator standing on it and the shared
``ProviderTransport`` agree on when an edit is refused and why. Where a message
cannot be edited, ``Transport.correct_message`` sends :func:`correction_text`
instead, a new message after (or, on iMessage, replying to) the original.
"""

from __future__ import annotations

from datetime import datetime

from caresupport_transport import limits
from caresupport_transport.capabilities import Service, capabilities_of
from caresupport_transport.model import Message

__all__ = [
    "CORRECTION_PREFIX",
    "EDIT_COUNT_RULE",
    "EDIT_WINDOW_RULE",
    "correction_text",
    "edit_refusal",
    "no_edits_rule",
]

CORRECTION_PREFIX = "Correction: "
"""What a correction sent as a new message starts with."""

EDIT_COUNT_RULE = f"a message can be edited at most {limits.MAX_EDITS_PER_MESSAGE} times"
EDIT_WINDOW_RULE = (
    f"a message can be edited only within {int(limits.EDIT_WINDOW.total_seconds() // 60)} "
    "minutes of sending"
)


def no_edits_rule(service: Service) -> str:
    """The reason a message on ``service`` cannot be edited at all."""
    return f"{service.label} cannot edit a sent message"


def correction_text(text: str) -> str:
    """``Correction: take 1 pill``: the corrected text as a message of its own."""
    return CORRECTION_PREFIX + text


def edit_refusal(message: Message, *, edits_made: int, now: datetime) -> str | None:
    """The rule an edit of ``message`` would break now, or ``None`` if it may be edited.

    Args:
        message: the message as it stands (its service, and ``created_at``: when
            it was sent).
        edits_made: how many times it was edited already.
        now: the provider's clock.
    """
    if message.service is None or not capabilities_of(message.service).edits:
        return no_edits_rule(message.service or Service.SMS)
    if edits_made >= limits.MAX_EDITS_PER_MESSAGE:
        return EDIT_COUNT_RULE
    if now - message.created_at > limits.EDIT_WINDOW:
        return EDIT_WINDOW_RULE
    return None
