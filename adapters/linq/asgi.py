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
no signature headers, or malformed ones (the body     401     the verifier's reason
is not read)
``max_concurrent`` requests already in hand, none     503     ``busy``
of them still reading its body
body not complete within ``body_timeout`` (10 s), or  503     ``too slow``
cut to make room for a newer request
signature, timestamp or headers wrong                 401     the verifier's reason
body not JSON / not an envelope (after verifying)     400     ``not a delivery``
stored in the inbox, duplicate or filtered echo       200     ``queued`` / ``duplicate`` /
                                                              ``filtered``
the inbox's store cannot be reached                   503     ``not stored``
*with* ``ack_after_handler``: handled                 200     ``handled``
*with* ``ack_after_handler``: another worker is       503     ``in progress``
handling the same event
*with* ``ack_after_handler``: the handler failed      500     ``handler failed``
====================================================  ======  =======================

Only a 2xx tells Linq the event arrived; everything else is retried by Linq (5xx)
or refused for good (4xx), so an event is never acknowledged before it is stored
in the inbox (or, with ``ack_after_handler``, handled). The inbox's worker starts
with the application (ASGI lifespan) or with the first delivery, and stops with
the application. The raw bytes are verified before anything parses them. Response
bodies are small JSON objects that never contain a secret or a stack trace.

Under hostile load the receiver protects itself without refusing Linq for good:

- What cannot be a delivery is refused before its body is read, with
  ``Connection: close``: a declared length over the limit (413), missing or
  malformed signature headers (401).
- At most ``max_concurrent`` requests (default 64) are in hand at once. Requests
  still reading their body hold at most ``max_unverified_bytes`` (default 16 MB)
  between them (a declared ``Content-Length`` is reserved up front). When a new
  request needs a slot or bytes, the request that has been reading longest is
  cut (503 ``too slow``): a genuine delivery arrives in milliseconds, so it is
  slow senders that make room. With nobody to cut, the answer is 503 ``busy``.
- A body must arrive within ``body_timeout`` seconds (default 10).
- Every refusal under load is a 503 with ``Retry-After``, never a 4xx: Linq
  retries 5xx for about 30 minutes and gives up at once on a 4xx, so a genuine
  delivery caught in a flood arrives later instead of being lost.

The deadline for the request *head* and the bound on connections belong to the
server, below ASGI: see :mod:`adapters.linq.serving`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import attrs

from adapters.linq.receiving import (
    DEFAULT_MAX_BODY_BYTES,
    WebhookIntake,
    declared_length,
    inbound_sink,
)
from adapters.linq.webhooks import (
    DEFAULT_TOLERANCE_SECONDS,
    RawHeaders,
    SignedHeaders,
    WebhookVerifier,
)
from caresupport_transport._log_safe import describe_failure
from caresupport_transport.errors import (
    ConfigurationError,
    WebhookVerificationError,
)
from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound import (
    EventStore,
    InboundSink,
    InboxWorker,
    RetrySchedule,
    by_conversation,
)
from caresupport_transport.port import InboundHandler

__all__ = [
    "BUSY_RETRY_AFTER_SECONDS",
    "DEFAULT_BODY_TIMEOUT_SECONDS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_CONCURRENT",
    "DEFAULT_MAX_UNVERIFIED_BYTES",
    "WebhookReceiver",
    "create_webhook_app",
]

_log = logging.getLogger(__name__)

DEFAULT_BODY_TIMEOUT_SECONDS = 10.0
"""Seconds a body may take to arrive; Linq sends a delivery in milliseconds."""

DEFAULT_MAX_CONCURRENT = 64
"""Requests in hand at once (reading, verifying or being handled)."""

DEFAULT_MAX_UNVERIFIED_BYTES = 16 * 1_048_576
"""16 MB: what requests still reading their (unverified) body may hold between them."""

BUSY_RETRY_AFTER_SECONDS = 10
"""``Retry-After`` of a 503 given under load."""

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


