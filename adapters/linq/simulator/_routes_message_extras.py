"""Redrawing an app card (a new message each time) and moving a placed sticker.

The simulator takes no ``imessage_app`` parts over the API (the World holds
text and media): a test places a card with
:meth:`~adapters.linq.simulator.Simulator.send_app_card`, which sends its
caption as text and marks the message as a card. An update of anything else
is 400, of a card not yet sent 409; it answers a new message id.
"""

from __future__ import annotations

from typing import Any

from adapters.linq._card_rules import card_layout, placement
from adapters.linq.simulator import _wire
from adapters.linq.simulator._errors import bad_request, conflict, not_found
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._routing import Call, Route
from adapters.linq.simulator.state import Backend
from adapters.memory.world import World
from caresupport_transport.content import ReactionKind, TextPart
from caresupport_transport.model import Conversation, DeliveryStatus, Direction, Message

__all__ = ["MESSAGE_EXTRA_ROUTES", "place_card"]

_CAPTIONS = ("caption", "subcaption", "trailing_caption", "trailing_subcaption")


def place_card(backend: Backend, world: World, conversation: Conversation, caption: str) -> Message:
    """Send an app card into ``conversation`` (its caption as the text) and mark it a card."""
    message = world.send(conversation.id, (TextPart(caption),))
    backend.app_cards.add(message.id)
    return message


def update_card(call: Call) -> Response:
    backend = call.backend
    line, world, message = backend.message(call.params["messageId"], call.account)
    body = call.body()
    raw_layout = body.get("layout")
    if not isinstance(raw_layout, dict):
        raise bad_request("layout is required and must be an object")
    layout = card_layout(raw_layout)
    if message.direction is not Direction.OUTBOUND or message.id not in backend.app_cards:
        raise bad_request("Only your own imessage_app card can be updated")
    if message.status.rank < DeliveryStatus.SENT.rank or message.status is DeliveryStatus.FAILED:
        raise conflict("The card is not sent yet; update it after its message.sent")
    fallback = body.get("fallback_text")
    if fallback is not None and (not isinstance(fallback, str) or not fallback.strip()):
        raise bad_request("fallback_text must be a non-blank string")
    shown = [layout[k] for k in _CAPTIONS if k in layout]
    caption = shown[0] if shown else fallback or "(card)"
    conversation = world.conversation(message.conversation_id)
    redrawn = place_card(backend, world, conversation, str(caption))
    return call.json(
        200,
        {
            "chat_id": conversation.id,
            "message": _wire.sent_message_json(backend, line, world, redrawn),
        },
    )


def move_sticker(call: Call) -> Response:
    backend = call.backend
    _, world, message = backend.message(call.params["messageId"], call.account)
    wanted = call.params["reactionId"]
    record = next(
        (r for r in world.reactions_on(message.id) if _wire.reaction_id(backend, r) == wanted),
        None,
    )
    if record is None:
        raise not_found("Reaction")
    if record.reaction.kind is not ReactionKind.STICKER:
        raise bad_request("Only a sticker can be moved; a tapback has no placement")
    raw: Any = call.body().get("placement")
    if not isinstance(raw, dict):
        raise bad_request("placement is required and must be an object")
    moved = placement(raw.get("x"), raw.get("y"), raw.get("scale"), raw.get("rotation"))
    current = backend.sticker_placements.setdefault(wanted, {})
    for key in ("x", "y", "scale", "rotation"):
        value = getattr(moved, key)
        if value is not None:
            current[key] = value
    return call.json(200, {"status": "accepted", "success": True})


MESSAGE_EXTRA_ROUTES = (
    Route("POST", "/v3/messages/{messageId}/update", update_card),
    Route("PATCH", "/v3/messages/{messageId}/reactions/{reactionId}", move_sticker),
)
