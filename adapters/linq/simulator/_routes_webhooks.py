"""Webhook event types and subscriptions (create returns the signing secret, once)."""

from __future__ import annotations

import base64
import re
from typing import Any

from adapters.linq.event_types import ALL_EVENT_TYPES, WEBHOOK_EVENTS_DOC_URL
from adapters.linq.simulator import _wire
from adapters.linq.simulator._errors import bad_request, conflict, not_found
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._parse import parse_from
from adapters.linq.simulator._routing import Call, Route
from adapters.linq.simulator._targets import is_loopback_url, version_of
from adapters.linq.simulator.state import Subscription

__all__ = ["WEBHOOK_ROUTES"]

_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


def _target(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise bad_request("target_url is required")
    if not is_loopback_url(value):
        raise bad_request(
            "target_url: the simulator only delivers to loopback "
            "(127.0.0.0/8, localhost, ::1) over http(s)"
        )
    return value


def _events(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise bad_request("subscribed_events: give at least one event type")
    unknown = [v for v in value if v not in ALL_EVENT_TYPES]
    if unknown:
        raise bad_request(f"subscribed_events: unknown event types {unknown}")
    return tuple(dict.fromkeys(value))


def _json(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "target_url": subscription.target_url,
        "subscribed_events": list(subscription.events),
        "is_active": subscription.is_active,
        "created_at": _wire.iso(subscription.created_at),
        "updated_at": _wire.iso(subscription.updated_at),
        "phone_numbers": list(subscription.phone_numbers) or None,
        "routing_key_header": subscription.routing_key_header,
        "routing_id_header": subscription.routing_id_header,
    }


def _options(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """The 0.65 fields given: a line filter (empty or null = every line), routing headers."""
    options: dict[str, Any] = {}
    if "phone_numbers" in body:
        lines = body["phone_numbers"] or []
        if not isinstance(lines, list):
            raise bad_request("phone_numbers must be an array of E.164 numbers")
        options["phone_numbers"] = tuple(
            parse_from(n, call.account, f"phone_numbers[{i}]") for i, n in enumerate(lines)
        )
    for key in ("routing_key_header", "routing_id_header"):
        if key in body:
            value = body[key]
            if value is not None and (
                not isinstance(value, str) or not _HEADER_NAME.fullmatch(value)
            ):
                raise bad_request(f"{key} must be an HTTP header name")
            options[key] = value
    return options


def list_event_types(call: Call) -> Response:
    return call.json(200, {"events": list(ALL_EVENT_TYPES), "doc_url": WEBHOOK_EVENTS_DOC_URL})


def create_subscription(call: Call) -> Response:
    body = call.body()
    target = _target(body.get("target_url"))
    if any(s.target_url == target for s in call.backend.subscriptions.values()):
        raise conflict("target_url: another subscription already uses this URL")
    events = _events(body.get("subscribed_events"))
    options = _options(call, body)
    subscription = call.backend.subscribe(
        target, events, "whsec_" + base64.b64encode(call.backend.make_secret()).decode()
    )
    for key, value in options.items():
        setattr(subscription, key, value)
    return call.json(201, {**_json(subscription), "signing_secret": subscription.secret})


def _find(call: Call) -> Subscription:
    subscription = call.backend.subscriptions.get(call.params["subscriptionId"])
    if subscription is None:
        raise not_found("Webhook subscription")
    return subscription


def list_subscriptions(call: Call) -> Response:
    subscriptions = call.backend.subscriptions.values()
    return call.json(200, {"subscriptions": [_json(s) for s in subscriptions]})


def get_subscription(call: Call) -> Response:
    return call.json(200, _json(_find(call)))


def update_subscription(call: Call) -> Response:
    subscription = _find(call)
    body = call.body()
    if "target_url" in body:
        subscription.target_url = _target(body["target_url"])
        subscription.version = version_of(subscription.target_url)
    if "subscribed_events" in body:
        subscription.events = _events(body["subscribed_events"])
    if "is_active" in body:
        if not isinstance(body["is_active"], bool):
            raise bad_request("is_active must be true or false")
        subscription.is_active = body["is_active"]
    for key, value in _options(call, body).items():
        setattr(subscription, key, value)
    subscription.updated_at = call.backend.primary.now
    return call.json(200, _json(subscription))


def delete_subscription(call: Call) -> Response:
    call.backend.subscriptions.pop(_find(call).id)
    return Response.empty()


WEBHOOK_ROUTES = (
    Route("GET", "/v3/webhook-events", list_event_types),
    Route("POST", "/v3/webhook-subscriptions", create_subscription),
    Route("GET", "/v3/webhook-subscriptions", list_subscriptions),
    Route("GET", "/v3/webhook-subscriptions/{subscriptionId}", get_subscription),
    Route("PUT", "/v3/webhook-subscriptions/{subscriptionId}", update_subscription),
    Route("DELETE", "/v3/webhook-subscriptions/{subscriptionId}", delete_subscription),
)
