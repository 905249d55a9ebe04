"""WebhookReceiver's limits: early refusals, body deadline, requests in hand, unverified bytes.

Driven by direct ASGI calls, so a body can arrive slowly, or never.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import MutableMapping
from typing import Any

import pytest

from adapters.linq.asgi import BUSY_RETRY_AFTER_SECONDS, WebhookReceiver, create_webhook_app
from adapters.linq.webhooks import WebhookVerifier
from caresupport_transport import ConfigurationError, InboundEvent
from caresupport_transport.inbound import InboundDispatcher, MemoryEventStore

from .support import NOW, SECRET, Recorder, encode, envelope, standard_headers


def make(**limits: Any) -> tuple[WebhookReceiver, Recorder]:
    handler = Recorder()
    verifier = WebhookVerifier(SECRET, clock=lambda: float(NOW))
    dispatcher = InboundDispatcher(handler, MemoryEventStore())
    return WebhookReceiver(verifier, dispatcher, **limits), handler


def signed_headers(body: bytes, *, length: int | None = None) -> list[tuple[bytes, bytes]]:
    headers = [(k.encode(), v.encode()) for k, v in standard_headers(body).items()]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return headers


class Client:
    """One request fed to the app chunk by chunk; ``feed`` and ``finish`` drive it."""

    def __init__(self, app: WebhookReceiver, headers: list[tuple[bytes, bytes]]) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.reads = 0
        scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
        self.task = asyncio.create_task(app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        self.reads += 1
        return await self.incoming.get()

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(dict(message))

    def feed(self, chunk: bytes, *, more: bool = True) -> None:
        self.incoming.put_nowait({"type": "http.request", "body": chunk, "more_body": more})

    async def answer(self) -> tuple[int, dict[bytes, bytes], dict[str, Any]]:
        async with asyncio.timeout(5):
            await self.task
        start, body = self.sent
        return start["status"], dict(start["headers"]), json.loads(body["body"])


async def settle() -> None:
    """Let every ready task run up to its next wait."""
    for _ in range(5):
        await asyncio.sleep(0)


BODY = encode(envelope())


async def test_unsigned_request_is_401_before_its_body_is_read_and_the_connection_closes() -> None:
    receiver, handler = make()
    client = Client(receiver, [(b"content-length", b"1048576")])

    status, headers, body = await client.answer()

    assert 401 == status
    assert "missing header" == body["error"]
    assert 0 == client.reads
    assert b"close" == headers[b"connection"]
    assert [] == handler.handled


async def test_malformed_signature_header_is_401_before_the_body_is_read() -> None:
    receiver, _ = make()
    headers = dict(standard_headers(BODY))
    headers["webhook-timestamp"] = "yesterday"
    client = Client(receiver, [(k.encode(), v.encode()) for k, v in headers.items()])

    status, _, body = await client.answer()

    assert (401, "malformed") == (status, body["error"])
    assert 0 == client.reads


async def test_declared_length_over_the_limit_closes_the_connection_after_413() -> None:
    receiver, _ = make(max_body_bytes=1_000)
    client = Client(receiver, signed_headers(BODY, length=5_000))

    status, headers, _ = await client.answer()

    assert 413 == status
    assert b"close" == headers[b"connection"]
    assert 0 == client.reads


async def test_body_that_never_finishes_is_503_too_slow_with_retry_after() -> None:
    receiver, handler = make(body_timeout=0.05)
    client = Client(receiver, signed_headers(BODY))
    client.feed(BODY[:10])  # and nothing more, ever

    status, headers, body = await client.answer()

    assert (503, "too slow") == (status, body["error"])
    assert str(BUSY_RETRY_AFTER_SECONDS).encode() == headers[b"retry-after"]
    assert b"close" == headers[b"connection"]
    assert [] == handler.handled
    assert (0, 0) == (receiver.in_hand, receiver.unverified_bytes)


async def test_beyond_max_concurrent_with_nobody_reading_the_answer_is_503_busy() -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    handled: list[InboundEvent] = []

    async def slow_handler(event: InboundEvent) -> None:
        entered.set()
        await release.wait()
        handled.append(event)

    verifier = WebhookVerifier(SECRET, clock=lambda: float(NOW))
    dispatcher = InboundDispatcher(slow_handler, MemoryEventStore())
    receiver = WebhookReceiver(verifier, dispatcher, max_concurrent=1)
    first = Client(receiver, signed_headers(BODY))
    first.feed(BODY, more=False)
    async with asyncio.timeout(5):
        await entered.wait()  # the first is in its handler, no longer reading
    other = encode(envelope("evt-2", message_id="msg-2"))
    second = Client(receiver, signed_headers(other))
    second.feed(other, more=False)

    status, headers, body = await second.answer()
    release.set()
    first_status, _, _ = await first.answer()

    assert (503, "busy") == (status, body["error"])
    assert str(BUSY_RETRY_AFTER_SECONDS).encode() == headers[b"retry-after"]
    assert 0 == second.reads
    assert 200 == first_status
    assert 1 == len(handled)
    assert 0 == receiver.in_hand


async def test_a_new_request_cuts_the_oldest_one_still_reading_its_body() -> None:
    receiver, handler = make(max_concurrent=1)
    dripping = Client(receiver, signed_headers(BODY))
    dripping.feed(BODY[:5])
    await settle()
    genuine = Client(receiver, signed_headers(BODY))
    genuine.feed(BODY, more=False)

    genuine_status, _, _ = await genuine.answer()
    cut_status, cut_headers, cut_body = await dripping.answer()

    assert 200 == genuine_status
    assert (503, "too slow") == (cut_status, cut_body["error"])
    assert b"retry-after" in cut_headers
    assert 1 == len(handler.handled)
    assert (0, 0) == (receiver.in_hand, receiver.unverified_bytes)


async def test_declared_lengths_share_the_unverified_budget_and_the_oldest_makes_room() -> None:
    receiver, handler = make(max_body_bytes=len(BODY), max_unverified_bytes=len(BODY) + 10)
    first = Client(receiver, signed_headers(BODY, length=len(BODY)))
    first.feed(BODY[:5])
    await settle()
    reserved_by_first = receiver.unverified_bytes
    second = Client(receiver, signed_headers(BODY, length=len(BODY)))
    second.feed(BODY, more=False)

    second_status, _, _ = await second.answer()
    first_status, _, first_body = await first.answer()

    assert len(BODY) == reserved_by_first
    assert 200 == second_status
    assert (503, "too slow") == (first_status, first_body["error"])
    assert 1 == len(handler.handled)
    assert 0 == receiver.unverified_bytes


async def test_a_body_without_length_reserves_its_bytes_as_they_come() -> None:
    receiver, _ = make()
    client = Client(receiver, signed_headers(BODY))
    client.feed(BODY[:7])
    await settle()
    held = receiver.unverified_bytes
    client.feed(BODY[7:], more=False)

    status, _, _ = await client.answer()

    assert 7 == held
    assert 200 == status
    assert 0 == receiver.unverified_bytes


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        ({"body_timeout": 0}, "body_timeout"),
        ({"body_timeout": -1.0}, "body_timeout"),
        ({"body_timeout": math.nan}, "body_timeout"),
        ({"body_timeout": math.inf}, "body_timeout"),
        ({"body_timeout": True}, "body_timeout"),
        ({"max_concurrent": 0}, "max_concurrent"),
        ({"max_concurrent": 2.5}, "max_concurrent"),
        ({"max_unverified_bytes": 0}, "max_unverified_bytes"),
        ({"max_body_bytes": 2_000, "max_unverified_bytes": 1_000}, "max_unverified_bytes"),
    ],
)
def test_limits_are_checked_at_construction(limits: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        make(**limits)


def test_create_webhook_app_passes_the_limits_on() -> None:
    app = create_webhook_app(
        SECRET,
        Recorder(),
        MemoryEventStore(),
        body_timeout=2.5,
        max_concurrent=3,
        max_unverified_bytes=4_000_000,
    )

    assert (2.5, 3, 4_000_000) == (app.body_timeout, app.max_concurrent, app.max_unverified_bytes)
