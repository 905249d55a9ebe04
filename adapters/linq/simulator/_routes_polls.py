"""Polls: create (iMessage chats only), read, add options (add-only), vote.

Linq does not say what it answers for a poll in an SMS or RCS chat; the
simulator answers ``400`` with code ``2017`` (``ChatServiceNotSupported``, the
code Linq gives for location requests in SMS/RCS chats), its own choice.
"""

from __future__ import annotations

from typing import Any

from adapters.linq.simulator._errors import (
    CHAT_SERVICE_NOT_SUPPORTED,
    bad_request,
    conflict,
    not_found,
)
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._poll_json import poll_envelope_json
from adapters.linq.simulator._routing import Call, Route
from adapters.linq.simulator._sending import check_reachable
from caresupport_transport.capabilities import Service
from caresupport_transport.errors import NotFoundError, ValidationError
from caresupport_transport.polls import Poll

__all__ = ["POLL_ROUTES"]

"""A poll into an SMS/RCS chat (simulator's choice; Linq leaves it unstated)."""


def _option_texts(raw: Any, field: str, minimum: int) -> list[str]:
    if not isinstance(raw, list) or len(raw) < minimum:
        raise bad_request(f"{field}: give at least {minimum} options")
    texts: list[str] = []
    for index, option in enumerate(raw):
        text = option.get("text") if isinstance(option, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise bad_request(f"{field}[{index}].text must be non-blank text")
        texts.append(text)
    return texts


def create_poll(call: Call) -> Response:
    line, world, conversation = call.backend.chat(call.params["chatId"], call.account)
    body = call.body().get("poll")
    if not isinstance(body, dict):
        raise bad_request("poll is required")
    texts = _option_texts(body.get("options"), "poll.options", 2)
    key = body.get("idempotency_key") or call.request.headers.get("idempotency-key")
    if key is not None and not isinstance(key, str):
        raise bad_request("poll.idempotency_key must be a string")
    if key is not None and key in world.idempotency_keys:
        original = world.idempotency_keys[key]
        if original not in world.polls or world.polls[original].conversation_id != conversation.id:
            raise conflict(f"idempotency_key {key!r} was already used for something else")
    else:
        check_reachable(world, conversation, override_optout=False)
        service = conversation.service
        if service is not Service.IMESSAGE:
            label = service.label if service is not None else "no"
            raise bad_request(
                f"Polls can only be sent in iMessage chats; this chat has {label} service",
                code=CHAT_SERVICE_NOT_SUPPORTED,
            )
    try:
        _, poll = world.send_poll(conversation.id, texts, idempotency_key=key)
    except ValidationError as exc:
        raise bad_request(f"{exc.field}: {exc.rule}") from None
    return call.json(200, poll_envelope_json(call.backend, line, world, poll))


def _poll(call: Call) -> tuple[str, Any, Poll]:
    line, world, message = call.backend.message(call.params["messageId"], call.account)
    try:
        return line, world, world.poll(message.id)
    except NotFoundError:
        raise not_found("Poll") from None


def get_poll(call: Call) -> Response:
    line, world, poll = _poll(call)
    return call.json(200, poll_envelope_json(call.backend, line, world, poll))


def add_options(call: Call) -> Response:
    line, world, poll = _poll(call)
    texts = _option_texts(call.body().get("options"), "options", 1)
    updated = world.add_poll_options(poll.id, texts)
    return call.json(200, poll_envelope_json(call.backend, line, world, updated))


def vote(call: Call) -> Response:
    line, world, poll = _poll(call)
    body = call.body()
    operation = body.get("operation")
    if operation not in ("add", "remove"):
        raise bad_request("operation must be add or remove")
    option_id = body.get("option_id")
    if not isinstance(option_id, str) or poll.option(option_id) is None:
        raise bad_request("option_id is not an option of this poll")
    updated = world.vote(world.owner, poll.id, option_id, remove=operation == "remove")
    return call.json(200, poll_envelope_json(call.backend, line, world, updated))


POLL_ROUTES = (
    Route("POST", "/v3/chats/{chatId}/polls", create_poll),
    Route("GET", "/v3/messages/{messageId}/poll", get_poll),
    Route("POST", "/v3/messages/{messageId}/poll/options", add_options),
    Route("POST", "/v3/messages/{messageId}/poll/votes", vote),
)
