"""Twilio's wire values to domain values and back (the adapter's one converter).

Rules: a conversation is the thread between our number and one other number,
``sms:<E.164>``; an outbound message's other party is ``to``, an inbound one's
``from``; Twilio's statuses map ``queued/accepted/scheduled/sending`` ->
``QUEUED``, ``sent`` -> ``SENT``, ``delivered``/``received`` -> ``DELIVERED``,
``read`` -> ``READ``, ``undelivered``/``failed``/``canceled`` -> ``FAILED``;
an outgoing message's parts become one ``Body`` (text parts and links joined
by a blank line) and ``MediaUrl``\\ s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from adapters.twilio.wire_message import TwilioMessage
from caresupport_transport.capabilities import Service
from caresupport_transport.content import LinkPart, MediaPart, OutgoingMessage, Part, TextPart
from caresupport_transport.errors import NotFoundError
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, DeliveryStatus, Direction, Message

CONVERSATION_PREFIX = "sms:"

_STATUSES = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "received": DeliveryStatus.DELIVERED,
    "receiving": DeliveryStatus.QUEUED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def status_of(twilio_status: str) -> DeliveryStatus:
    """The domain status of a Twilio status (an unknown one counts as queued)."""
    return _STATUSES.get(twilio_status.lower(), DeliveryStatus.QUEUED)


def conversation_id_for(handle: Handle) -> str:
    return f"{CONVERSATION_PREFIX}{handle.value}"


def conversation_with(handle: Handle) -> Conversation:
    return Conversation(conversation_id_for(handle), (handle,), False, service=Service.SMS)


def handle_in(conversation_id: str) -> Handle:
    """The other number of an ``sms:`` conversation; ``NotFoundError`` for any other id."""
    if not conversation_id.startswith(CONVERSATION_PREFIX):
        raise NotFoundError(f"conversation {conversation_id!r} not found", status=404)
    try:
        return Handle(conversation_id.removeprefix(CONVERSATION_PREFIX))
    except ValueError:
        raise NotFoundError(f"conversation {conversation_id!r} not found", status=404) from None


def other_party(message: TwilioMessage) -> str:
    return message.to if message.outbound else (message.from_ or "")


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def to_domain(
    message: TwilioMessage, line: Handle | None, media: Sequence[tuple[str, str]] = ()
) -> Message:
    """A Message resource as a domain message, with its ``(content type, URL)`` media."""
    other = Handle(other_party(message))
    status = status_of(message.status)
    created = _utc(message.date_created) or datetime.now(UTC)
    sent = _utc(message.date_sent)
    sender = (line or Handle(message.from_ or other.value)) if message.outbound else other
    parts: tuple[Part, ...] = (TextPart(message.body),) if message.body else ()
    parts = (
        *parts,
        *(MediaPart(url=url, content_type=kind or None, received=True) for kind, url in media),
    )
    return Message(
        message.sid,
        conversation_id_for(other),
        Direction.OUTBOUND if message.outbound else Direction.INBOUND,
        sender,
        parts,
        Service.SMS,
        status,
        created,
        sent_at=sent,
        delivered_at=_utc(message.date_updated)
        if status in (DeliveryStatus.DELIVERED, DeliveryStatus.READ)
        else None,
    )


def body_and_media(message: OutgoingMessage) -> tuple[str, tuple[str, ...]]:
    """The ``Body`` and ``MediaUrl``\\ s of one outgoing message.

    Raises:
        NotFoundError: a media part given by attachment id (Twilio fetches
            media from a public URL; it stores no uploads).
    """
    texts: list[str] = []
    media: list[str] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif isinstance(part, LinkPart):
            texts.append(part.url)
        elif isinstance(part, MediaPart):
            if part.url is None:
                # Twilio keeps no uploads, so no attachment id names anything there.
                raise NotFoundError(
                    f"attachment {part.attachment_id!r} not found: Twilio sends media by URL",
                    status=404,
                )
            media.append(part.url)
    return "\n\n".join(texts), tuple(media)
