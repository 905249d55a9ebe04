"""The simulator's control endpoints: play the outside world over HTTP (not part of Linq's API).

For a simulator running in another process (``caresupport-transport simulate``),
these do what a test does with the :class:`~adapters.linq.simulator.Simulator`
object. They need the same bearer token as the API.

``POST /_simulator/inbound``   ``{"from", "text", "line"?, "chat_id"?}``: a message arrives
``POST /_simulator/reaction``  ``{"from", "message_id", "type", "custom_emoji"?, "remove"?}``
``POST /_simulator/typing``    ``{"from", "chat_id", "typing"?}``
``POST /_simulator/vote``      ``{"from", "poll_id", "option_id", "remove"?}``: a poll vote
``POST /_simulator/poll``      ``{"from", "options", "line"?, "chat_id"?}``: their poll arrives
``POST /_simulator/advance``   ``{"seconds"}``: move the clock on (deliveries follow)
``GET  /_simulator/state``     counters: requests, messages created, deliveries, faults,
                               effects / replies sent on a service that cannot carry them
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.linq.simulator._errors import bad_request, error_body, not_found
from adapters.linq.simulator._http import Request, Response
from adapters.linq.simulator._parse import parse_handle, require_str
from caresupport_transport.content import Reaction, ReactionKind
from caresupport_transport.errors import ProviderError, ValidationError

if TYPE_CHECKING:
    from adapters.linq.simulator.simulator import Simulator

__all__ = ["CONTROL_PATH", "handle_control"]

CONTROL_PATH = "/_simulator"


def _inbound(simulator: Simulator, body: dict[str, Any]) -> Response:
    sender = parse_handle(body.get("from"), "from")
    text = require_str(body, "text")
    line, chat_id = body.get("line"), body.get("chat_id")
    message = simulator.inject_inbound_text(
        sender,
        text,
        line=line if isinstance(line, str) else None,
        conversation_id=chat_id if isinstance(chat_id, str) else None,
    )
    return Response.json(201, {"message_id": message.id, "chat_id": message.conversation_id})


def _reaction(simulator: Simulator, body: dict[str, Any]) -> Response:
    sender = parse_handle(body.get("from"), "from")
    message_id = require_str(body, "message_id")
    try:
        kind = ReactionKind(body.get("type"))
    except ValueError:
        raise bad_request(f"type: {body.get('type')!r} is not a reaction type") from None
    emoji = body.get("custom_emoji") if kind is ReactionKind.CUSTOM else None
    reaction = Reaction(kind, emoji if isinstance(emoji, str) else None)
    simulator.inject_reaction(sender, message_id, reaction, remove=body.get("remove") is True)
    return Response.json(201, {"message_id": message_id})


def _typing(simulator: Simulator, body: dict[str, Any]) -> Response:
    sender = parse_handle(body.get("from"), "from")
    chat_id = require_str(body, "chat_id")
    simulator.inject_typing(sender, chat_id, typing=body.get("typing", True) is not False)
    return Response.json(201, {"chat_id": chat_id})


def _vote(simulator: Simulator, body: dict[str, Any]) -> Response:
    voter = parse_handle(body.get("from"), "from")
    poll_id = require_str(body, "poll_id")
    option_id = require_str(body, "option_id")
    simulator.inject_vote(voter, poll_id, option_id, remove=body.get("remove") is True)
    return Response.json(201, {"poll_id": poll_id, "option_id": option_id})


def _poll(simulator: Simulator, body: dict[str, Any]) -> Response:
    sender = parse_handle(body.get("from"), "from")
    options = body.get("options")
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise bad_request("options must be an array of option texts")
    line, chat_id = body.get("line"), body.get("chat_id")
    poll = simulator.inject_poll(
        sender,
        options,
        line=line if isinstance(line, str) else None,
        conversation_id=chat_id if isinstance(chat_id, str) else None,
    )
    return Response.json(201, {"poll_id": poll.id, "chat_id": poll.conversation_id})


def _advance(simulator: Simulator, body: dict[str, Any]) -> Response:
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise bad_request("seconds must be a non-negative number")
    for world in simulator.worlds.values():
        world.advance(float(seconds))
    simulator.backend.sync()
    return Response.json(200, {"now": simulator.world.now.isoformat()})


def _state(simulator: Simulator) -> Response:
    counters = simulator.counters
    return Response.json(
        200,
        {
            "now": simulator.world.now.isoformat(),
            "requests": dict(counters.requests),
            "messages_created": counters.messages_created,
            "messages_by_idempotency_key": dict(counters.messages_by_idempotency_key),
            "deliveries_by_event_id": dict(counters.deliveries_by_event_id),
            "features_dropped": dict(counters.features_dropped),
            "dropped_features": {
                message_id: list(features)
                for message_id, features in simulator.backend.dropped_features.items()
            },
            "faults": dict(counters.faults),
        },
    )


_HANDLERS = {
    "inbound": _inbound,
    "reaction": _reaction,
    "typing": _typing,
    "advance": _advance,
    "vote": _vote,
    "poll": _poll,
}


def handle_control(simulator: Simulator, request: Request) -> Response:
    """Answer one control request (the caller has checked nothing yet)."""
    try:
        simulator.backend.account_for(request.headers.get("authorization"))
        action = request.path.removeprefix(CONTROL_PATH).strip("/")
        if request.method == "GET" and action == "state":
            return _state(simulator)
        handler = _HANDLERS.get(action)
        if handler is None or request.method != "POST":
            raise not_found("Control endpoint")
        return handler(simulator, request.json_object())
    except ValidationError as exc:
        error: ProviderError = bad_request(str(exc))
    except ProviderError as exc:
        error = exc
    return Response.json(error.status or 500, error_body(error, simulator.backend.ids.trace()))
