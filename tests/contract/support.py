"""Shared arrangements for the contract suite: people, messages and small helpers."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator, Sequence

from adapters.memory import RecipientKind
from caresupport_transport import (
    Conversation,
    DeliveryStatus,
    Handle,
    InboundEvent,
    MediaPart,
    Message,
    MessageStatusChanged,
    OutgoingMessage,
    TextPart,
    Transport,
)
from caresupport_transport.content import Part

from .harness import Harness

CAREGIVER = Handle("+16515550101")
"""On iMessage."""
DAUGHTER = Handle("+16515550102")
"""On RCS."""
GRANDSON = Handle("+16515550103")
"""SMS only."""
OLD_NUMBER = Handle("+16515550104")
"""Unreachable: every delivery fails."""
NURSE = Handle("+16515550105")
"""On iMessage."""
NEIGHBOUR = Handle("+16515550106")
"""On iMessage."""
AUNT = Handle("+16515550107")
"""On iMessage."""

SETTLE = 600.0
"""Seconds after which every delivery has reached its final status."""

HELLO = OutgoingMessage.of_text("Hi, this is CareSupport for the Lindqvist family.")


def arrange(harness: Harness) -> None:
    """Register the cast above with their kinds."""
    for handle, kind in (
        (CAREGIVER, RecipientKind.IMESSAGE),
        (DAUGHTER, RecipientKind.RCS),
        (GRANDSON, RecipientKind.SMS_ONLY),
        (OLD_NUMBER, RecipientKind.UNREACHABLE),
        (NURSE, RecipientKind.IMESSAGE),
        (NEIGHBOUR, RecipientKind.IMESSAGE),
        (AUNT, RecipientKind.IMESSAGE),
    ):
        harness.add_recipient(handle, kind)


async def start(transport: Transport, *people: Handle) -> Conversation:
    started = await transport.start_conversation(list(people), HELLO)
    return started.conversation


async def collect_conversations(transport: Transport, page_size: int = 50) -> list[Conversation]:
    return [c async for c in transport.conversations(page_size=page_size)]


async def history(transport: Transport, conversation_id: str, page_size: int = 50) -> list[Message]:
    return [m async for m in transport.messages(conversation_id, page_size=page_size)]


async def drain(iterator: AsyncIterator[object]) -> list[object]:
    return [item async for item in iterator]


def statuses_of(events: Sequence[InboundEvent], message_id: str) -> list[DeliveryStatus]:
    return [
        e.status
        for e in events
        if isinstance(e, MessageStatusChanged) and e.message_id == message_id
    ]


def _media_kind(part: MediaPart) -> str:
    content_type = part.content_type or mimetypes.guess_type(part.filename or part.url or "")[0]
    return content_type.split("/", 1)[0] if content_type else "unknown"


def outline(parts: Sequence[Part]) -> list[tuple[str, str]]:
    """What a message carries, provider-neutrally: text as sent, media by kind.

    A provider hands media back under its own download URL, name and content
    type (``audio/m4a`` may come back as ``audio/mp4``), so media compares by
    its kind (``image``, ``audio``): ``[("text", "Chart"), ("media", "image")]``.
    """
    return [
        ("text", part.text) if isinstance(part, TextPart) else ("media", _media_kind(part))
        for part in parts
    ]
