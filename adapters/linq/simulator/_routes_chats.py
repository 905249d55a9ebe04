"""Chats: create (with a first message), list, get, update, participants, typing, read, leave."""

from __future__ import annotations

from datetime import timedelta

from adapters.linq.simulator import _wire
from adapters.linq.simulator._errors import bad_request, conflict, rate_limited
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._parse import (
    parse_content,
    parse_from,
    parse_handle,
    parse_limit,
    parse_offset_cursor,
    parse_override_optout,
)
from adapters.linq.simulator._routing import Call, Route
from adapters.linq.simulator._sending import check_new_chat, send_content
from caresupport_transport import limits
from caresupport_transport.capabilities import Feature, Service, capabilities_of
from caresupport_transport.errors import NotFoundError
from caresupport_transport.model import Conversation

CONTACT_CARD_NOT_FOUND = 2012
CARD_SHARE_INTERVAL = timedelta(minutes=5)

__all__ = ["CHAT_ROUTES", "MIN_PARTICIPANTS_TO_LEAVE"]

MIN_PARTICIPANTS_TO_LEAVE = 4


def create_chat(call: Call) -> Response:
    body = call.body()
    line = parse_from(body.get("from"), call.account)
    raw_to = body.get("to")
    if not isinstance(raw_to, list) or not 1 <= len(raw_to) <= limits.MAX_RECIPIENTS:
        raise bad_request(f"to: give 1 to {limits.MAX_RECIPIENTS} recipient handles")
    handles = [parse_handle(value, f"to[{i}]") for i, value in enumerate(raw_to)]
    content = parse_content(body.get("message"), call.backend, first_message=True)
    override = parse_override_optout(body)
    world = call.backend.lines[line]
    check_new_chat(world, handles, content, override_optout=override)
    conversation = world.create_conversation(handles)
    message, _ = send_content(call.backend, world, conversation, content, override_optout=override)
    call.backend.use_line(line)
    conversation = world.conversation(conversation.id)
    service = message.service or conversation.service or Service.SMS
    return call.json(
        201,
        {
            "chat": {
                "id": conversation.id,
                "display_name": conversation.display_name,
                "service": _wire.service_label(service),
                "is_group": conversation.is_group,
                "handles": _wire.handles_json(call.backend, line, world, conversation),
                "message": _wire.sent_message_json(call.backend, line, world, message),
                "health_status": _wire.health_json(world, conversation),
            }
        },
    )


def list_chats(call: Call) -> Response:
    request = call.request
    raw_from = request.query_one("from")
    if raw_from is None:
        raise bad_request("from: the query parameter is required")
    line = parse_from(raw_from, call.account)
    limit = parse_limit(request.query_one("limit"), 20)
    start = parse_offset_cursor(request.query_one("cursor"))
    wanted = {parse_handle(v, "to") for v in request.query_all("to")}
    world = call.backend.lines[line]
    chats = [
        c
        for c in world.conversations.values()
        if wanted <= set(c.participants) and not world.has_left(c.id)
    ]
    page = chats[start : start + limit]
    following = start + limit
    return call.json(
        200,
        {
            "chats": [_wire.chat_json(call.backend, line, world, c) for c in page],
            "next_cursor": str(following) if following < len(chats) else None,
        },
    )


def get_chat(call: Call) -> Response:
    line, world, conversation = call.backend.chat(call.params["chatId"], call.account)
    return call.json(200, _wire.chat_json(call.backend, line, world, conversation))


def update_chat(call: Call) -> Response:
    line, world, conversation = call.backend.active_chat(call.params["chatId"], call.account)
    body = call.body()
    name, icon = body.get("display_name"), body.get("group_chat_icon")
    if name is None and icon is None:
        raise bad_request("give display_name or group_chat_icon")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise bad_request("display_name must be a non-empty string")
    if icon is not None and (not isinstance(icon, str) or not icon.startswith("https://")):
        raise bad_request("group_chat_icon must be an https:// URL")
    if not conversation.is_group:
        raise bad_request("only a group chat has a name and an icon")
    if name is not None:
        conversation = world.rename(conversation.id, name)
    if icon is not None:
        world.change_icon(conversation.id, icon)
        call.backend.group_icons[conversation.id] = icon
    return call.json(200, _wire.chat_json(call.backend, line, world, conversation))


def _accepted(call: Call, message: str) -> Response:
    return call.json(202, {"status": "accepted", "message": message})


