"""Messages: send (to a chat or by handle), list, thread, get, edit, delete, react, voice memo."""

from __future__ import annotations

from typing import Any

from adapters.linq.simulator import _wire
from adapters.linq.simulator._errors import INVALID_PHONE, UNPROCESSABLE, bad_request, forbidden
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._parse import (
    keyset_cursor,
    parse_content,
    parse_handle,
    parse_limit,
    parse_offset_cursor,
    parse_override_optout,
    read_keyset_cursor,
)
from adapters.linq.simulator._routing import Call, Route
from adapters.linq.simulator._sending import check_new_chat, send_content
from adapters.linq.simulator._voice_memo import send_voice_memo
from caresupport_transport import limits
from caresupport_transport.capabilities import capabilities_of
from caresupport_transport.content import Reaction, ReactionKind
from caresupport_transport.errors import EditRefusedError
from caresupport_transport.handles import E164_PATTERN
from caresupport_transport.model import Direction

__all__ = ["MESSAGE_ROUTES"]


def send_to_chat(call: Call) -> Response:
    line, world, conversation = call.backend.chat(call.params["chatId"], call.account)
    body = call.body()
    content = parse_content(body.get("message"), call.backend, first_message=False)
    override = parse_override_optout(body)
    message, _ = send_content(call.backend, world, conversation, content, override_optout=override)
    return call.json(
        202,
        {
            "chat_id": conversation.id,
            "message": _wire.sent_message_json(call.backend, line, world, message),
        },
    )


def send_by_handle(call: Call) -> Response:
    """``POST /v3/messages``: Linq picks the line and reuses or creates the chat."""
    body = call.body()
    raw_to = body.get("to")
    if not isinstance(raw_to, list) or not 1 <= len(raw_to) <= limits.MAX_RECIPIENTS:
        raise bad_request(f"to: give 1 to {limits.MAX_RECIPIENTS} recipient handles")
    handles = [parse_handle(value, f"to[{i}]") for i, value in enumerate(raw_to)]
    excluded = body.get("exclude_from") or []
    if not isinstance(excluded, list):
        raise bad_request("exclude_from must be an array of E.164 numbers")
    for index, value in enumerate(excluded):
        if not isinstance(value, str) or not E164_PATTERN.fullmatch(value):
            raise bad_request(f"exclude_from[{index}]: not an E.164 number", INVALID_PHONE)
    continuation = body.get("continuation_message")
    if continuation is not None and (
        not isinstance(continuation, dict)
        or not isinstance(continuation.get("text"), str)
        or not continuation["text"].strip()
    ):
        raise bad_request("continuation_message must be {text} with non-blank text")
    content = parse_content(
        body.get("message"),
        call.backend,
        first_message=False,
        idempotency_key=call.request.headers.get("idempotency-key"),
    )
    override = parse_override_optout(body)
    backend = call.backend
    wanted = frozenset(handles)
    for line in call.account.phone_numbers:
        world = backend.lines[line]
        existing = next(
            (c for c in world.conversations.values() if frozenset(c.participants) == wanted),
            None,
        )
        if existing is not None:
            conversation, created = existing, False
            break
    else:
        usable = [n for n in call.account.phone_numbers if n not in excluded]
        if not usable:
            raise bad_request("exclude_from: every line of this token is excluded")
        line = usable[0]
        world = backend.lines[line]
        check_new_chat(world, handles, content, override_optout=override)
        conversation, created = world.create_conversation(handles), True
    message, _ = send_content(backend, world, conversation, content, override_optout=override)
    backend.use_line(line)
    conversation = world.conversation(conversation.id)
    service = message.service or conversation.service
    return call.json(
        202,
        {
            "chat_id": conversation.id,
            "created_new_chat": created,
            "from": line,
            "from_selection": {
                "reason": "new_best_number" if created else "reused_active_chat",
                "reused_existing_chat": not created,
            },
            "handles": _wire.handles_json(backend, line, world, conversation)[1:],
            "is_group": conversation.is_group,
            "message": _wire.sent_message_json(backend, line, world, message),
            "service": _wire.service_label(service),
            "previous_chat_id": None,
        },
    )


def list_messages(call: Call) -> Response:
    line, world, conversation = call.backend.chat(call.params["chatId"], call.account)
    limit = parse_limit(call.request.query_one("limit"), 50)
    after = read_keyset_cursor(call.request.query_one("cursor"))
    history = world.history(conversation.id)
    start = 0
    if after is not None:
        ids = [m.id for m in history]
        if after not in ids:
            raise bad_request("cursor: it names a message that is no longer listed")
        start = ids.index(after) + 1
    page = history[start : start + limit]
    more = start + limit < len(history)
    return call.json(
        200,
        {
            "messages": [_wire.message_json(call.backend, line, world, m) for m in page],
            "next_cursor": (
                keyset_cursor(page[-1].id, page[-1].created_at.timestamp()) if more else None
            ),
        },
    )


