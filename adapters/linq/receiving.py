"""``WebhookIntake``: receive one Linq delivery in any web framework (bytes in, answer out).

The ASGI :class:`~adapters.linq.asgi.WebhookReceiver` reads the request and then
hands the raw body and headers to a ``WebhookIntake``; a FastAPI route, a Flask
view or a Django view does the same (``docs/webhooks.md`` has a tested recipe for
each). The intake verifies, parses and hands the event to its sink, and says what
to answer.

The sink is a durable :class:`~caresupport_transport.inbound.Inbox` by default:
the event is stored and acknowledged at once, and an
:class:`~caresupport_transport.inbound.InboxWorker` (started with the intake, or
running in other processes) hands it to the care logic, retrying for up to a
day. With ``ack_after_handler=True`` the sink is an
:class:`~caresupport_transport.inbound.InboundDispatcher` instead: the handler
runs inside the delivery and the answer waits for it.

====================================================  ======  =======================
check                                                 status  body ``error`` / ``status``
====================================================  ======  =======================
no signing secret configured (fail closed)            503     ``no secret configured``
``Content-Length`` not a number (``refuse_early``)    400     ``malformed request``
body larger than ``max_body_bytes`` (default 1 MB)    413     ``body too large``
signature, timestamp or headers wrong                 401     the verifier's reason
body not JSON / not an envelope (after verifying)     400     ``not a delivery``
stored in the inbox, duplicate or filtered echo       200     ``queued`` / ``duplicate`` /
                                                              ``filtered``
the inbox's store cannot be reached (or failed)       503     ``not stored``
                                                              (``Retry-After: 30``)
*with* ``ack_after_handler``: handled                 200     ``handled``
*with* ``ack_after_handler``: another worker is       503     ``in progress``
handling the same event                                       (``Retry-After: 30``)
*with* ``ack_after_handler``: the handler (or the     500     ``handler failed``
store) failed
====================================================  ======  =======================

Only a 2xx tells Linq the event arrived; everything else is retried by Linq (5xx)
or refused for good (4xx), so an event is never acknowledged before it is stored
(or, with ``ack_after_handler``, handled). The raw bytes are verified before
anything parses them. Answers are small JSON objects that never contain a
secret, a message's content or a stack trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import timedelta
from typing import Any

import attrs

from adapters.linq.webhook_events import decode_body, delivery_of, parse_envelope
from adapters.linq.webhooks import (
    DEFAULT_TOLERANCE_SECONDS,
    Headers,
    SignedHeaders,
    WebhookVerifier,
    header_text,
)
from caresupport_transport._log_safe import describe_failure
from caresupport_transport.errors import (
    ConfigurationError,
    ProtocolError,
    WebhookVerificationError,
)
from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound import (
    DEFAULT_CONCURRENCY,
    DEFAULT_INBOX_LEASE,
    DispatchOutcome,
    EventStore,
    InboundDispatcher,
    InboundSink,
    Inbox,
    InboxWorker,
    RetrySchedule,
    by_conversation,
)
from caresupport_transport.port import InboundHandler

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "RETRY_AFTER_SECONDS",
    "ReceivedAnswer",
    "WebhookIntake",
    "create_webhook_intake",
    "declared_length",
    "inbound_sink",
]

_log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1_048_576
"""1 MB: far above any real delivery, far below what would strain the server."""

RETRY_AFTER_SECONDS = 30
"""What ``Retry-After`` says when the event could not be stored, or is being handled elsewhere."""

_MAX_LENGTH_DIGITS = 18


@attrs.frozen
class ReceivedAnswer:
    """What to answer Linq: a status, a small JSON body and extra response headers.

    Attributes:
        status: the HTTP status.
        body: the JSON object to send (see :attr:`content` for its bytes).
        headers: extra response headers, such as ``("Retry-After", "30")``.
    """

    status: int
    body: dict[str, str] = attrs.field(hash=False)
    headers: tuple[tuple[str, str], ...] = ()

    media_type = "application/json"

    @property
    def content(self) -> bytes:
        """The body as UTF-8 JSON bytes, ready to send."""
        return json.dumps(self.body).encode("utf-8")

    @classmethod
    def refusal(cls, status: int, error: str, detail: str = "", **headers: str) -> ReceivedAnswer:
        """An error answer; ``retry_after="30"`` becomes the header ``Retry-After: 30``."""
        body = {"error": error, "detail": detail} if detail else {"error": error}
        named = tuple((name.replace("_", "-").title(), value) for name, value in headers.items())
        return cls(status, body, named)


class WebhookIntake:
    """Verify, parse and dispatch one delivery given as raw bytes and headers.

    Framework-neutral: the caller reads the request, calls :meth:`refuse_early`
    with the headers (to refuse what cannot be a delivery before reading a byte of
    the body), then :meth:`handle` with the body, and sends the answer. Call
    :meth:`start` when the application starts and :meth:`aclose` when it stops;
    the first delivery starts the worker too, for servers that never say.

    Args:
        verifier: checks signatures; an unconfigured one makes every answer 503.
        sink: an :class:`Inbox` (store now, handle later) or an
            :class:`InboundDispatcher` (handle, then answer).
        worker: the in-process worker that empties the inbox (``None`` when
            workers run elsewhere, or with a dispatcher).
        max_body_bytes: larger bodies are refused with 413.

    Raises:
        ConfigurationError: ``max_body_bytes`` is not a positive int.
    """

    def __init__(
        self,
        verifier: WebhookVerifier,
        sink: InboundSink,
        *,
        worker: InboxWorker | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int):
            raise ConfigurationError("max_body_bytes: must be an int")
        if max_body_bytes < 1:
            raise ConfigurationError(f"max_body_bytes: must be positive, got {max_body_bytes}")
        self.verifier = verifier
        self.sink = sink
        self.worker = worker
        self.max_body_bytes = max_body_bytes

    @property
    def acknowledges_after_handler(self) -> bool:
        """Whether the answer waits for the handler (a dispatcher) rather than the store."""
        return isinstance(self.sink, InboundDispatcher)

    async def start(self) -> None:
        """Start the in-process worker, if there is one (calling it again does nothing)."""
        if self.worker is not None:
            self.worker.start()

    async def aclose(self) -> None:
        """Stop the in-process worker: handlers in flight may finish (10 s), the rest waits."""
        if self.worker is not None:
            await self.worker.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.verifier!r}, max_body_bytes={self.max_body_bytes})"

    @property
    def configured(self) -> bool:
        """Whether a signing secret is set; without one every delivery is refused (503)."""
        return self.verifier.configured

    def refuse_early(self, headers: Headers) -> ReceivedAnswer | None:
        """The answer for a request refused on its headers alone, or ``None`` to read the body.

        Refuses (503) when no secret is configured, (400) a ``Content-Length``
        that is not one number and (413) one over ``max_body_bytes``.
        """
        if not self.configured:
            return _no_secret()
        declared = declared_length(headers)
        if declared == -1:
            return ReceivedAnswer.refusal(
                400, "malformed request", "Content-Length is not a number"
            )
        if declared is not None and declared > self.max_body_bytes:
            return self.too_large()
        return None

    def too_large(self) -> ReceivedAnswer:
        """The 413 answer (for a caller that stops reading a body at the limit)."""
        return ReceivedAnswer.refusal(413, "body too large", f"at most {self.max_body_bytes} bytes")

    async def handle(self, body: bytes, headers: Headers | SignedHeaders) -> ReceivedAnswer:
        """Verify, parse and dispatch one delivery; never raises.

        Args:
            body: the request body exactly as received (never re-serialised JSON).
            headers: the request headers, as a mapping or as (name, value) pairs,
                or the verifier's :meth:`~WebhookVerifier.read_headers` of them.

        Returns:
            The answer for Linq (see the module docstring's table).
        """
        if not self.configured:
            return _no_secret()
        if len(body) > self.max_body_bytes:
            return self.too_large()
        try:
            self.verifier.verify(body, headers)
        except WebhookVerificationError as exc:
            _log.warning("refused a webhook delivery: %s", exc)
            return ReceivedAnswer.refusal(401, exc.reason, exc.detail)
        except Exception as exc:
            _log.error("the webhook verifier failed: %s", describe_failure(exc))
            return ReceivedAnswer.refusal(500, "internal error")
        try:
            payload, text = decode_body(body)
            # Into an inbox, a received or sent message goes unparsed (the worker
            # parses it); everything else is parsed here.
            delivery = delivery_of(payload, text) if isinstance(self.sink, Inbox) else None
            event = parse_envelope(payload) if delivery is None else None
        except ProtocolError as exc:
            # The field and rule only: the error's text may quote the delivery's content.
            _log.warning("refused a verified webhook delivery: %s", describe_failure(exc))
            return ReceivedAnswer.refusal(400, "not a delivery", str(exc))
        except Exception as exc:
            _log.error("could not parse a verified webhook delivery: %s", describe_failure(exc))
            return ReceivedAnswer.refusal(500, "internal error")
        if delivery is not None:
            assert isinstance(self.sink, Inbox)
            return await self._dispatch(delivery.event_id, self.sink.accept(delivery))
        assert event is not None
        return await self._dispatch(event.event_id, self.sink.dispatch(event))

    async def _dispatch(
        self, event_id: str, taking: Coroutine[Any, Any, DispatchOutcome]
    ) -> ReceivedAnswer:
        if self.worker is not None and not self.worker.started:
            self.worker.start()
        try:
            outcome = await taking
        except Exception as exc:
            if not self.acknowledges_after_handler:
                # Nothing was stored: Linq must deliver it again.
                _log.error(
                    "could not store event %s in the inbox: %s",
                    event_id,
                    describe_failure(exc),
                )
                return ReceivedAnswer.refusal(
                    503,
                    "not stored",
                    f"event {event_id} could not be stored; deliver it again later",
                    retry_after=str(RETRY_AFTER_SECONDS),
                )
            # Not acknowledged: Linq retries on 5xx, and the dispatcher did not
            # record the event as done, so the retry is handled. The handler's
            # error text may quote the message: its class and frames only.
            _log.error(
                "the inbound handler failed on event %s: %s",
                event_id,
                describe_failure(exc),
            )
            return ReceivedAnswer.refusal(
                500, "handler failed", f"event {event_id} will be retried"
            )
        if outcome is DispatchOutcome.IN_PROGRESS:
            return ReceivedAnswer.refusal(
                503,
                "in progress",
                f"event {event_id} is being handled elsewhere; deliver it again later",
                retry_after=str(RETRY_AFTER_SECONDS),
            )
        return ReceivedAnswer(200, {"status": outcome.value, "event_id": event_id})


def _no_secret() -> ReceivedAnswer:
    return ReceivedAnswer.refusal(
        503,
        "no secret configured",
        "the receiver refuses every delivery until a signing secret is set",
    )


def declared_length(headers: Headers) -> int | None:
    """The declared ``Content-Length``: ``None`` when absent, -1 when not a (single) number.

    ``headers`` as text or as raw bytes (an ASGI scope's).
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values = {
        header_text(value).strip()
        for name, value in pairs
        if (
            name.lower() == b"content-length"
            if isinstance(name, bytes)
            else name.lower() == "content-length"
        )
    }
    if not values:
        return None
    if len(values) > 1:
        return -1
    (value,) = values
    if not (value.isascii() and value.isdigit()):
        return -1
    # Longer than any real body; int() of thousands of digits would itself be slow.
    return int(value) if len(value) <= _MAX_LENGTH_DIGITS else 10**_MAX_LENGTH_DIGITS


def inbound_sink(
    handler: InboundHandler,
    store: EventStore,
    *,
    ack_after_handler: bool = False,
    include_outbound: bool = False,
    order_key: Callable[[InboundEvent], str] = by_conversation,
    schedule: RetrySchedule | None = None,
    workers: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    lease: timedelta = DEFAULT_INBOX_LEASE,
) -> tuple[InboundSink, InboxWorker | None]:
    """The sink a receiver feeds, and the worker to run beside it (the one wiring).

    By default an :class:`Inbox` on ``store`` and an :class:`InboxWorker`
    calling ``handler``; with ``workers=False`` no worker (they run as
    ``caresupport-transport inbox work`` elsewhere); with ``ack_after_handler``
    an :class:`InboundDispatcher` and no worker (the inbox settings are then
    refused, so a setting is never silently ignored).

    Raises:
        ConfigurationError: an inbox setting given with ``ack_after_handler``.
    """
    if ack_after_handler:
        if order_key is not by_conversation or schedule is not None or not workers:
            raise ConfigurationError(
                "ack_after_handler: order_key, schedule and workers apply to the inbox "
                "only; the dispatcher orders by conversation and relies on the sender's retries"
            )
        return InboundDispatcher(handler, store, include_outbound=include_outbound), None
    inbox = Inbox(store, order_key=order_key, include_outbound=include_outbound)
    if not workers:
        return inbox, None
    worker = InboxWorker(
        inbox,
        handler,
        schedule=schedule or RetrySchedule(),
        concurrency=concurrency,
        lease=lease,
    )
    return inbox, worker


def create_webhook_intake(
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
) -> WebhookIntake:
    """Wire a verifier, the inbox (or a dispatcher) and the intake in one call.

    Args:
        secrets: the Linq signing secret(s); ``None`` makes every answer 503.
        handler: the care logic's async handler.
        store: the inbox and the record of seen events (SQLite on one host,
            PostgreSQL or Redis for many; see :func:`open_event_store`).
        ack_after_handler: run the handler inside the delivery and answer after
            it (no inbox); Linq's retries are then the only retries.
        include_outbound: also hand over our own outbound echoes.
        order_key: events with one key are handled one at a time, in order
            (default: per conversation).
        schedule: the inbox's retry schedule (default: up to 24 hours).
        workers: run a worker in this process (``False`` when ``inbox work``
            processes do it).
        tolerance: seconds a delivery's timestamp may be off, either way.
        max_body_bytes: the body size limit.
    """
    verifier = WebhookVerifier(secrets, tolerance=tolerance)
    sink, worker = inbound_sink(
        handler,
        store,
        ack_after_handler=ack_after_handler,
        include_outbound=include_outbound,
        order_key=order_key,
        schedule=schedule,
        workers=workers,
    )
    return WebhookIntake(verifier, sink, worker=worker, max_body_bytes=max_body_bytes)