def add_participant(call: Call) -> Response:
    _, world, conversation = call.backend.active_chat(call.params["chatId"], call.account)
    handle = parse_handle(call.body().get("handle"), "handle")
    if handle in conversation.participants or handle == world.owner:
        raise conflict(f"{handle} is already in this chat")
    world.add_participant(conversation.id, handle)
    return _accepted(call, "Participant addition queued")


def remove_participant(call: Call) -> Response:
    _, world, conversation = call.backend.active_chat(call.params["chatId"], call.account)
    handle = parse_handle(call.body().get("handle"), "handle")
    world.remove_participant(conversation.id, handle)
    return _accepted(call, "Participant removal queued")


def _require_imessage_one_to_one(conversation: Conversation, feature: Feature) -> None:
    service = conversation.service
    if service is not None and not capabilities_of(service).supports(
        feature, is_group=conversation.is_group
    ):
        where = "group chats" if conversation.is_group else f"{service.label} chats"
        raise bad_request(f"{feature.value}s are not supported in {where}")


def _typing(call: Call, typing: bool) -> Response:
    _, world, conversation = call.backend.active_chat(call.params["chatId"], call.account)
    if conversation.is_group:
        raise bad_request("Group chat typing indicators are not currently supported")
    _require_imessage_one_to_one(conversation, Feature.TYPING)
    world.set_typing(conversation.id, typing)
    return Response.empty()


def start_typing(call: Call) -> Response:
    return _typing(call, True)


def stop_typing(call: Call) -> Response:
    return _typing(call, False)


def mark_read(call: Call) -> Response:
    _, world, conversation = call.backend.active_chat(call.params["chatId"], call.account)
    world.mark_read(conversation.id)
    return Response.empty()


def share_contact_card(call: Call) -> Response:
    line, world, conversation = call.backend.active_chat(call.params["chatId"], call.account)
    card = call.backend.contact_cards.get(line)
    if card is None or not card.is_active:
        raise NotFoundError(
            f"No contact card is set up for {line}; create one first",
            status=404,
            code=CONTACT_CARD_NOT_FOUND,
        )
    _require_imessage_one_to_one(conversation, Feature.CONTACT_CARD)
    last = call.backend.card_shares.get(conversation.id)
    if last is not None and world.now - last < CARD_SHARE_INTERVAL:
        # Linq: one share per chat per 5 minutes (the status is not stated; 429 is a guess).
        raise rate_limited((CARD_SHARE_INTERVAL - (world.now - last)).total_seconds())
    world.share_contact_card(conversation.id)
    call.backend.card_shares[conversation.id] = world.now
    return Response.empty()


def leave_chat(call: Call) -> Response:
    """Only iMessage groups of 4+ active participants, the line included (0.65)."""
    line, world, conversation = call.backend.chat(call.params["chatId"], call.account)
    if not conversation.is_group:
        raise bad_request("Direct (1-on-1) chats cannot be left; keep using the chat")
    if world.has_left(conversation.id):
        raise conflict("This line has already left the chat")
    if conversation.service is not Service.IMESSAGE:
        raise bad_request("Only iMessage group chats can be left")
    if len(conversation.participants) + 1 < MIN_PARTICIPANTS_TO_LEAVE:
        raise bad_request(
            f"A group can be left only with {MIN_PARTICIPANTS_TO_LEAVE} or more active "
            "participants (you included)"
        )
    world.leave(conversation.id)
    now = world.now
    own = _wire.line_handle_json(call.backend, line, world, conversation)
    own.update(status="removed", left_at=_wire.iso(now))
    call.backend.record(
        line,
        "participant.removed",
        {
            "chat_id": conversation.id,
            "handle": line,
            "participant": own,
            "removed_at": _wire.iso(now),
        },
    )
    return _accepted(call, "Leave chat queued")


CHAT_ROUTES = (
    Route("POST", "/v3/chats", create_chat),
    Route("GET", "/v3/chats", list_chats),
    Route("GET", "/v3/chats/{chatId}", get_chat),
    Route("PUT", "/v3/chats/{chatId}", update_chat),
    Route("POST", "/v3/chats/{chatId}/participants", add_participant),
    Route("DELETE", "/v3/chats/{chatId}/participants", remove_participant),
    Route("POST", "/v3/chats/{chatId}/typing", start_typing),
    Route("DELETE", "/v3/chats/{chatId}/typing", stop_typing),
    Route("POST", "/v3/chats/{chatId}/read", mark_read),
    Route("POST", "/v3/chats/{chatId}/share_contact_card", share_contact_card),
    Route("POST", "/v3/chats/{chatId}/leave", leave_chat),
)
