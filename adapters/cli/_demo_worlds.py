"""What the demo runs on: a transport and the people on the other end (private).

Each setup is an async context manager yielding ``(transport, world)``:

- ``memory``: ``InMemoryTransport`` on a ``World``; nothing goes over HTTP.
- ``linq``: the real ``LinqTransport`` and ``LinqClient`` over HTTP into the Linq
  simulator, in-process (``httpx.ASGITransport``, no socket, no network). The
  simulator signs its webhooks and delivers them the same way into the
  project's real receiver (``WebhookReceiver`` verifying, ``InboundDispatcher``
  de-duplicating into a ``MemoryEventStore``), which hands them to the care
  handler. Delivery statuses come from the simulator's clock and its
  ``message.*`` webhooks; its counters tell how many requests were made.

Neither needs more than the base install (attrs, cattrs, httpx).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from typing import Any, Protocol

import httpx

from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.asgi import WebhookReceiver
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.linq.simulator.console import Console
from adapters.memory import InMemoryTransport, RecipientKind, World
from caresupport_transport import (
    Handle,
    OutgoingMessage,
    SendReceipt,
    ServicePreference,
    StartedConversation,
    Transport,
)
from caresupport_transport.errors import ConfigurationError
from caresupport_transport.inbound import MemoryEventStore

__all__ = [
    "DemoSetup",
    "DemoWorld",
    "LinqDemoWorld",
    "MemoryDemoWorld",
    "linq_setup",
    "linq_setup_on",
    "memory_setup",
]

SEED = 2026
WEBHOOK_SECRET = "whsec_Y2FyZXN1cHBvcnQtZGVtby13ZWJob29rcw=="
"""The demo's own subscription secret: both ends live in this process."""
WEBHOOK_URL = "http://127.0.0.1/linq/webhooks?version=2026-02-03"
"""Where the simulator delivers; the ASGI transport takes it to the receiver, no socket."""