def _early(status: int, error: str, detail: str = "", **headers: str) -> _Response:
    """A refusal sent before the body was read: the connection closes after it.

    Keeping it open would let the client go on dripping a body nobody reads.
    """
    return _error(status, error, detail, connection="close", **headers)


class _ClientGone(Exception):
    """The client disconnected before sending the whole body."""


class _NoRoom(Exception):
    """The byte budget for unverified bodies has no room left, and nobody to cut."""


class _Slot:
    """One request admitted by :class:`_Admission`; while reading, it can be cut."""

    __slots__ = ("cut", "deadline", "released", "reserved")

    def __init__(self) -> None:
        self.deadline: asyncio.Timeout | None = None
        self.reserved = 0
        self.cut = False
        self.released = False


class _Admission:
    """The bounds on requests in hand and on bytes held by unverified bodies.

    Readers are kept oldest first (dicts keep insertion order). Cutting one
    frees its slot and its bytes at once and expires its body deadline, so its
    task answers 503 on its next step.
    """

    def __init__(self, max_concurrent: int, max_unverified_bytes: int) -> None:
        self.max_concurrent = max_concurrent
        self.max_unverified_bytes = max_unverified_bytes
        self.in_hand = 0
        self.unverified_bytes = 0
        self._readers: dict[_Slot, None] = {}

    def admit(self) -> _Slot | None:
        """A slot for a new request, cutting the oldest reader if need be; ``None`` if full."""
        if self.in_hand >= self.max_concurrent and not self._cut_oldest(None):
            return None
        self.in_hand += 1
        return _Slot()

    def start_reading(self, slot: _Slot, deadline: asyncio.Timeout) -> None:
        slot.deadline = deadline
        self._readers[slot] = None

    def reserve(self, slot: _Slot, size: int) -> bool:
        """Hold ``size`` more bytes for ``slot``'s body, cutting older readers if need be."""
        while self.unverified_bytes + size > self.max_unverified_bytes:
            if not self._cut_oldest(slot):
                return False
        self.unverified_bytes += size
        slot.reserved += size
        return True

    def stop_reading(self, slot: _Slot) -> None:
        if slot in self._readers:
            del self._readers[slot]
            self.unverified_bytes -= slot.reserved
            slot.reserved = 0

    def release(self, slot: _Slot) -> None:
        if not slot.released:
            slot.released = True
            self.in_hand -= 1
            self.stop_reading(slot)

    def _cut_oldest(self, spare: _Slot | None) -> bool:
        victim = next((slot for slot in self._readers if slot is not spare), None)
        if victim is None or victim.deadline is None:
            return False
        victim.cut = True
        self.release(victim)
        victim.deadline.reschedule(asyncio.get_running_loop().time())
        return True


