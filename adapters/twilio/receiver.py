"""``TwilioWebhookReceiver``: the ASGI app Twilio posts inbound messages and status callbacks to.

Each delivery, in order: ``POST`` only (405); an auth token configured (503
otherwise: verification cannot be turned off); a body of at most
``max_body_bytes`` (413); the URL Twilio requested rebuilt (see below) and
``X-Twilio-Signature`` checked over it and the raw form, before anything else
reads the form (403 when it fails); the event handed to the sink (the inbox,
or a dispatcher with ``ack_after_handler``): 200 with an empty TwiML
``<Response/>`` once it is stored (or handled), 503 when it could not be, so
Twilio's retry brings it again.

The URL: Twilio signs the public URL it was configured with. Behind a proxy the
app sees another one, so give ``public_url`` (the scheme, host and any path
prefix Twilio uses, e.g. ``https://care.example.org``; the request's path and
query are appended) or set ``trust_forwarded`` to read ``X-Forwarded-Proto``
and ``X-Forwarded-Host`` (only behind a proxy that sets them). Otherwise the
request's own scheme and ``Host`` are used.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from adapters.twilio.signature import SIGNATURE_HEADER, TwilioSignatureVerifier
from adapters.twilio.webhook_events import event_from_form
from caresupport_transport.errors import WebhookVerificationError
from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound import InboundSink, InboxWorker

__all__ = ["DEFAULT_MAX_BODY_BYTES", "TwilioWebhookReceiver"]

DEFAULT_MAX_BODY_BYTES = 64 * 1024
"""Twilio's webhooks are small forms (an SMS is at most 1,600 characters)."""

_log = logging.getLogger(__name__)
_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode()
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            text: str = value.decode("latin-1")
            return text
    return None


def request_url(scope: Scope, *, public_url: str | None, trust_forwarded: bool) -> str:
    """The URL Twilio requested, as it signed it (see the module docstring)."""
    path = str(scope.get("root_path", "")) + str(scope.get("path", "/"))
    query = scope.get("query_string", b"").decode("latin-1")
    tail = path + (f"?{query}" if query else "")
    if public_url is not None:
        return public_url.rstrip("/") + tail
    scheme = scope.get("scheme", "http")
    host = _header(scope, "host") or ""
    if trust_forwarded:
        scheme = (_header(scope, "x-forwarded-proto") or scheme).split(",")[0].strip()
        host = (_header(scope, "x-forwarded-host") or host).split(",")[0].strip()
    return f"{scheme}://{host}{tail}"


class TwilioWebhookReceiver:
    """A plain ASGI application for Twilio's messaging webhooks.

    Args:
        verifier: checks ``X-Twilio-Signature``.
        sink: where verified events go (an ``Inbox`` or an ``InboundDispatcher``).
        worker: the inbox worker to run with the app (``None``: it runs elsewhere).
        public_url, trust_forwarded: how the signed URL is rebuilt (module docstring).
        max_body_bytes: larger deliveries are refused (413).
        clock: the time stamped on events (Twilio sends none).
        observe: sees each verified event first; ``False`` drops it (acknowledged, not handed on).
    """

    def __init__(
        self,
        verifier: TwilioSignatureVerifier,
        sink: InboundSink,
        *,
        worker: InboxWorker | None = None,
        public_url: str | None = None,
        trust_forwarded: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        observe: Callable[[InboundEvent], bool] = lambda event: True,
    ) -> None:
        self.verifier = verifier
        self.sink = sink
        self.worker = worker
        self.public_url = public_url
        self.trust_forwarded = trust_forwarded
        self.max_body_bytes = max_body_bytes
        self._clock = clock
        self._observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope.get("method") != "POST":
            await _answer(send, 405, b"method not allowed")
            return
        if not self.verifier.configured:
            await _answer(send, 503, b"no auth token configured")
            return
        body = await _read(receive, self.max_body_bytes)
        if body is None:
            await _answer(send, 413, b"body too large")
            return
        url = request_url(scope, public_url=self.public_url, trust_forwarded=self.trust_forwarded)
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        try:
            self.verifier.verify(url, pairs, _header(scope, SIGNATURE_HEADER))
        except WebhookVerificationError as exc:
            _log.warning("twilio webhook refused: %s", exc.reason)
            await _answer(send, 403, exc.reason.encode())
            return
        event = event_from_form(pairs, self._clock())
        if not self._observe(event):
            await _answer(send, 200, _TWIML, content_type=b"text/xml")  # dropped: blocked sender
            return
        if self.worker is not None and not self.worker.started:
            self.worker.start()
        try:
            await self.sink.dispatch(event)
        except Exception:  # stored nowhere: Twilio must retry
            _log.exception("twilio webhook not stored")
            await _answer(send, 503, b"not stored")
            return
        await _answer(send, 200, _TWIML, content_type=b"text/xml")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.worker is not None and not self.worker.started:
                    self.worker.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.worker is not None and self.worker.started:
                    await self.worker.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or ``None`` once it passes ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    send: Send, status: int, body: bytes, *, content_type: bytes = b"text/plain"
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
