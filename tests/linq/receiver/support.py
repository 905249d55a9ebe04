"""Signed Linq deliveries and a receiver wired to a recording handler, for the receiver tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx

from adapters.linq.asgi import DEFAULT_MAX_BODY_BYTES, WebhookReceiver
from adapters.linq.webhooks import WebhookVerifier, sign_legacy, sign_standard
from caresupport_transport import InboundEvent
from caresupport_transport.inbound import EventStore, InboundDispatcher, MemoryEventStore

# A Standard Webhooks secret (whsec_ + base64 of 24 bytes) made for these tests.
SECRET = "whsec_Y2FyZXN1cHBvcnQtcmVjZWl2ZXItdGVzdHM="
NOW = 1_770_000_000
URL = "http://testserver/linq/webhooks?version=2026-02-03"
STATUSES = frozenset({200, 400, 401, 405, 413, 500, 503})


def envelope(
    event_id: str = "evt-1",
    *,
    event_type: str = "message.received",
    message_id: str = "msg-1",
    chat_id: str = "chat-1",
    text: str = "Did Mom take her 8am pills?",
    direction: str = "inbound",
) -> dict[str, Any]:
    """A 2026-02-03 delivery; message fields are used for ``message.*`` types."""
    data: dict[str, Any] = {
        "chat": {"id": chat_id, "is_group": False, "owner_handle": {"handle": "+12025551234"}},
        "id": message_id,
        "direction": direction,
        "sender_handle": {"handle": "+12025559876"},
        "parts": [{"type": "text", "value": text}],
        "service": "iMessage",
        "sent_at": "2026-02-05T19:31:13.074Z",
    }
    return {
        "api_version": "v3",
        "webhook_version": "2026-02-03",
        "event_type": event_type,
        "event_id": event_id,
        "created_at": "2026-02-05T19:31:13.736Z",
        "trace_id": "trace-1",
        "partner_id": "caresupport-partner",
        "data": data,
    }


def encode(payload: object) -> bytes:
    return json.dumps(payload).encode("utf-8")


def standard_headers(
    body: bytes, *, msg_id: str = "msg_delivery_1", timestamp: int = NOW, secret: str = SECRET
) -> dict[str, str]:
    return sign_standard(body, secret, msg_id=msg_id, timestamp=timestamp)


def legacy_headers(
    body: bytes, *, timestamp: int = NOW, prefix: str = "X-Webhook", secret: str = SECRET
) -> dict[str, str]:
    return sign_legacy(body, secret, timestamp=timestamp, header_prefix=prefix)


@attrs.define
class Recorder:
    """The care logic's handler, recording what it got; ``failures_left`` makes it raise."""

    handled: list[InboundEvent] = attrs.field(factory=list)
    failures_left: int = 0

    async def __call__(self, event: InboundEvent) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("care logic is down")
        self.handled.append(event)


@attrs.define
class Harness:
    """A receiver, its handler and store, and an httpx client talking to it in-process."""

    receiver: WebhookReceiver
    handler: Recorder
    store: EventStore
    client: httpx.AsyncClient

    async def post(
        self, body: bytes, headers: Mapping[str, str] | None = None, *, url: str = URL
    ) -> httpx.Response:
        return await self.client.post(url, content=body, headers=dict(headers or {}))


def make_receiver(
    *,
    secrets: str | list[str] | None = SECRET,
    store: EventStore | None = None,
    handler: Recorder | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> tuple[WebhookReceiver, Recorder, EventStore]:
    handler = handler if handler is not None else Recorder()
    store = store if store is not None else MemoryEventStore()
    verifier = WebhookVerifier(secrets, clock=lambda: float(NOW))
    receiver = WebhookReceiver(
        verifier, InboundDispatcher(handler, store), max_body_bytes=max_body_bytes
    )
    return receiver, handler, store


@asynccontextmanager
async def harness(
    *,
    secrets: str | list[str] | None = SECRET,
    store: EventStore | None = None,
    handler: Recorder | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> AsyncIterator[Harness]:
    receiver, handler, store = make_receiver(
        secrets=secrets, store=store, handler=handler, max_body_bytes=max_body_bytes
    )
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport) as client:
        yield Harness(receiver, handler, store, client)
