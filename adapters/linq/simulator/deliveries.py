"""Webhook deliveries: signed POSTs to loopback subscribers, retried like Linq's.

Each event becomes one delivery per active subscription that asked for its
type and existed when the event happened (an event from before a subscription
is never sent to it), in the subscription's payload version. A delivery is signed both ways
Linq signs (Standard Webhooks and the legacy hex scheme, re-signed on every
attempt with a fresh timestamp) and carries ``X-Webhook-Event`` and
``X-Webhook-Subscription-ID``. ``webhook-id`` is the event id, so a retry or a
duplicate carries the same id.

Retries follow Linq's published schedule: up to 6 attempts, waiting 2, 4, 8,
16 and 30 seconds, on 5xx, 429, timeouts and network errors; any other 4xx is
a permanent refusal and is not retried. Waiting goes through the injected
``sleep``, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
from collections.abc import Awaitable, Callable

import attrs
import httpx

from adapters.linq.simulator._payloads import build_payload
from adapters.linq.simulator._targets import is_loopback_url
from adapters.linq.simulator.faults import FaultInjector
from adapters.linq.simulator.state import Backend, Subscription
from adapters.linq.webhooks import sign_legacy, sign_standard

__all__ = [
    "RETRY_DELAYS",
    "Delivery",
    "DeliveryOutcome",
    "SigningScheme",
    "WebhookDeliverer",
]

RETRY_DELAYS: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 30.0)
"""Seconds between attempts: 6 attempts in all, as Linq documents."""
DELIVERY_TIMEOUT = 10.0
"""Linq gives a receiver 10 seconds to answer."""

Sleep = Callable[[float], Awaitable[None]]


class SigningScheme(enum.Enum):
    """How the simulator signs a webhook delivery: Standard Webhooks or Linq's legacy scheme."""

    STANDARD = "standard"
    """``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``."""
    LEGACY = "legacy"
    """``X-Webhook-Timestamp`` / ``X-Webhook-Signature`` (hex, keyed with the secret's text)."""


@attrs.frozen
class Delivery:
    """One event for one subscription: the exact body every attempt sends."""

    event_id: str
    event_type: str
    subscription_id: str
    body: bytes = attrs.field(repr=False)

    def payload(self) -> dict[str, object]:
        decoded: dict[str, object] = json.loads(self.body)
        return decoded


@attrs.frozen
class DeliveryOutcome:
    """How a delivery ended: ``delivered`` after ``attempts`` tries, or given up."""

    delivery: Delivery
    delivered: bool
    attempts: int
    status: int | None
    """The last HTTP status, ``None`` when the last attempt got no answer."""
    error: str | None = None


