"""Webhook verify + parse: realistic ``message.received`` deliveries and each peer's loop body.

The deliveries are the project's recorded 2026-02-03 ``message.received``
fixture, varied per delivery (event id, message id, text) and signed the way
Linq signs them, both schemes. Each peer gets the raw body (bytes) and the
headers, as a web framework would hand them over.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "WEBHOOK_PEERS",
    "Delivery",
    "make_deliveries",
    "make_handler",
    "new_secret",
    "scheme_of",
]

FIXTURE = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "webhooks"
    / "2026-02-03"
    / "message.received.json"
)

WEBHOOK_PEERS: dict[str, str] = {
    "ours_standard": "WebhookVerifier + parse_delivery (Standard Webhooks)",
    "ours_legacy": "WebhookVerifier + parse_delivery (legacy hex)",
    "ours_intake": "WebhookVerifier + the inbox intake's read (decode_body + delivery_of)",
    "standardwebhooks": "standardwebhooks Webhook.verify (+ json.loads)",
    "linq_sdk": "official SDK webhooks.unwrap (Standard Webhooks only)",
}

_QUESTIONS = (
    "Did Mom take her 8am pills? She sounded tired on the phone.",
    "Can someone drive Dad to physio on Thursday at 3?",
    "The pharmacy says the refill is ready, who can pick it up?",
    "Grandma asked for her reading glasses, they're on the hall table.",
)


@dataclass(frozen=True)
class Delivery:
    """One delivery as received: the raw body and its headers."""

    body: bytes
    headers: dict[str, str]


def new_secret() -> str:
    """A ``whsec_`` secret, as Linq issues them."""
    return "whsec_" + base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()


def make_deliveries(secret: str, count: int, *, scheme: str) -> list[Delivery]:
    """``count`` distinct ``message.received`` deliveries signed now with ``scheme``.

    Args:
        secret: the signing secret.
        count: how many distinct deliveries.
        scheme: ``"standard"`` (``webhook-*`` headers) or ``"legacy"`` (``X-Webhook-*``).
    """
    from adapters.linq.webhooks import sign_legacy, sign_standard

    template = json.loads(FIXTURE.read_text(encoding="utf-8"))
    now = int(time.time())
    deliveries = []
    for index in range(count):
        payload = json.loads(json.dumps(template))
        payload["event_id"] = str(uuid.UUID(int=index + 1))
        payload["data"]["id"] = str(uuid.UUID(int=10**9 + index))
        payload["data"]["parts"][0]["value"] = _QUESTIONS[index % len(_QUESTIONS)]
        body = json.dumps(payload, separators=(",", ":")).encode()
        if scheme == "standard":
            headers = sign_standard(body, secret, msg_id=f"msg_{index:08d}", timestamp=now)
        elif scheme == "legacy":
            headers = sign_legacy(body, secret, timestamp=now)
        else:
            raise ValueError(f"scheme: {scheme!r} is not 'standard' or 'legacy'")
        headers = {"content-type": "application/json", "user-agent": "Linq-Webhooks", **headers}
        deliveries.append(Delivery(body, headers))
    return deliveries


def make_handler(peer: str, secret: str) -> Callable[[Delivery], Any]:
    """The body of ``peer``'s loop: verify one delivery and parse it, returning the event.

    Everything a peer sets up once (a verifier, a client) is made here, outside the loop.
    """
    if peer in ("ours_standard", "ours_legacy"):
        from adapters.linq.webhook_events import parse_delivery
        from adapters.linq.webhooks import WebhookVerifier

        verifier = WebhookVerifier(secret)

        def ours(delivery: Delivery) -> Any:
            verifier.verify(delivery.body, delivery.headers)
            return parse_delivery(delivery.body)

        return ours
    if peer == "ours_intake":
        from adapters.linq.webhook_events import decode_body, delivery_of
        from adapters.linq.webhooks import WebhookVerifier

        intake_verifier = WebhookVerifier(secret)

        def intake(delivery: Delivery) -> Any:
            # What WebhookIntake does before storing a message in the inbox.
            intake_verifier.verify(delivery.body, delivery.headers)
            payload, text = decode_body(delivery.body)
            return delivery_of(payload, text)

        return intake
    if peer == "standardwebhooks":
        from standardwebhooks import Webhook

        webhook = Webhook(secret)

        def reference(delivery: Delivery) -> Any:
            return webhook.verify(delivery.body, delivery.headers)

        return reference
    if peer == "linq_sdk":
        import linq

        client = linq.LinqAPIV3(api_key="unused", webhook_secret=secret)

        def sdk(delivery: Delivery) -> Any:
            return client.webhooks.unwrap(delivery.body.decode(), headers=delivery.headers)

        return sdk
    raise ValueError(f"peer: {peer!r} is not one of {', '.join(WEBHOOK_PEERS)}")


def scheme_of(peer: str) -> str:
    """The signing scheme ``peer``'s deliveries use."""
    return "legacy" if peer == "ours_legacy" else "standard"
