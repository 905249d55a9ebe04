"""``LinqTransport``'s inbound side: the handler, webhooks and polling (private)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from adapters.linq._inbound import InboundRelay
from adapters.linq._polling import DEFAULT_POLL_INTERVAL, Poller, PollReport
from adapters.linq._transport_core import TransportCore
from adapters.linq.asgi import DEFAULT_MAX_BODY_BYTES, WebhookReceiver
from adapters.linq.webhooks import DEFAULT_TOLERANCE_SECONDS, WebhookVerifier
from caresupport_transport.inbound import EventStore, InboundDispatcher
from caresupport_transport.port import InboundHandler

__all__ = ["InboundMixin"]


class InboundMixin(TransportCore):
    def on_inbound(self, handler: InboundHandler) -> None:
        """Register the care logic's handler (replaces any earlier one, for every path)."""
        self._handler = handler

    def _current_handler(self) -> InboundHandler | None:
        return self._handler

    def inbound_dispatcher(
        self, store: EventStore, *, include_outbound: bool = False
    ) -> InboundDispatcher:
        """A dispatcher that hands events to the handler registered with :meth:`on_inbound`.

        Outbound echoes (``message.sent``) reach the handler as
        ``MessageStatusChanged(SENT)``, or as the message itself with
        ``include_outbound``. With ``policy.resend_on_failure``, a ``message.failed``
        about a recent send is re-sent on the next service before the handler
        hears of the failure.

        Args:
            store: remembers handled events and polling cursors
                (``SqliteEventStore`` in production).
            include_outbound: hand over our own outbound messages as messages.
        """
        relay = InboundRelay(
            self._current_handler,
            include_outbound=include_outbound,
            resend_failed=self._sender.resend_failed if self.policy.resend_on_failure else None,
            conversation_changed=self._forget_conversation,
        )
        # The relay decides about echoes itself, so the dispatcher lets them through.
        return InboundDispatcher(relay, store, include_outbound=True)

    def webhook_app(
        self,
        store: EventStore,
        *,
        secrets: str | Sequence[str] | None = None,
        include_outbound: bool = False,
        tolerance: float = DEFAULT_TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> WebhookReceiver:
        """The ASGI webhook receiver, wired to :meth:`inbound_dispatcher`.

        Args:
            store: remembers handled events (``SqliteEventStore`` in production).
            secrets: the subscription's signing secret(s); by default the
                configuration's ``webhook_signing_secret``. With none, every
                delivery is refused (503): verification cannot be turned off.
            include_outbound: see :meth:`inbound_dispatcher`.
            tolerance: seconds a delivery's timestamp may be off, either way.
            clock: Unix seconds, for the timestamp check.
            max_body_bytes: larger deliveries are refused (413).
        """
        if secrets is None:
            configured = self._client.config.webhook_signing_secret
            secrets = configured.reveal() if configured is not None else None
        verifier = WebhookVerifier(secrets, tolerance=tolerance, clock=clock)
        dispatcher = self.inbound_dispatcher(store, include_outbound=include_outbound)
        return WebhookReceiver(verifier, dispatcher, max_body_bytes=max_body_bytes)

    def _poller_for(
        self, target: InboundDispatcher | EventStore, include_outbound: bool
    ) -> tuple[Poller, InboundDispatcher]:
        if isinstance(target, InboundDispatcher):
            dispatcher = target
            relay = target.handler
            # Our own dispatcher lets echoes through to its relay; ask the relay instead.
            outbound = (
                relay.include_outbound
                if isinstance(relay, InboundRelay)
                else target.include_outbound
            )
        else:
            dispatcher = self.inbound_dispatcher(target, include_outbound=include_outbound)
            outbound = include_outbound
        poller = Poller(
            self._client,
            self._line,
            lookback=self._poll_lookback,
            include_outbound=outbound,
            now=self._wall_clock,
        )
        return poller, dispatcher

    async def poll_once(
        self, target: InboundDispatcher | EventStore, *, include_outbound: bool = False
    ) -> PollReport:
        """Poll every chat once for messages newer than its cursor, and dispatch them.

        Args:
            target: a dispatcher, or a store for :meth:`inbound_dispatcher` to use.
                The chats' cursors are kept in the dispatcher's store.
            include_outbound: with a store, also deliver the messages we sent.

        Returns:
            What the round did; a chat whose handler failed keeps its cursor and
            is listed in ``failed_chats``.
        """
        poller, dispatcher = self._poller_for(target, include_outbound)
        return await poller.poll_once(dispatcher)

    async def poll_forever(
        self,
        target: InboundDispatcher | EventStore,
        *,
        interval: float = DEFAULT_POLL_INTERVAL,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rounds: int | None = None,
        include_outbound: bool = False,
    ) -> None:
        """:meth:`poll_once` every ``interval`` seconds until cancelled (or ``rounds`` rounds)."""
        poller, dispatcher = self._poller_for(target, include_outbound)
        await poller.poll_forever(dispatcher, interval=interval, sleep=sleep, rounds=rounds)