class DemoWorld(Protocol):
    """The people on the other end, as the demo drives them."""

    @property
    def carrier(self) -> Sequence[str]:
        """Lines saying what carries the conversation."""
        ...

    def add_recipient(self, handle: Handle, kind: RecipientKind) -> None: ...

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` of (virtual) time pass and deliver what happened."""
        ...

    async def inject_inbound_text(
        self, sender: Handle, conversation_id: str | None, text: str
    ) -> None: ...

    async def inject_vote(self, voter: Handle, poll_id: str, option_id: str) -> None:
        """``voter`` votes for an option of a native poll; delivered."""
        ...

    def traffic(self) -> list[str]:
        """Lines saying how many HTTP requests the demo made, and which."""
        ...


DemoSetup = Callable[[], contextlib.AbstractAsyncContextManager[tuple[Transport, DemoWorld]]]


class MemoryDemoWorld:
    """The in-memory transport's own ``World``, driven directly."""

    carrier = ("Carried by InMemoryTransport: nothing goes over HTTP.",)

    def __init__(self, transport: InMemoryTransport) -> None:
        self._transport = transport

    def add_recipient(self, handle: Handle, kind: RecipientKind) -> None:
        self._transport.world.add_recipient(handle, kind)

    async def advance(self, seconds: float) -> None:
        await self._transport.advance(seconds)

    async def inject_inbound_text(
        self, sender: Handle, conversation_id: str | None, text: str
    ) -> None:
        await self._transport.inject_message(sender, text, conversation_id=conversation_id)

    async def inject_vote(self, voter: Handle, poll_id: str, option_id: str) -> None:
        await self._transport.inject_vote(voter, poll_id, option_id)

    def traffic(self) -> list[str]:
        return ["HTTP requests: none (in memory; run with --transport linq to go over HTTP)"]


@contextlib.asynccontextmanager
async def memory_setup() -> AsyncIterator[tuple[Transport, DemoWorld]]:
    transport = InMemoryTransport(World(seed=SEED))
    yield transport, MemoryDemoWorld(transport)


class LinqDemoWorld:
    """The Linq simulator: its World plays the people, its webhooks report what happened."""

    carrier = (
        "Carried by LinqTransport over HTTP into the Linq simulator, started in-process",
        "(no socket, no network); the simulator's signed webhooks come back through",
        "the project's webhook receiver and dispatcher to the care handler.",
    )

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def add_recipient(self, handle: Handle, kind: RecipientKind) -> None:
        self.simulator.add_recipient(handle, kind)

    async def advance(self, seconds: float) -> None:
        await self.simulator.advance(seconds)

    async def inject_inbound_text(
        self, sender: Handle, conversation_id: str | None, text: str
    ) -> None:
        self.simulator.inject_inbound_text(sender, text, conversation_id=conversation_id)
        await self.simulator.deliver_webhooks()

    async def inject_vote(self, voter: Handle, poll_id: str, option_id: str) -> None:
        self.simulator.inject_vote(voter, poll_id, option_id)
        await self.simulator.deliver_webhooks()

    def traffic(self) -> list[str]:
        counters = self.simulator.counters
        api = counters.total_requests
        deliveries = sum(counters.deliveries_by_event_id.values())
        refused = sum(1 for outcome in self.simulator.deliveries if not outcome.delivered)
        lines = [
            f"HTTP requests: {api + deliveries} in all",
            f"  {api:>3} API requests from LinqTransport to the Linq simulator:",
        ]
        width = max((len(str(n)) for n in counters.requests.values()), default=1)
        lines.extend(
            f"      {count:>{width}}  {route}"
            for route, count in sorted(counters.requests.items(), key=lambda i: (-i[1], i[0]))
        )
        lines.append(
            f"  {deliveries:>3} signed webhook deliveries from the simulator to the receiver "
            f"({'all accepted' if not refused else f'{refused} not accepted'})"
        )
        return lines


async def _no_wait(seconds: float) -> None:
    """The simulator's back-offs cost no wall time: the demo moves its clock itself."""


class _Deferred:
    """An ASGI app forwarding to the receiver, which exists only once the transport does."""

    app: WebhookReceiver | None = None

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if self.app is None:
            raise ConfigurationError("the demo's webhook receiver is not wired yet")
        await self.app(scope, receive, send)


class _ConsoleNotingTransport(LinqTransport):
    """``LinqTransport`` telling the simulator's console what each receipt degraded.

    The simulator sees only what was sent; what the transport changed before
    sending (an effect left out for SMS) is in the receipt, shown beside the bubble.
    """

    def __init__(self, client: LinqClient, console: Console) -> None:
        super().__init__(client)
        self._console = console

    async def start_conversation(
        self,
        participants: Sequence[Handle],
        first_message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> StartedConversation:
        started = await super().start_conversation(
            participants,
            first_message,
            preference=preference,
            idempotency_key=idempotency_key,
            override_optout=override_optout,
        )
        self._console.note_receipt(started.receipt)
        return started

    async def send_message(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> SendReceipt:
        receipt = await super().send_message(
            conversation_id,
            message,
            preference=preference,
            idempotency_key=idempotency_key,
            override_optout=override_optout,
        )
        self._console.note_receipt(receipt)
        return receipt


@contextlib.asynccontextmanager
async def linq_setup() -> AsyncIterator[tuple[Transport, DemoWorld]]:
    """``LinqTransport`` over HTTP into the simulator; webhooks into the real receiver."""
    async with (
        Simulator(world=World(seed=SEED), seed=SEED, sleep=_no_wait) as simulator,
        linq_setup_on(simulator) as setup,
    ):
        yield setup


@contextlib.asynccontextmanager
async def linq_setup_on(
    simulator: Simulator, *, base_url: str = IN_PROCESS_BASE_URL
) -> AsyncIterator[tuple[Transport, DemoWorld]]:
    """The demo's care logic on ``simulator`` (which ``simulate --demo`` also serves).

    ``LinqTransport`` talks to the simulator in-process; the simulator's webhooks
    to the demo's subscription go, in-process too, into the project's receiver.
    """
    receiver = _Deferred()
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as webhook_http,
        httpx.AsyncClient(transport=simulator.transport()) as api_http,
    ):
        simulator.deliverer.client = webhook_http
        config = LinqConfig(
            api_token=simulator.token, phone_number=simulator.phone, base_url=base_url
        )
        transport = _ConsoleNotingTransport(LinqClient(config, http=api_http), simulator.console)
        async with transport:
            # The demo prints each scene as it happens: events are handled inside
            # their delivery, so the story reads in order.
            receiver.app = transport.webhook_app(
                MemoryEventStore(), secrets=WEBHOOK_SECRET, ack_after_handler=True
            )
            simulator.subscribe(WEBHOOK_URL, secret=WEBHOOK_SECRET)
            yield transport, LinqDemoWorld(simulator)