class WebhookReceiver:
    """The ASGI app: verify, parse, store (or dispatch), then answer (see the module docstring).

    Args:
        verifier: checks signatures; an unconfigured one makes every answer 503.
        sink: an :class:`~caresupport_transport.inbound.Inbox` (store now,
            handle later) or an :class:`~caresupport_transport.inbound.InboundDispatcher`
            (handle, then answer).
        worker: the worker that empties the inbox in this process, started
            and stopped with the application (``None``: workers run elsewhere).
        max_body_bytes: larger bodies are refused with 413 without being read.
        body_timeout: seconds a body may take to arrive, from when the request
            was admitted; a slower one is answered 503 ``too slow``.
        max_concurrent: requests in hand at once; beyond it 503 ``busy``
            (after cutting the oldest request still reading its body, if any).
        max_unverified_bytes: bytes requests still reading their body may hold
            between them; at least ``max_body_bytes``.

    Raises:
        ConfigurationError: naming the argument that is not a positive number
            (or a budget smaller than one body).
    """

    def __init__(
        self,
        verifier: WebhookVerifier,
        sink: InboundSink,
        *,
        worker: InboxWorker | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        max_unverified_bytes: int = DEFAULT_MAX_UNVERIFIED_BYTES,
    ) -> None:
        _check_positive_int("max_body_bytes", max_body_bytes)
        _check_positive_int("max_concurrent", max_concurrent)
        _check_positive_int("max_unverified_bytes", max_unverified_bytes)
        if max_unverified_bytes < max_body_bytes:
            raise ConfigurationError(
                f"max_unverified_bytes: must hold at least one body of max_body_bytes "
                f"({max_body_bytes}), got {max_unverified_bytes}"
            )
        if isinstance(body_timeout, bool) or not isinstance(body_timeout, int | float):
            raise ConfigurationError("body_timeout: must be a number of seconds")
        if not (math.isfinite(body_timeout) and body_timeout > 0):
            raise ConfigurationError(
                f"body_timeout: must be a positive, finite number of seconds, got {body_timeout}"
            )
        self.verifier = verifier
        self.sink = sink
        self.intake = WebhookIntake(verifier, sink, worker=worker, max_body_bytes=max_body_bytes)
        self.max_body_bytes = max_body_bytes
        self.body_timeout = float(body_timeout)
        self._admission = _Admission(max_concurrent, max_unverified_bytes)

    @property
    def max_concurrent(self) -> int:
        """Requests in hand at once; beyond it, 503 ``busy``."""
        return self._admission.max_concurrent

    @property
    def max_unverified_bytes(self) -> int:
        """Bytes requests still reading their body may hold between them."""
        return self._admission.max_unverified_bytes

    @property
    def in_hand(self) -> int:
        """Requests admitted and not yet answered."""
        return self._admission.in_hand

    @property
    def unverified_bytes(self) -> int:
        """Bytes reserved right now by requests still reading their body."""
        return self._admission.unverified_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "http":
            try:
                response = await self._respond(scope, receive)
            except _ClientGone:
                return  # nobody to answer; the event was not handled, Linq will retry
            await response.send(send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})

    @property
    def worker(self) -> InboxWorker | None:
        """The in-process inbox worker, if any."""
        return self.intake.worker

    async def start(self) -> None:
        """Start the in-process worker (the ASGI lifespan's startup does it)."""
        await self.intake.start()

    async def aclose(self) -> None:
        """Stop the in-process worker (the ASGI lifespan's shutdown does it)."""
        await self.intake.aclose()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message.get("type") == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message.get("type") == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _respond(self, scope: Scope, receive: Receive) -> _Response:
        if scope.get("method") != "POST":
            return _error(405, "method not allowed", "deliveries are POSTed", allow="POST")
        if not self.verifier.configured:
            return _error(
                503,
                "no secret configured",
                "the receiver refuses every delivery until a signing secret is set",
            )
        headers: RawHeaders = scope.get("headers", ())
        declared = declared_length(headers)
        if declared == -1:
            return _early(400, "malformed request", "Content-Length is not a number")
        if declared is not None and declared > self.max_body_bytes:
            return self._too_large()
        signed = self._read_signing_headers(headers)
        if isinstance(signed, _Response):
            return signed
        slot = self._admission.admit()
        if slot is None:
            _log.warning("refused a request: %d already in hand", self._admission.in_hand)
            return _busy("busy", f"{self._admission.in_hand} requests in hand; deliver it again")
        try:
            body = await self._read_admitted(slot, receive, declared or 0)
            if isinstance(body, _Response):
                return body
            return await self._deliver(body, signed)
        finally:
            self._admission.release(slot)

    def _read_signing_headers(self, headers: RawHeaders) -> SignedHeaders | _Response:
        """The signing headers, read once; or a 401 when they alone show it cannot be a delivery.

        The verifier's ``missing header`` and ``malformed`` reasons come from
        the headers before the body plays any part. The signature itself is
        checked once the body is read, against what was read here.
        """
        try:
            return self.verifier.read_headers(headers)
        except WebhookVerificationError as exc:
            _log.warning("refused a webhook delivery: %s", exc)
            return _early(401, exc.reason, exc.detail)
        except Exception as exc:
            _log.error("the webhook verifier failed: %s", describe_failure(exc))
            return _error(500, "internal error")

    async def _read_admitted(
        self, slot: _Slot, receive: Receive, declared: int
    ) -> bytes | _Response:
        """The body read under the deadline and the byte budget, or the refusal to send."""
        try:
            async with asyncio.timeout(self.body_timeout) as deadline:
                self._admission.start_reading(slot, deadline)
                if not self._admission.reserve(slot, declared):
                    raise _NoRoom
                body = await self._read_body(receive, slot)
        except _NoRoom:
            _log.warning("refused a request: no room for more unverified bodies")
            return _busy("busy", "too many bodies arriving at once; deliver it again")
        except TimeoutError:
            if slot.cut:
                _log.warning("cut a request still reading its body to make room for a newer one")
                return _busy("too slow", "cut to make room for newer requests; deliver it again")
            _log.warning("refused a request whose body took over %g s", self.body_timeout)
            return _busy("too slow", f"the body took over {self.body_timeout:g} s")
        finally:
            self._admission.stop_reading(slot)
        if body is None:
            return self._too_large()
        return body

    async def _deliver(self, body: bytes, signed: SignedHeaders) -> _Response:
        answer = await self.intake.handle(body, signed)
        return _Response(answer.status, answer.body, answer.headers)

    async def _read_body(self, receive: Receive, slot: _Slot) -> bytes | None:
        """The whole body, or ``None`` as soon as it exceeds the limit (the rest unread).

        Bytes beyond what was reserved (a body without ``Content-Length``) are
        reserved as they come.

        Raises:
            _ClientGone: the client disconnected.
            _NoRoom: the budget cannot make room for the next chunk.
        """
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
            if size > slot.reserved and not self._admission.reserve(slot, size - slot.reserved):
                raise _NoRoom
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> _Response:
        return _early(413, "body too large", f"at most {self.max_body_bytes} bytes")