@attrs.define
class WebhookDeliverer:
    """Turns the Backend's events into deliveries and sends them.

    Args:
        client: the HTTP client to post with (an ``httpx.AsyncClient`` over an
            ``ASGITransport`` delivers into an in-process receiver); by default
            one is made that trusts no proxy settings and follows no redirects.
        clock: Unix seconds for signature timestamps (the receiver's clock, not the World's).
        schemes: which signatures to add (both by default, as Linq sends).
    """

    backend: Backend
    faults: FaultInjector
    client: httpx.AsyncClient | None = None
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], float] = time.time
    schemes: tuple[SigningScheme, ...] = (SigningScheme.STANDARD, SigningScheme.LEGACY)
    retry_delays: tuple[float, ...] = RETRY_DELAYS
    queue: list[Delivery] = attrs.Factory(list)
    outcomes: list[DeliveryOutcome] = attrs.Factory(list)
    _owned_client: bool = False

    def enqueue_events(self) -> int:
        """Queue a delivery per subscriber for every event seen so far; returns how many."""
        queued: list[Delivery] = []
        for item in self.backend.take_events():
            for subscription in list(self.backend.subscriptions.values()):
                if not subscription.is_active or item.sequence < subscription.first_sequence:
                    continue
                if subscription.phone_numbers and item.line not in subscription.phone_numbers:
                    continue
                built = build_payload(self.backend, item, subscription.version)
                if built is None or built[0] not in subscription.events:
                    continue
                body = json.dumps(built[1], ensure_ascii=False, separators=(",", ":")).encode()
                queued.append(Delivery(item.event.event_id, built[0], subscription.id, body))
        duplicates = [d for d in queued if self.faults.duplicate_webhook()]
        self.queue.extend(queued)
        self.queue.extend(duplicates)
        return len(queued) + len(duplicates)

    def _take_batch(self) -> list[Delivery]:
        batch, self.queue = self.queue, []
        index = 0
        while index < len(batch) - 1:
            if self.faults.reorder_webhook():
                batch[index], batch[index + 1] = batch[index + 1], batch[index]
                index += 2
            else:
                index += 1
        return batch

    async def deliver_all(self, *, max_rounds: int = 10) -> list[DeliveryOutcome]:
        """Queue what happened, then deliver every queued delivery, in order, with retries.

        A receiver that acts on an event (replies, reacts) makes new events; they
        are delivered in a further round, up to ``max_rounds``.
        """
        outcomes: list[DeliveryOutcome] = []
        for _ in range(max_rounds):
            self.enqueue_events()
            if not self.queue:
                break
            for delivery in self._take_batch():
                outcome = await self._deliver(delivery)
                if outcome is not None:
                    outcomes.append(outcome)
        self.outcomes.extend(outcomes)
        return outcomes

    async def _deliver(self, delivery: Delivery) -> DeliveryOutcome | None:
        attempts = 0
        status: int | None = None
        error: str | None = None
        for delay in (0.0, *self.retry_delays):
            if delay:
                await self.sleep(delay)
            subscription = self.backend.subscriptions.get(delivery.subscription_id)
            if subscription is None or not subscription.is_active:
                return None  # deleted or paused meanwhile: nothing more is sent
            if not is_loopback_url(subscription.target_url):
                return DeliveryOutcome(delivery, False, attempts, None, "target not on loopback")
            attempts += 1
            self.backend.counters.deliveries_by_event_id[delivery.event_id] += 1
            if self.faults.drop_webhook_attempt():
                status, error = None, "simulated: connection dropped before the receiver"
                continue
            try:
                response = await self._client().post(
                    subscription.target_url,
                    content=delivery.body,
                    headers=self._headers(delivery, subscription),
                    timeout=DELIVERY_TIMEOUT,
                    follow_redirects=False,
                )
            except httpx.TransportError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
                continue
            status, error = response.status_code, None
            if 200 <= status < 300:
                return DeliveryOutcome(delivery, True, attempts, status)
            if status != 429 and status < 500:
                return DeliveryOutcome(delivery, False, attempts, status, "refused; not retried")
        return DeliveryOutcome(delivery, False, attempts, status, error or "gave up")

    def _headers(self, delivery: Delivery, subscription: Subscription) -> dict[str, str]:
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "linq-simulator-webhooks",
            "X-Webhook-Event": delivery.event_type,
            "X-Webhook-Subscription-ID": subscription.id,
        }
        if SigningScheme.STANDARD in self.schemes:
            headers.update(
                sign_standard(
                    delivery.body,
                    subscription.secret,
                    msg_id=delivery.event_id,
                    timestamp=timestamp,
                )
            )
        if SigningScheme.LEGACY in self.schemes:
            headers.update(sign_legacy(delivery.body, subscription.secret, timestamp=timestamp))
        return headers

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = httpx.AsyncClient(trust_env=False, follow_redirects=False)
            self._owned_client = True
        return self.client

    async def aclose(self) -> None:
        """Close the HTTP client if this deliverer made it."""
        if self._owned_client and self.client is not None:
            await self.client.aclose()
            self.client = None
            self._owned_client = False
