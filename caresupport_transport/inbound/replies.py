"""``reply_key(event, label)``: the idempotency key of a reply, derived from the event.

A worker can die after the care logic sent its reply and before the inbox
recorded the event as handled; the event is then handled again. When the reply
is sent under ``reply_key(event, "answer")``, the second send carries the same
key as the first, and the provider (Linq, the in-memory adapter, the simulator)
answers with the message it already created instead of texting the person
twice.
"""

from __future__ import annotations

import hashlib

from caresupport_transport.errors import ValidationError
from caresupport_transport.events import InboundEvent, MessageReceived

__all__ = ["keyed_reply", "reply_key", "reply_source"]

_MAX_LABEL_CHARS = 200


def reply_key(event: InboundEvent, label: str = "reply") -> str:
    """The idempotency key for the reply called ``label`` to ``event``; the same every time.

    A received message is keyed by the message's id, so the same message
    arriving by webhook and by polling yields one key; any other event by its
    event id. Different labels (``"answer"``, ``"reminder-ack"``) give different
    keys, for a handler that sends several messages. The key is 38 printable
    ASCII characters (a digest: it says nothing about the event), so the
    transport can still derive its split-bubble keys from it.

    Raises:
        ValidationError: ``label`` is not a non-empty string of at most 200 characters.
    """
    return keyed_reply(reply_source(event), label)


def reply_source(event: InboundEvent) -> str:
    """What identifies ``event`` for a reply key: its message's id, or its event id."""
    if isinstance(event, MessageReceived):
        return f"message:{event.message.id}"
    return f"event:{event.event_id}"


def keyed_reply(source: str, label: str) -> str:
    """The reply key of ``label`` for ``source`` (one event's, or a turn's, identity).

    Raises:
        ValidationError: ``label`` is not a non-empty string of at most 200 characters.
    """
    if not isinstance(label, str) or not label or len(label) > _MAX_LABEL_CHARS:
        raise ValidationError("label", f"must be 1 to {_MAX_LABEL_CHARS} characters")
    digest = hashlib.sha256(f"{source}\x00{label}".encode("utf-8", "surrogatepass"))
    return f"reply-{digest.hexdigest()[:32]}"