def _busy(error: str, detail: str) -> _Response:
    """503 with ``Retry-After``: Linq delivers it again, as it would not after a 4xx."""
    return _early(503, error, detail, retry_after=str(BUSY_RETRY_AFTER_SECONDS))


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name}: must be an int")
    if value < 1:
        raise ConfigurationError(f"{name}: must be positive, got {value}")


def create_webhook_app(
    secrets: str | Sequence[str] | None,
    handler: InboundHandler,
    store: EventStore,
    *,
    ack_after_handler: bool = False,
    include_outbound: bool = False,
    order_key: Callable[[InboundEvent], str] = by_conversation,
    schedule: RetrySchedule | None = None,
    workers: bool = True,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    max_unverified_bytes: int = DEFAULT_MAX_UNVERIFIED_BYTES,
) -> WebhookReceiver:
    """Wire a verifier, the inbox and its worker (or a dispatcher), and the receiver.

    Args:
        secrets: the Linq signing secret(s); ``None`` makes every answer 503.
        handler: the care logic's async handler.
        store: the inbox and the record of seen events (SQLite on one host,
            PostgreSQL or Redis for many; see ``open_event_store``).
        ack_after_handler: run the handler inside the delivery and answer after it.
        include_outbound: also hand over our own outbound echoes.
        order_key: events with one key are handled one at a time, in order.
        schedule: the inbox's retry schedule (default: up to 24 hours).
        workers: run a worker in this process (``False`` when ``inbox work``
            processes do it).
        tolerance: seconds a delivery's timestamp may be off, either way.
        max_body_bytes: the body size limit.
        body_timeout: seconds a body may take to arrive.
        max_concurrent: requests in hand at once.
        max_unverified_bytes: bytes unverified bodies may hold between them.
    """
    sink, worker = inbound_sink(
        handler,
        store,
        ack_after_handler=ack_after_handler,
        include_outbound=include_outbound,
        order_key=order_key,
        schedule=schedule,
        workers=workers,
    )
    return WebhookReceiver(
        WebhookVerifier(secrets, tolerance=tolerance),
        sink,
        worker=worker,
        max_body_bytes=max_body_bytes,
        body_timeout=body_timeout,
        max_concurrent=max_concurrent,
        max_unverified_bytes=max_unverified_bytes,
    )
