"""Webhook event types and subscriptions (create returns the signing secret, once)."""

from __future__ import annotations

import base64
from typing import Any

from adapters.linq.simulator import _wire
from adapters.linq.simulator._errors import bad_request, not_found
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._routing import Call, Route
from adapters.linq.simulator._targets import EVENT_TYPES, is_loopback_url, version_of
from adapters.linq.simulator.state import Subscription

__all__ = ["WEBHOOK_ROUTES"]

_DOC_URL = "https://apidocs.linqapp.com/documentation/webhook-events"


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
    unknown = [v for v in value if v not in EVENT_TYPES]
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
    }


def list_event_types(call: Call) -> Response:
    return call.json(200, {"events": list(EVENT_TYPES), "doc_url": _DOC_URL})


def create_subscription(call: Call) -> Response:
    body = call.body()
    target = _target(body.get("target_url"))
    subscription = call.backend.subscribe(
        target,
        _events(body.get("subscribed_events")),
        "whsec_" + base64.b64encode(call.backend.make_secret()).decode(),
    )
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
