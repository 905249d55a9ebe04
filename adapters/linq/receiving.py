"""``WebhookIntake``: receive one Linq delivery in any web framework (bytes in, answer out).

The ASGI :class:`~adapters.linq.asgi.WebhookReceiver` reads the request and then
hands the raw body and headers to a ``WebhookIntake``; a FastAPI route, a Flask
view or a Django view does the same (``docs/webhooks.md`` has a tested recipe for
each). The intake verifies, parses and dispatches, and says what to answer:

====================================================  ======  =======================
check                                                 status  body ``error`` / ``status``
====================================================  ======  =======================
no signing secret configured (fail closed)            503     ``no secret configured``
``Content-Length`` not a number (``refuse_early``)    400     ``malformed request``
body larger than ``max_body_bytes`` (default 1 MB)    413     ``body too large``
signature, timestamp or headers wrong                 401     the verifier's reason
body not JSON / not an envelope (after verifying)     400     ``not a delivery``
handled, duplicate or filtered echo                   200     ``handled`` / ``duplicate`` /
                                                              ``filtered``
another worker is handling the same event             503     ``in progress``
                                                              (``Retry-After: 30``)
the care logic's handler (or the store) failed        500     ``handler failed``
====================================================  ======  =======================

Only a 2xx tells Linq the event arrived; everything else is retried by Linq (5xx)
or refused for good (4xx), so an event is never acknowledged before the handler
succeeded. The raw bytes are verified before anything parses them. Answers are
small JSON objects that never contain a secret, a message's content or a stack
trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

import attrs

from adapters.linq.webhook_events import parse_delivery
from adapters.linq.webhooks import DEFAULT_TOLERANCE_SECONDS, Headers, WebhookVerifier
from caresupport_transport._log_safe import describe_failure
from caresupport_transport.errors import (
    ConfigurationError,
    ProtocolError,
    WebhookVerificationError,
)
from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound import DispatchOutcome, EventStore, InboundDispatcher
from caresupport_transport.port import InboundHandler

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "RETRY_AFTER_SECONDS",
    "ReceivedAnswer",
    "WebhookIntake",
    "create_webhook_intake",
    "declared_length",
]

_log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1_048_576
"""1 MB: far above any real delivery, far below what would strain the server."""

RETRY_AFTER_SECONDS = 30
"""What ``Retry-After`` says when another worker is handling the same event."""

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
    the body), then :meth:`handle` with the body, and sends the answer.

    Args:
        verifier: checks signatures; an unconfigured one makes every answer 503.
        dispatcher: de-duplicates and calls the care logic's handler.
        max_body_bytes: larger bodies are refused with 413.

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
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int):
            raise ConfigurationError("max_body_bytes: must be an int")
        if max_body_bytes < 1:
            raise ConfigurationError(f"max_body_bytes: must be positive, got {max_body_bytes}")
        self.verifier = verifier
        self.dispatcher = dispatcher
        self.max_body_bytes = max_body_bytes

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

    async def handle(self, body: bytes, headers: Headers) -> ReceivedAnswer:
        """Verify, parse and dispatch one delivery; never raises.

        Args:
            body: the request body exactly as received (never re-serialised JSON).
            headers: the request headers, as a mapping or as (name, value) pairs.

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
            event = parse_delivery(body)
        except ProtocolError as exc:
            # The field and rule only: the error's text may quote the delivery's content.
            _log.warning("refused a verified webhook delivery: %s", describe_failure(exc))
            return ReceivedAnswer.refusal(400, "not a delivery", str(exc))
        except Exception as exc:
            _log.error("could not parse a verified webhook delivery: %s", describe_failure(exc))
            return ReceivedAnswer.refusal(500, "internal error")
        return await self._dispatch(event)

    async def _dispatch(self, event: InboundEvent) -> ReceivedAnswer:
        try:
            outcome = await self.dispatcher.dispatch(event)
        except Exception as exc:
            # Not acknowledged: Linq retries on 5xx, and the dispatcher did not
            # record the event as done, so the retry is handled. The handler's
            # error text may quote the message: its class and frames only.
            _log.error(
                "the inbound handler failed on event %s: %s",
                event.event_id,
                describe_failure(exc),
            )
            return ReceivedAnswer.refusal(
                500, "handler failed", f"event {event.event_id} will be retried"
            )
        if outcome is DispatchOutcome.IN_PROGRESS:
            return ReceivedAnswer.refusal(
                503,
                "in progress",
                f"event {event.event_id} is being handled elsewhere; deliver it again later",
                retry_after=str(RETRY_AFTER_SECONDS),
            )
        return ReceivedAnswer(200, {"status": outcome.value, "event_id": event.event_id})


def _no_secret() -> ReceivedAnswer:
    return ReceivedAnswer.refusal(
        503,
        "no secret configured",
        "the receiver refuses every delivery until a signing secret is set",
    )


def declared_length(headers: Headers) -> int | None:
    """The declared ``Content-Length``: ``None`` when absent, -1 when not a (single) number."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values = {value.strip() for name, value in pairs if name.lower() == "content-length"}
    if not values:
        return None
    if len(values) > 1:
        return -1
    (value,) = values
    if not (value.isascii() and value.isdigit()):
        return -1
    # Longer than any real body; int() of thousands of digits would itself be slow.
    return int(value) if len(value) <= _MAX_LENGTH_DIGITS else 10**_MAX_LENGTH_DIGITS


def create_webhook_intake(
    secrets: str | Sequence[str] | None,
    handler: InboundHandler,
    store: EventStore,
    *,
    include_outbound: bool = False,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookIntake:
    """Wire a verifier, a dispatcher and the intake in one call.

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
    return WebhookIntake(verifier, dispatcher, max_body_bytes=max_body_bytes)
