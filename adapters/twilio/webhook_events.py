"""Twilio's form-encoded webhooks as domain events.

Two kinds arrive: an *inbound message* (``SmsStatus=received``, ``From``,
``To``, ``Body``, ``NumMedia`` and ``MediaUrl<n>`` / ``MediaContentType<n>``)
and a *status callback* (``MessageStatus`` with ``MessageSid``, and
``ErrorCode`` when it failed). Anything else becomes ``UnknownEvent``. Twilio
sends no timestamp and no event id: the event id is the message SID (inbound)
or ``<SID>:<status>`` (a status), so a retried delivery de-duplicates in the
inbox; the time is the receiver's clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from adapters.twilio._convert import conversation_id_for, status_of
from caresupport_transport.capabilities import Service
from caresupport_transport.content import MediaPart, Part, TextPart
from caresupport_transport.errors import ValidationError
from caresupport_transport.events import (
    InboundEvent,
    MessageReceived,
    MessageStatusChanged,
    UnknownEvent,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import DeliveryStatus, Direction, Message

__all__ = ["event_from_form"]


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def event_from_form(pairs: Sequence[tuple[str, str]], now: datetime) -> InboundEvent:
    """The domain event one verified webhook carries (``UnknownEvent`` when unknown)."""
    form: Mapping[str, str] = dict(pairs)
    sid = form.get("MessageSid") or form.get("SmsSid")
    try:
        if sid and "MessageStatus" in form and form.get("To"):
            return _status(form, sid, now)
        if sid and form.get("From") and form.get("SmsStatus", "received") == "received":
            return _received(form, sid, now)
    except ValidationError:
        pass  # a number or URL that is not one: kept, not refused
    return UnknownEvent(sid or "twilio-unknown", now, "twilio.webhook", {k: v for k, v in pairs})


def _status(form: Mapping[str, str], sid: str, now: datetime) -> MessageStatusChanged:
    status = status_of(form["MessageStatus"])
    failed = status is DeliveryStatus.FAILED
    return MessageStatusChanged(
        f"{sid}:{form['MessageStatus']}",
        now,
        conversation_id_for(Handle(form["To"])),
        sid,
        status,
        service=Service.SMS,
        error_code=_int(form.get("ErrorCode")) if failed else None,
        reason=form.get("ErrorMessage") or (form["MessageStatus"] if failed else None),
    )


def _received(form: Mapping[str, str], sid: str, now: datetime) -> MessageReceived:
    sender = Handle(form["From"])
    parts: list[Part] = []
    if form.get("Body"):
        parts.append(TextPart(form["Body"]))
    for index in range(_int(form.get("NumMedia")) or 0):
        url = form.get(f"MediaUrl{index}")
        if url:
            parts.append(
                MediaPart(url=url, content_type=form.get(f"MediaContentType{index}"), received=True)
            )
    conversation_id = conversation_id_for(sender)
    message = Message(
        sid,
        conversation_id,
        Direction.INBOUND,
        sender,
        tuple(parts),
        Service.SMS,
        DeliveryStatus.DELIVERED,
        now,
        sent_at=now,
        delivered_at=now,
    )
    return MessageReceived(sid, now, conversation_id, message)
