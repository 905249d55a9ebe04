"""``LinqTransport``: the ``Transport`` port over Linq Partner API V3 (through ``LinqClient``).

It is the shared :class:`~caresupport_transport.transport.ProviderTransport`
over a :class:`~adapters.linq.provider.LinqProvider`, so sends are planned,
degraded, split, keyed and re-sent exactly as on every adapter. What it adds is
Linq's inbound side: events arrive by webhook (:meth:`LinqTransport.webhook_app`,
or :meth:`LinqTransport.webhook_intake` inside a web framework) or by polling
(:meth:`LinqTransport.poll_once`), into the durable
:class:`~caresupport_transport.inbound.Inbox` (or, acknowledging after the
handler, an :class:`~caresupport_transport.inbound.InboundDispatcher`) and
through the shared relay, so each reaches the care logic once. ``docs/linq.md``
explains the choices.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

import httpx

from adapters.linq._capability_cache import (
    DEFAULT_CAPABILITY_TTL,
    DEFAULT_UNKNOWN_TTL,
    CapabilityCache,
)
from adapters.linq._polling import (
    DEFAULT_LOOKBACK,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_RECONCILE_WINDOW,
    Poller,
    PollReport,
)
from adapters.linq.asgi import (
    DEFAULT_BODY_TIMEOUT_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_UNVERIFIED_BYTES,
    WebhookReceiver,
)
from adapters.linq.client import LinqClient
from adapters.linq.config import LinqConfig
from adapters.linq.provider import DEFAULT_CONVERSATION_TTL, LinqProvider
from adapters.linq.receiving import WebhookIntake, inbound_sink
from adapters.linq.webhooks import DEFAULT_TOLERANCE_SECONDS, WebhookVerifier
from caresupport_transport.events import InboundEvent
from caresupport_transport.handles import Handle
from caresupport_transport.inbound import (
    DEFAULT_CONCURRENCY,
    DEFAULT_INBOX_LEASE,
    EventStore,
    InboundDispatcher,
    InboundSink,
    Inbox,
    InboxWorker,
    RetrySchedule,
    by_conversation,
)
from caresupport_transport.inbound.relay import InboundRelay
from caresupport_transport.policy import FallbackPolicy
from caresupport_transport.sending import KeyFactory, new_idempotency_key
from caresupport_transport.transport import DEFAULT_POLICY, ProviderTransport

__all__ = ["DEFAULT_CONVERSATION_TTL", "DEFAULT_POLICY", "LinqTransport"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LinqTransport(ProviderTransport):
    """The ``Transport`` port over Linq: fallback, degradations, idempotency, inbound.

    Args:
        client: the Linq API client (its configured ``phone_number`` is the line).
        policy: how to degrade what a service cannot carry, and whether to re-send
            a failed message on the next service.
        capability_ttl: seconds a capability answer (available or not) is trusted.
        unknown_capability_ttl: seconds an *unknown* answer is kept (Linq could not
            tell; a 503 with 4004 / 4009 / 4010).
        conversation_ttl: seconds a chat read for a send or an action is reused by
            the next ones, so a burst of sends reads the chat once (``0``: always
            read it). Group changes always read it fresh; participant events that
            come in through this transport's dispatcher forget it at once.
        clock: monotonic seconds, for the capability and conversation caches.
        new_key: makes an idempotency key when the caller gives none.
        poll_lookback: how far back the first poll of a chat reads.
        poll_window: how far behind its cursor every poll re-reads a chat, so a
            message Linq recovered late (``reconciled_at``) is not skipped.
        wall_clock: the current time (aware UTC), for polling.
        owns_client: close ``client`` in :meth:`aclose` (set by :meth:`from_config`).
    """

    derives_consent_events = True
    """Linq sends no opt-out event: ``OptedOut`` / ``OptedIn`` are derived from the
    inbound messages by the one rule (``caresupport_transport.consent``)."""

    def __init__(
        self,
        client: LinqClient,
        *,
        policy: FallbackPolicy = DEFAULT_POLICY,
        capability_ttl: float = DEFAULT_CAPABILITY_TTL,
        unknown_capability_ttl: float = DEFAULT_UNKNOWN_TTL,
        conversation_ttl: float = DEFAULT_CONVERSATION_TTL,
        clock: Callable[[], float] = time.monotonic,
        new_key: KeyFactory = new_idempotency_key,
        poll_lookback: timedelta = DEFAULT_LOOKBACK,
        wall_clock: Callable[[], datetime] = _utc_now,
        owns_client: bool = False,
        poll_window: timedelta = DEFAULT_RECONCILE_WINDOW,
    ) -> None:
        self._linq = LinqProvider(
            client,
            capability_ttl=capability_ttl,
            unknown_capability_ttl=unknown_capability_ttl,
            conversation_ttl=conversation_ttl,
            clock=clock,
        )
        super().__init__(self._linq, policy=policy, new_key=new_key)
        self._client = client
        self._owns_client = owns_client
        self._poll_lookback = poll_lookback
        self._poll_window = poll_window
        self._wall_clock = wall_clock

    @classmethod
    def from_config(
        cls, config: LinqConfig, *, http: httpx.AsyncClient | None = None, **options: object
    ) -> Self:
        """A transport with its own ``LinqClient`` (closed by :meth:`aclose`).

        Args:
            config: from :meth:`LinqConfig.from_env` or :meth:`LinqConfig.from_json_file`.
            http: an ``httpx.AsyncClient`` for the client (tests pass a mock).
            options: the keyword arguments of the constructor.
        """
        return cls(LinqClient(config, http=http), owns_client=True, **options)  # type: ignore[arg-type]

    @property
    def client(self) -> LinqClient:
        """The client this transport talks to Linq through."""
        return self._client

    @property
    def line(self) -> Handle | None:
        """Our own line (the configured ``phone_number``), when configured."""
        return self._linq.line

    @property
    def capability_cache(self) -> CapabilityCache:
        """What each handle can be reached on, as Linq last said."""
        return self._linq.capability_cache

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._client!r})"

    async def aclose(self) -> None:
        """Close the client if this transport owns it (``owns_client=True``)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- inbound: webhooks and polling ------------------------------------------------

    def inbound_dispatcher(
        self, store: EventStore, *, include_outbound: bool = False
    ) -> InboundDispatcher:
        """A dispatcher that hands events to the handler registered with :meth:`on_inbound`.

        Outbound echoes (``message.sent``) reach the handler as
        ``MessageStatusChanged(SENT)``, or as the message itself with
        ``include_outbound``. A ``message.failed`` is passed on as it is;
        re-sending it is the outbox's ``Watch(resend_on_failure=True)`` rule.

        Args:
            store: remembers handled events and polling cursors
                (``SqliteEventStore`` in production).
            include_outbound: hand over our own outbound messages as messages.
        """
        relay = self.inbound_relay(include_outbound=include_outbound)
        # The relay decides about echoes itself, so the dispatcher lets them through.
        return InboundDispatcher(relay, store, include_outbound=True)

    def inbox_worker(
        self,
        inbox: Inbox,
        *,
        include_outbound: bool = False,
        schedule: RetrySchedule | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease: timedelta = DEFAULT_INBOX_LEASE,
    ) -> InboxWorker:
        """A worker that hands ``inbox``'s events to the handler registered with :meth:`on_inbound`.

        Run it beside the receiver (:meth:`webhook_app` does) or in processes of
        its own sharing the inbox's store. Events pass through the same relay
        as with :meth:`inbound_dispatcher` (echoes, re-send on failure).

        Args:
            inbox: the inbox (its store shared with the receivers).
            include_outbound: hand over our own outbound messages as messages.
            schedule: when to retry a failed event, and when to give up.
            concurrency: order keys handled at once.
            lease: how soon a dead worker's keys are taken over.
        """
        relay = self.inbound_relay(include_outbound=include_outbound)
        return InboxWorker(
            inbox,
            relay,
            schedule=schedule or RetrySchedule(),
            concurrency=concurrency,
            lease=lease,
        )

    def webhook_app(
        self,
        store: EventStore,
        *,
        secrets: str | Sequence[str] | None = None,
        ack_after_handler: bool = False,
        include_outbound: bool = False,
        order_key: Callable[[InboundEvent], str] = by_conversation,
        schedule: RetrySchedule | None = None,
        workers: bool = True,
        tolerance: float = DEFAULT_TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        max_unverified_bytes: int = DEFAULT_MAX_UNVERIFIED_BYTES,
    ) -> WebhookReceiver:
        """The ASGI webhook receiver: deliveries stored in the inbox, handled by its worker.

        Args:
            store: the inbox and the record of seen events (SQLite on one host,
                PostgreSQL or Redis for many).
            secrets: the subscription's signing secret(s); by default the
                configuration's ``webhook_signing_secret``. With none, every
                delivery is refused (503): verification cannot be turned off.
            ack_after_handler: no inbox: run the handler inside the delivery
                (:meth:`inbound_dispatcher`) and answer after it.
            include_outbound: see :meth:`inbound_dispatcher`.
            order_key: events with one key are handled one at a time, in order
                (default: per conversation; a family id serialises a family).
            schedule: the inbox's retry schedule (default: up to 24 hours).
            workers: run a worker in this process (``False`` when
                ``caresupport-transport inbox work`` processes do it).
            tolerance: seconds a delivery's timestamp may be off, either way.
            clock: Unix seconds, for the timestamp check.
            max_body_bytes: larger deliveries are refused (413).
            body_timeout, max_concurrent, max_unverified_bytes: the receiver's
                limits under load (see :class:`~adapters.linq.asgi.WebhookReceiver`).
        """
        verifier = self._verifier(secrets, tolerance, clock)
        sink, worker = self._sink(
            store, ack_after_handler, include_outbound, order_key, schedule, workers
        )
        return WebhookReceiver(
            verifier,
            sink,
            worker=worker,
            max_body_bytes=max_body_bytes,
            body_timeout=body_timeout,
            max_concurrent=max_concurrent,
            max_unverified_bytes=max_unverified_bytes,
        )

    def webhook_intake(
        self,
        store: EventStore,
        *,
        secrets: str | Sequence[str] | None = None,
        ack_after_handler: bool = False,
        include_outbound: bool = False,
        order_key: Callable[[InboundEvent], str] = by_conversation,
        schedule: RetrySchedule | None = None,
        workers: bool = True,
        tolerance: float = DEFAULT_TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> WebhookIntake:
        """The framework-neutral webhook entry (raw body and headers in, answer out).

        What :meth:`webhook_app` runs after reading a request, for a route in
        FastAPI, Flask, Django or any other framework (``docs/webhooks.md``);
        call its ``start()`` and ``aclose()`` with the application's. The
        arguments are :meth:`webhook_app`'s.
        """
        verifier = self._verifier(secrets, tolerance, clock)
        sink, worker = self._sink(
            store, ack_after_handler, include_outbound, order_key, schedule, workers
        )
        return WebhookIntake(verifier, sink, worker=worker, max_body_bytes=max_body_bytes)

    def _verifier(
        self, secrets: str | Sequence[str] | None, tolerance: float, clock: Callable[[], float]
    ) -> WebhookVerifier:
        if secrets is None:
            configured = self._client.config.webhook_signing_secret
            secrets = configured.reveal() if configured is not None else None
        return WebhookVerifier(secrets, tolerance=tolerance, clock=clock)

    def _sink(
        self,
        store: EventStore,
        ack_after_handler: bool,
        include_outbound: bool,
        order_key: Callable[[InboundEvent], str],
        schedule: RetrySchedule | None,
        workers: bool,
    ) -> tuple[InboundSink, InboxWorker | None]:
        relay = self.inbound_relay(include_outbound=include_outbound)
        # The relay decides about echoes itself, so the inbox or dispatcher lets them through.
        return inbound_sink(
            relay,
            store,
            ack_after_handler=ack_after_handler,
            include_outbound=True,
            order_key=order_key,
            schedule=schedule,
            workers=workers,
        )

    def _poller_for(
        self, target: Inbox | InboundDispatcher | EventStore, include_outbound: bool
    ) -> tuple[Poller, InboundSink]:
        dispatcher: InboundSink
        if isinstance(target, InboundDispatcher):
            dispatcher = target
            relay = target.handler
            # Our own dispatcher lets echoes through to its relay; ask the relay instead.
            outbound = (
                relay.include_outbound
                if isinstance(relay, InboundRelay)
                else target.include_outbound
            )
        elif isinstance(target, Inbox):
            dispatcher = target
            outbound = target.include_outbound or include_outbound
        else:
            dispatcher = self.inbound_dispatcher(target, include_outbound=include_outbound)
            outbound = include_outbound
        poller = Poller(
            self._client,
            self._linq.line,
            lookback=self._poll_lookback,
            reconcile_window=self._poll_window,
            include_outbound=outbound,
            now=self._wall_clock,
        )
        return poller, dispatcher

    async def poll_once(
        self,
        target: Inbox | InboundDispatcher | EventStore,
        *,
        include_outbound: bool = False,
    ) -> PollReport:
        """Poll every chat once for messages newer than its cursor, and dispatch them.

        Args:
            target: an :class:`~caresupport_transport.inbound.Inbox` (messages
                are queued for its workers, de-duplicated with webhook
                deliveries), a dispatcher, or a store for :meth:`inbound_dispatcher`
                to use. The chats' cursors are kept in the target's store.
            include_outbound: with a store, also deliver the messages we sent.

        Returns:
            What the round did; a chat whose handler failed keeps its cursor and
            is listed in ``failed_chats``.
        """
        poller, dispatcher = self._poller_for(target, include_outbound)
        return await poller.poll_once(dispatcher)

    async def poll_forever(
        self,
        target: Inbox | InboundDispatcher | EventStore,
        *,
        interval: float = DEFAULT_POLL_INTERVAL,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rounds: int | None = None,
        include_outbound: bool = False,
    ) -> None:
        """:meth:`poll_once` every ``interval`` seconds until cancelled (or ``rounds`` rounds)."""
        poller, dispatcher = self._poller_for(target, include_outbound)
        await poller.poll_forever(dispatcher, interval=interval, sleep=sleep, rounds=rounds)
