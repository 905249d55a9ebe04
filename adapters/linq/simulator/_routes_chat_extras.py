"""Location sharing and chat backgrounds (newer than the YAML; rules from Linq's 0.65 SDK).

Location: a request is refused in groups (409/2016), in SMS and RCS chats
(409/2017) and when the person already shares (409); a chat may be asked
again only after :data:`LOCATION_REQUEST_INTERVAL` (429 with ``Retry-After``,
the simulator's choice: Linq does not state the value). People share by
:meth:`~adapters.linq.simulator.Simulator.share_location`, never by answering a
request on their own. Backgrounds: 202, then ``chat.background_updated`` on
iMessage; RCS and SMS chats accept and change nothing, with no webhook.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.linq._backgrounds import background
from adapters.linq._convert import converter
from adapters.linq.simulator import _wire
from adapters.linq.simulator._errors import (
    CHAT_SERVICE_NOT_SUPPORTED,
    GROUP_CHAT_NOT_SUPPORTED,
    bad_request,
    conflict,
    not_found,
    rate_limited,
)
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._parse import parse_handle
from adapters.linq.simulator._routing import Call, Route
from adapters.linq.simulator.state import Backend, LocationShare
from caresupport_transport.capabilities import Service
from caresupport_transport.handles import Handle

__all__ = ["CHAT_EXTRA_ROUTES", "LOCATION_REQUEST_INTERVAL", "end_share", "start_share"]

LOCATION_REQUEST_INTERVAL = timedelta(minutes=1)


def start_share(backend: Backend, line: str, person: Handle, chat_id: str | None) -> LocationShare:
    """``person`` starts sharing with ``line`` (``location.sharing.started``), or keeps on."""
    share = backend.location_shares.get((line, person))
    if share is not None:
        return share
    now = backend.lines[line].now
    share = LocationShare(person, line, chat_id, began_at=now)
    backend.location_shares[(line, person)] = share
    backend.record(
        line,
        "location.sharing.started",
        {
            "shared_by": person.value,
            "shared_with": line,
            "chat_id": chat_id,
            "began_at": _wire.iso(now),
            "ends_at": None,
        },
    )
    return share


def end_share(backend: Backend, share: LocationShare) -> None:
    """The share ends everywhere (``location.sharing.stopped``)."""
    del backend.location_shares[(share.line, share.person)]
    backend.record(
        share.line,
        "location.sharing.stopped",
        {
            "shared_by": share.person.value,
            "shared_with": share.line,
            "chat_id": share.chat_id,
            "began_at": _wire.iso(share.began_at),
            "ended_at": _wire.iso(backend.lines[share.line].now),
        },
    )


def request_location(call: Call) -> Response:
    line, world, conversation = call.backend.active_chat(call.params["chatId"], call.account)
    if conversation.is_group:
        raise conflict(
            "Location requests are not supported in group chats", GROUP_CHAT_NOT_SUPPORTED
        )
    if conversation.service is not Service.IMESSAGE:
        raise conflict(
            "Location requests need an iMessage chat (not SMS or RCS)", CHAT_SERVICE_NOT_SUPPORTED
        )
    person = conversation.participants[0]
    if (line, person) in call.backend.location_shares:
        raise conflict(f"{person} already shares their location with this line")
    last = call.backend.location_requests.get(conversation.id)
    if last is not None and world.now - last < LOCATION_REQUEST_INTERVAL:
        wait = LOCATION_REQUEST_INTERVAL - (world.now - last)
        raise rate_limited(wait.total_seconds())
    call.backend.location_requests[conversation.id] = world.now
    return call.json(200, {"success": True, "message": "Location request sent"})


def get_locations(call: Call) -> Response:
    line, _, conversation = call.backend.chat(call.params["chatId"], call.account)
    features: list[dict[str, Any]] = []
    for person in conversation.participants:
        share = call.backend.location_shares.get((line, person))
        if share is None or share.latitude is None or share.longitude is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [share.longitude, share.latitude]},
                "properties": {
                    "handle": person.value,
                    "address": share.address,
                    "locality": share.locality,
                    "updated_at": _wire.iso_or_none(share.updated_at),
                },
            }
        )
    return call.json(
        200, {"success": True, "data": {"type": "FeatureCollection", "features": features}}
    )


def stop_location_share(call: Call) -> Response:
    line, _, _ = call.backend.chat(call.params["chatId"], call.account)
    person = parse_handle(call.body().get("handle"), "handle")
    share = call.backend.location_shares.get((line, person))
    if share is None:
        raise not_found("Location share")
    end_share(call.backend, share)
    return call.json(202, {"success": True, "message": "Location sharing stop requested"})


def set_background(call: Call) -> Response:
    line, world, conversation = call.backend.active_chat(call.params["chatId"], call.account)
    body = call.body()
    shades = body.get("shades")
    if shades is not None and not isinstance(shades, list):
        raise bad_request("shades must be an array of two hex colors")
    checked = background(
        str(body.get("type")),
        variant=body.get("variant"),
        shades=shades,
        style=body.get("style"),
        image_url=body.get("image_url"),
    )
    if conversation.service is Service.IMESSAGE:
        applied = {k: v for k, v in converter().unstructure(checked).items() if v is not None}
        call.backend.backgrounds[conversation.id] = applied
        call.backend.record(
            line,
            "chat.background_updated",
            {
                "chat": _wire.event_chat_json(
                    call.backend, line, world, conversation, health=False
                ),
                "actor_handle": _wire.line_handle_json(call.backend, line, world, conversation),
                "background": applied,
            },
        )
    return Response.empty(202)


def reset_background(call: Call) -> Response:
    _, _, conversation = call.backend.active_chat(call.params["chatId"], call.account)
    call.backend.backgrounds.pop(conversation.id, None)
    return Response.empty()


CHAT_EXTRA_ROUTES = (
    Route("POST", "/v3/chats/{chatId}/location/request", request_location),
    Route("GET", "/v3/chats/{chatId}/location", get_locations),
    Route("DELETE", "/v3/chats/{chatId}/location", stop_location_share),
    Route("POST", "/v3/chats/{chatId}/background", set_background),
    Route("DELETE", "/v3/chats/{chatId}/background", reset_background),
)
