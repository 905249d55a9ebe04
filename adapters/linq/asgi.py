"""``WebhookReceiver``: a plain ASGI application that receives Linq webhook deliveries.

No web framework is needed; any ASGI server (uvicorn, hypercorn) runs it, and
Starlette or FastAPI can mount it. It reads the request, then hands the body to a
:class:`~adapters.linq.receiving.WebhookIntake` (the framework-neutral entry that
verifies, parses and dispatches). Each delivery goes through, in order:

====================================================  ======  =======================
check                                                 status  body ``error`` / ``status``
====================================================  ======  =======================
method is not ``POST``                                405     ``method not allowed``
no signing secret configured (fail closed)            503     ``no secret configured``
``Content-Length`` not a number                       400     ``malformed request``
body larger than ``max_body_bytes`` (default 1 MB)    413     ``body too large``
signature, timestamp or headers wrong                 401     the verifier's reason
body not JSON / not an envelope (after verifying)     400     ``not a delivery``
handled, duplicate or filtered echo                   200     ``handled`` / ``duplicate`` /
                                                              ``filtered``
another worker is handling the same event             503     ``in progress``
the care logic's handler (or the store) failed        500     ``handler failed``
====================================================  ======  =======================

Only a 2xx tells Linq the event arrived; everything else is retried by Linq (5xx)
or refused for good (4xx), so an event is never acknowledged before the handler
succeeded. The raw bytes are verified before anything parses them. Response
bodies are small JSON objects that never contain a secret or a stack trace.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import attrs

from adapters.linq.receiving import DEFAULT_MAX_BODY_BYTES, WebhookIntake, declared_length
from adapters.linq.webhooks import DEFAULT_TOLERANCE_SECONDS, WebhookVerifier
from caresupport_transport.inbound import EventStore, InboundDispatcher
from caresupport_transport.port import InboundHandler

__all__ = ["DEFAULT_MAX_BODY_BYTES", "WebhookReceiver", "create_webhook_app"]

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]


@attrs.frozen
class _Response:
    status: int
    body: dict[str, str]
    headers: tuple[tuple[str, str], ...] = ()

    async def send(self, send: Send) -> None:
        payload = json.dumps(self.body).encode("utf-8")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode("ascii")),
            *((name.encode("latin-1"), value.encode("latin-1")) for name, value in self.headers),
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _error(status: int, error: str, detail: str = "", **headers: str) -> _Response:
    body = {"error": error, "detail": detail} if detail else {"error": error}
    return _Response(status, body, tuple((k.replace("_", "-"), v) for k, v in headers.items()))


class _ClientGone(Exception):
    """The client disconnected before sending the whole body."""


class WebhookReceiver:
    """The ASGI app: read the request, hand it to a ``WebhookIntake``, send its answer.

    Args:
        verifier: checks signatures; an unconfigured one makes every answer 503.
        dispatcher: de-duplicates and calls the care logic's handler.
        max_body_bytes: larger bodies are refused with 413 without being read.

    Raises:
        ConfigurationError: ``max_body_bytes`` is not a positive int.
    """

    def __init__(
        self,
        verifier: WebhookVerifier,
        dispatcher: InboundDispatcher,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.intake = WebhookIntake(verifier, dispatcher, max_body_bytes=max_body_bytes)
        self.verifier = verifier
        self.dispatcher = dispatcher
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "http":
            try:
                response = await self._respond(scope, receive)
            except _ClientGone:
                return  # nobody to answer; the event was not handled, Linq will retry
            await response.send(send)
        elif kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})

    async def _respond(self, scope: Scope, receive: Receive) -> _Response:
        if scope.get("method") != "POST":
            return _error(405, "method not allowed", "deliveries are POSTed", allow="POST")
        if not self.verifier.configured:
            return _error(
                503,
                "no secret configured",
                "the receiver refuses every delivery until a signing secret is set",
            )
        headers = _headers(scope)
        declared = declared_length(headers)
        if declared == -1:
            return _error(400, "malformed request", "Content-Length is not a number")
        if declared is not None and declared > self.max_body_bytes:
            return self._too_large()
        body = await self._read_body(receive)
        if body is None:
            return self._too_large()
        return await self._deliver(body, headers)

    async def _deliver(self, body: bytes, headers: list[tuple[str, str]]) -> _Response:
        answer = await self.intake.handle(body, headers)
        return _Response(answer.status, answer.body, answer.headers)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or ``None`` as soon as it exceeds the limit (the rest unread)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                raise _ClientGone
            if message.get("type") != "http.request":
                continue
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> _Response:
        return _error(413, "body too large", f"at most {self.max_body_bytes} bytes")


def create_webhook_app(
    secrets: str | Sequence[str] | None,
    handler: InboundHandler,
    store: EventStore,
    *,
    include_outbound: bool = False,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookReceiver:
    """Wire a verifier, a dispatcher and the receiver in one call.

    Args:
        secrets: the Linq signing secret(s); ``None`` makes every answer 503.
        handler: the care logic's async handler.
        store: where handled events are remembered (``SqliteEventStore`` in production).
        include_outbound: also hand over our own outbound echoes.
        tolerance: seconds a delivery's timestamp may be off, either way.
        max_body_bytes: the body size limit.
    """
    verifier = WebhookVerifier(secrets, tolerance=tolerance)
    dispatcher = InboundDispatcher(handler, store, include_outbound=include_outbound)
    return WebhookReceiver(verifier, dispatcher, max_body_bytes=max_body_bytes)


def _headers(scope: Scope) -> list[tuple[str, str]]:
    # HTTP header bytes are Latin-1 by definition; decoding them cannot fail.
    return [
        (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
        for name, value in scope.get("headers", ())
    ]


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: acknowledge both so servers with lifespan "on" are happy."""
    while True:
        message = await receive()
        if message.get("type") == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message.get("type") == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
