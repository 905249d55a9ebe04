"""What the console shows: the simulator's state as one JSON-ready dictionary.

Phones, chats, bubbles, the webhook log and the fault switches, read from the
Worlds and the simulator's own records. Nothing secret is in it: no token, no
signing secret, and webhook targets lose their query string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from adapters.memory.world import World
from caresupport_transport.capabilities import Service
from caresupport_transport.content import LinkPart, MediaPart, TextPart
from caresupport_transport.model import Conversation, Message

if TYPE_CHECKING:
    from adapters.linq.simulator.console.console import Console

__all__ = ["DROPPED_FEATURE_NAMES", "build_snapshot", "public_target"]

DROPPED_FEATURE_NAMES: dict[str, tuple[str, str]] = {
    "effect": ("effect", "effects"),
    "reply_to": ("reply thread", "reply threads"),
    "mention": ("mention", "mentions"),
    "text_decoration": ("text style", "text styles"),
    "link_preview": ("link preview", "link previews"),
}
"""A feature the simulator dropped -> its name, and how "SMS has no ..." says it
(worded as the ``Transport``'s own degradations are)."""


def public_target(url: str) -> str:
    """A webhook target without its query or credentials (either may hold a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _service(service: Service | None) -> str | None:
    return service.value if service else None


def _message(console: Console, world: World, message: Message) -> dict[str, Any]:
    backend = console.simulator.backend
    texts = [p.text for p in message.parts if isinstance(p, TextPart)]
    texts += [p.url for p in message.parts if isinstance(p, LinkPart)]
    media = [
        {"url": p.url, "content_type": p.content_type, "filename": p.filename}
        for p in message.parts
        if isinstance(p, MediaPart)
    ]
    service = message.service.label if message.service else "the service"
    degradations = list(console.noted_degradations.get(message.id, []))
    for name in backend.dropped_features.get(message.id, ()):
        one, many = DROPPED_FEATURE_NAMES.get(name, (name, name))
        seen = f"{one} dropped: {service} has no {many}"
        if seen not in degradations:
            degradations.append(seen)
    effect = message.effect
    return {
        "id": message.id,
        "direction": message.direction.value,
        "sender": str(message.sender) if message.sender else str(world.owner),
        "service": _service(message.service),
        "status": message.status.value,
        "texts": texts,
        "media": media,
        "effect": f"{effect.kind.value} effect: {effect.name}" if effect else None,
        "reply_to": message.reply_to.message_id if message.reply_to else None,
        "reactions": [
            {
                "actor": str(record.actor),
                "kind": record.reaction.kind.value,
                "emoji": record.reaction.emoji,
            }
            for record in world.reactions_on(message.id)
        ],
        "degradations": degradations,
        "at": message.created_at.isoformat(),
    }


def _chat(console: Console, line: str, world: World, chat: Conversation) -> dict[str, Any]:
    messages = [_message(console, world, m) for m in reversed(world.history(chat.id))]
    last = next((m for m in reversed(messages) if m["service"]), None)
    return {
        "id": chat.id,
        "line": line,
        "participants": [str(h) for h in chat.participants],
        "is_group": chat.is_group,
        "name": chat.display_name,
        "service": _service(chat.service) or (last["service"] if last else None),
        "typing": sorted(str(h) for h in world.typing.get(chat.id, ()) if h != world.owner),
        "line_typing": world.owner in world.typing.get(chat.id, ()),
        "messages": messages,
    }


def _deliveries(console: Console) -> list[dict[str, Any]]:
    simulator = console.simulator
    subscriptions = simulator.backend.subscriptions
    schemes = [scheme.value for scheme in simulator.deliverer.schemes]
    log = []
    for index, outcome in enumerate(simulator.deliveries):
        delivery = outcome.delivery
        subscription = subscriptions.get(delivery.subscription_id)
        log.append(
            {
                "index": index,
                "event_type": delivery.event_type,
                "event_id": delivery.event_id,
                "target": public_target(subscription.target_url) if subscription else None,
                "status": outcome.status,
                "attempts": outcome.attempts,
                "delivered": outcome.delivered,
                "error": outcome.error,
                "signing": schemes,
            }
        )
    return log


def build_snapshot(console: Console) -> dict[str, Any]:
    """Everything the console page draws, as plain JSON values."""
    simulator = console.simulator
    backend = simulator.backend
    people = [
        {"handle": str(handle), "kind": kind.value}
        for handle, kind in simulator.world.recipients.items()
    ]
    chats = [
        _chat(console, line, world, chat)
        for line, world in backend.lines.items()
        for chat in world.conversations.values()
    ]
    inbound_senders = {
        m["sender"] for c in chats for m in c["messages"] if m["direction"] == "inbound"
    }
    known = {p["handle"] for p in people}
    people += [
        {"handle": h, "kind": simulator.world.default_kind.value}
        for h in sorted(inbound_senders - known)
    ]
    return {
        "now": simulator.world.now.isoformat(),
        "lines": list(backend.lines),
        "people": people,
        "chats": chats,
        "deliveries": _deliveries(console),
        "pending_deliveries": len(simulator.deliverer.queue),
        "faults": sorted(console.faults_on),
        "fault_counts": dict(simulator.counters.faults),
    }
