"""What the console's buttons do: ``POST /console/api/{action}`` with a JSON body.

``send``      ``{"from", "chat_id"?, "text"?, "media_url"?}``: a person writes (STOP too)
``tapback``   ``{"from", "message_id", "type", "emoji"?}``: a person reacts to a message
``typing``    ``{"from", "chat_id", "typing"}``
``person``    ``{"handle", "kind"}``: someone new, reachable by iMessage, RCS, SMS or not at all
``advance``   ``{"seconds"}``: move every line's clock on
``fault``     ``{"name", "on"}``: a fault switch (see :data:`FAULT_SWITCHES`)
``redeliver`` ``{"index"}``: send a logged webhook delivery again (same event id)
``inbox_replay`` ``{"id"}``: put a dead letter of the inbox store back in line
``outbox_retry`` ``{"id"}``: queue a failed outbox intent again

Each goes through the same :class:`Simulator` methods a test uses, so what
happens reaches the receiver as the signed webhook Linq would send. Bad input
is a ``ValidationError(field, rule)`` before anything changes.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

from adapters.linq.simulator.console.stores import replay_dead_letter, retry_intent
from adapters.memory.recipients import RecipientKind
from caresupport_transport.content import MediaPart, Part, Reaction, ReactionKind, TextPart
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle

if TYPE_CHECKING:
    from adapters.linq.simulator.console.console import Console

__all__ = ["ACTIONS", "FAULT_SWITCHES", "MAX_ADVANCE_SECONDS"]

FAULT_SWITCHES: dict[str, tuple[str, float]] = {
    "429": ("rate_429", 0.3),
    "5xx": ("rate_500", 0.3),
    "drop": ("rate_drop", 0.3),
    "webhook_drop": ("webhook_drop_rate", 0.5),
    "duplicate": ("webhook_duplicate_rate", 0.5),
    "reorder": ("webhook_reorder_rate", 0.5),
}
"""Switch name -> the :class:`Faults` rate it sets, and to what, while on."""
MAX_ADVANCE_SECONDS = 7 * 24 * 3600.0


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(name, "must be a non-empty string")
    return value


def _handle(body: dict[str, Any], name: str) -> Handle:
    value = _text(body, name)
    assert value is not None
    return Handle(value)


def _line_of(console: Console, chat_id: str) -> str:
    for line, world in console.simulator.backend.lines.items():
        if chat_id in world.conversations:
            return line
    raise ValidationError("chat_id", f"{chat_id!r} is not a chat of any line")


def _send(console: Console, body: dict[str, Any]) -> dict[str, Any]:
    sender = _handle(body, "from")
    text = _text(body, "text", required=False)
    media_url = _text(body, "media_url", required=False)
    chat_id = _text(body, "chat_id", required=False)
    parts: list[Part] = []
    if text is not None:
        parts.append(TextPart(text))
    if media_url is not None:
        content_type, _ = mimetypes.guess_type(media_url.split("?", 1)[0])
        parts.append(MediaPart(url=media_url, content_type=content_type, received=True))
    if not parts:
        raise ValidationError("text", "give a text, a media URL or both")
    line = _line_of(console, chat_id) if chat_id else None
    message = console.simulator.inject_inbound(sender, parts, line=line, conversation_id=chat_id)
    return {"message_id": message.id, "chat_id": message.conversation_id}


def _tapback(console: Console, body: dict[str, Any]) -> dict[str, Any]:
    sender = _handle(body, "from")
    message_id = _text(body, "message_id")
    assert message_id is not None
    try:
        kind = ReactionKind(body.get("type"))
    except ValueError:
        raise ValidationError("type", f"{body.get('type')!r} is not a tapback") from None
    emoji = _text(body, "emoji") if kind is ReactionKind.CUSTOM else None
    console.simulator.inject_reaction(sender, message_id, Reaction(kind, emoji))
    return {"message_id": message_id}


def _typing(console: Console, body: dict[str, Any]) -> dict[str, Any]:
    sender = _handle(body, "from")
    chat_id = _text(body, "chat_id")
    assert chat_id is not None
    console.simulator.inject_typing(sender, chat_id, typing=body.get("typing") is not False)
    return {"chat_id": chat_id}


def _person(console: Console, body: dict[str, Any]) -> dict[str, Any]:
    handle = _handle(body, "handle")
    try:
        kind = RecipientKind(body.get("kind"))
    except ValueError:
        raise ValidationError("kind", f"{body.get('kind')!r} is not a kind of person") from None
    console.simulator.add_recipient(handle, kind)
    return {"handle": str(handle), "kind": kind.value}


def _advance(console: Console, body: dict[str, Any]) -> dict[str, Any]:
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ValidationError("seconds", "must be a number")
    if not 0 < seconds <= MAX_ADVANCE_SECONDS:
        raise ValidationError("seconds", f"must be more than 0 and at most {MAX_ADVANCE_SECONDS:g}")
    simulator = console.simulator
    for world in simulator.backend.lines.values():
        world.advance(float(seconds))
    simulator.backend.sync()
    return {"now": simulator.world.now.isoformat()}


def _fault(console: Console, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("name")
    if not isinstance(name, str) or name not in FAULT_SWITCHES:
        raise ValidationError("name", f"{name!r} is not one of {sorted(FAULT_SWITCHES)}")
    on = body.get("on")
    if not isinstance(on, bool):
        raise ValidationError("on", "must be true or false")
    field, rate = FAULT_SWITCHES[name]
    injector = console.simulator.faults
    changes: dict[str, Any] = {field: rate if on else 0.0}
    injector.configure(attrs.evolve(injector.faults, **changes))
    if on:
        console.faults_on.add(name)
    else:
        console.faults_on.discard(name)
    return {"faults": sorted(console.faults_on)}


def _redeliver(console: Console, body: dict[str, Any]) -> dict[str, Any]:
    index = body.get("index")
    outcomes = console.simulator.deliveries
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValidationError("index", "must be a non-negative whole number")
    if index >= len(outcomes):
        raise ValidationError("index", f"no webhook delivery number {index}")
    delivery = outcomes[index].delivery
    console.simulator.deliverer.queue.append(delivery)
    return {"event_id": delivery.event_id}


async def _inbox_replay(console: Console, body: dict[str, Any]) -> dict[str, Any]:
    entry_id = _text(body, "id")
    assert entry_id is not None
    if console.inbox_store is None:
        raise ValidationError("id", "no inbox store is configured")
    if not await replay_dead_letter(console.inbox_store, entry_id):
        raise ValidationError("id", f"no entry {entry_id!r} in the inbox")
    return {"id": entry_id}


async def _outbox_retry(console: Console, body: dict[str, Any]) -> dict[str, Any]:
    intent_id = _text(body, "id")
    assert intent_id is not None
    if console.outbox_store is None:
        raise ValidationError("id", "no outbox store is configured")
    if not await retry_intent(console.outbox_store, intent_id):
        raise ValidationError("id", f"no failed or queued intent {intent_id!r}")
    return {"id": intent_id}


Answer = dict[str, Any] | Awaitable[dict[str, Any]]

ACTIONS: dict[str, Callable[[Console, dict[str, Any]], Answer]] = {
    "advance": _advance,
    "fault": _fault,
    "inbox_replay": _inbox_replay,
    "outbox_retry": _outbox_retry,
    "person": _person,
    "redeliver": _redeliver,
    "send": _send,
    "tapback": _tapback,
    "typing": _typing,
}