def get_thread(call: Call) -> Response:
    line, world, message = call.backend.message(call.params["messageId"], call.account)
    order = call.request.query_one("order") or "asc"
    if order not in ("asc", "desc"):
        raise bad_request("order must be asc or desc")
    limit = parse_limit(call.request.query_one("limit"), 50)
    start = parse_offset_cursor(call.request.query_one("cursor"))
    root_id = message.reply_to.message_id if message.reply_to is not None else message.id
    thread = [
        m
        for m in world.history(message.conversation_id)[::-1]
        if m.id == root_id or (m.reply_to is not None and m.reply_to.message_id == root_id)
    ]
    if order == "desc":
        thread.reverse()
    page = thread[start : start + limit]
    following = start + limit
    return call.json(
        200,
        {
            "messages": [_wire.message_json(call.backend, line, world, m) for m in page],
            "next_cursor": str(following) if following < len(thread) else None,
        },
    )


def get_message(call: Call) -> Response:
    line, world, message = call.backend.message(call.params["messageId"], call.account)
    return call.json(200, _wire.message_json(call.backend, line, world, message))


def edit_message(call: Call) -> Response:
    backend = call.backend
    line, world, message = backend.message(call.params["messageId"], call.account)
    body = call.body()
    part_index = body.get("part_index", 0)
    text = body.get("text")
    if isinstance(part_index, bool) or not isinstance(part_index, int) or part_index < 0:
        raise bad_request("part_index must be a non-negative integer")
    if not isinstance(text, str) or not text.strip() or len(text) > limits.MAX_TEXT_CHARS:
        raise bad_request(f"text must be 1 to {limits.MAX_TEXT_CHARS} characters")
    if message.direction is not Direction.OUTBOUND:
        raise forbidden("Only messages you sent can be edited")
    try:
        # The World holds Linq's limits (5 edits, 15 minutes, iMessage only) on its clock.
        updated = world.edit(message.id, part_index, text)
    except EditRefusedError as refused:
        raise bad_request(refused.rule, code=UNPROCESSABLE) from None
    return call.json(200, _wire.message_json(backend, line, world, updated))


def delete_message(call: Call) -> Response:
    """Linq forgets the message (recipients keep it); no body since 0.65."""
    _, world, message = call.backend.message(call.params["messageId"], call.account)
    world.delete_message(message.id)
    return Response.empty()


def _reaction(body: dict[str, Any]) -> Reaction:
    raw_type = body.get("type")
    try:
        kind = ReactionKind(raw_type)
    except ValueError:
        raise bad_request(f"type: {raw_type!r} is not a reaction type") from None
    emoji = body.get("custom_emoji")
    if emoji is not None and not isinstance(emoji, str):
        raise bad_request("custom_emoji must be a string")
    return Reaction(kind, emoji if kind is ReactionKind.CUSTOM else None)


def react(call: Call) -> Response:
    _, world, message = call.backend.message(call.params["messageId"], call.account)
    body = call.body()
    operation = body.get("operation")
    if operation not in ("add", "remove"):
        raise bad_request("operation must be add or remove")
    reaction = _reaction(body)
    if reaction.kind is ReactionKind.STICKER:
        raise bad_request("sticker reactions cannot be sent")
    part_index = body.get("part_index", 0)
    if isinstance(part_index, bool) or not isinstance(part_index, int):
        raise bad_request("part_index must be an integer")
    if message.service is not None and not capabilities_of(message.service).tapbacks:
        raise bad_request(f"{message.service.label} messages cannot carry reactions")
    if operation == "add":
        world.react(message.id, reaction, part_index=part_index)
    else:
        world.unreact(message.id, reaction, part_index=part_index)
    return call.json(202, {"status": "accepted", "message": "Reaction processed"})


MESSAGE_ROUTES = (
    Route("POST", "/v3/chats/{chatId}/messages", send_to_chat),
    Route("GET", "/v3/chats/{chatId}/messages", list_messages),
    Route("POST", "/v3/chats/{chatId}/voicememo", send_voice_memo),
    Route("POST", "/v3/messages", send_by_handle),
    Route("GET", "/v3/messages/{messageId}", get_message),
    Route("PATCH", "/v3/messages/{messageId}", edit_message),
    Route("DELETE", "/v3/messages/{messageId}", delete_message),
    Route("GET", "/v3/messages/{messageId}/thread", get_thread),
    Route("POST", "/v3/messages/{messageId}/reactions", react),
)
