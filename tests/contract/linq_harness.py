"""The contract suite's ``linq`` target: ``LinqTransport`` over the Linq simulator, in process.

The transport talks to the simulator's ASGI app through ``httpx.ASGITransport``
(real ``LinqClient``, real HTTP semantics, no socket). The simulator stands on
the same ``World`` as the memory adapter, so the harness hooks map onto it; its
signed webhook deliveries go into ``transport.webhook_app(...)``, the real
receiver and dispatcher, and from there to the recording handler.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, MutableMapping, Sequence
from typing import Any

import httpx

from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.asgi import WebhookReceiver
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.memory import RecipientKind, World
from caresupport_transport import (
    ConversationHealth,
    FallbackPolicy,
    Handle,
    InboundEvent,
    Reaction,
    Transport,
)
from caresupport_transport.inbound import MemoryEventStore

from .harness import ALL_CAPABILITIES, DEFAULT_POLICY, Capability

__all__ = ["LINQ_HARNESSES", "LinqHarness", "linq_harness"]

SECRET = "whsec_Y29udHJhY3Qtc3VpdGUtbGlucS1oYXJuZXNz"
WEBHOOK_URL = "http://127.0.0.1:8788/linq/webhooks?version={version}"
OLDER_PAYLOADS_CAN = ALL_CAPABILITIES - {Capability.CHAT_HEALTH, Capability.EDIT_EVENTS}
"""Linq's 2025-01-01 payloads carry no ``chat.health_status`` and no ``message.edited``."""
SIGNING_NOW = 1_780_000_000.0
"""Both ends sign and check with this clock: deliveries are never stale."""


async def _no_sleep(seconds: float) -> None:
    """Webhook retries and client back-off wait on nothing in the suite."""


class LinqHarness:
    """``LinqTransport`` over the simulator; the simulator's webhooks reach its receiver."""

    def __init__(
        self,
        simulator: Simulator,
        transport: LinqTransport,
        capabilities: frozenset[Capability] = ALL_CAPABILITIES,
    ) -> None:
        self.simulator = simulator
        self.linq = transport
        self._capabilities = capabilities
        self.events: list[InboundEvent] = []
        self.linq.on_inbound(self._record)

    async def _record(self, event: InboundEvent) -> None:
        self.events.append(event)

    @property
    def transport(self) -> Transport:
        return self.linq

    @property
    def received(self) -> Sequence[InboundEvent]:
        return self.events

    @property
    def requests_made(self) -> int:
        return self.simulator.counters.total_requests

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._capabilities

    def add_recipient(self, handle: Handle, kind: RecipientKind) -> None:
        self.simulator.add_recipient(handle, kind)

    def fail_next_send(self, handle: Handle) -> None:
        self.simulator.world.fail_next_send(handle)

    async def advance(self, seconds: float) -> None:
        await self.simulator.advance(seconds)

    async def deliver_after_failure(self, message_id: str) -> None:
        self.simulator.deliver_after_failure(message_id)
        await self.simulator.deliver_webhooks()

    def delete_message(self, message_id: str) -> None:
        self.simulator.world.delete_message(message_id)

    def set_health(self, conversation_id: str, health: ConversationHealth) -> None:
        self.simulator.set_health(conversation_id, health)

    async def inject_inbound_text(
        self, sender: Handle, conversation_id: str | None, text: str
    ) -> str:
        message = self.simulator.inject_inbound_text(sender, text, conversation_id=conversation_id)
        await self.simulator.deliver_webhooks()
        return message.id

    async def inject_inbound_reaction(
        self, actor: Handle, message_id: str, reaction: Reaction
    ) -> None:
        self.simulator.inject_reaction(actor, message_id, reaction)
        await self.simulator.deliver_webhooks()

    async def inject_poll_vote(
        self, voter: Handle, poll_id: str, option_id: str, *, remove: bool = False
    ) -> None:
        self.simulator.inject_vote(voter, poll_id, option_id, remove=remove)
        await self.simulator.deliver_webhooks()

    async def inject_inbound_edit(self, message_id: str, text: str) -> None:
        self.simulator.inject_edit(message_id, text)
        await self.simulator.deliver_webhooks()


class _Receiver:
    """An ASGI app forwarding to the transport's receiver, which exists only after the client."""

    app: WebhookReceiver | None = None

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def linq_harness(
    version: str = "2026-02-03", *, policy: FallbackPolicy = DEFAULT_POLICY
) -> AsyncIterator[LinqHarness]:
    """The harness; webhooks come in payload ``version`` (``2025-01-01`` or ``2026-02-03``)."""
    receiver = _Receiver()
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as webhook_http,
        Simulator(
            world=World(seed=2026),
            webhook_client=webhook_http,
            sleep=_no_sleep,
            clock=lambda: SIGNING_NOW,
        ) as simulator,
        httpx.AsyncClient(transport=simulator.transport()) as api_http,
    ):
        config = LinqConfig(
            api_token=simulator.token, phone_number=simulator.phone, base_url=IN_PROCESS_BASE_URL
        )
        client = LinqClient(config, http=api_http, sleep=_no_sleep)
        transport = LinqTransport(client, policy=policy)
        # The contract is the adapter's: events are handled inside each delivery
        # so the suite can read them at once. The inbox path has its own tests
        # (tests/e2e/test_inbox_end_to_end.py).
        receiver.app = transport.webhook_app(
            MemoryEventStore(), secrets=SECRET, clock=lambda: SIGNING_NOW, ack_after_handler=True
        )
        simulator.subscribe(WEBHOOK_URL.format(version=version), secret=SECRET)
        older = version == "2025-01-01"
        yield LinqHarness(simulator, transport, OLDER_PAYLOADS_CAN if older else ALL_CAPABILITIES)


def _older_payloads(
    *, policy: FallbackPolicy = DEFAULT_POLICY
) -> contextlib.AbstractAsyncContextManager[LinqHarness]:
    return linq_harness("2025-01-01", policy=policy)


LINQ_HARNESSES = {"linq": linq_harness, "linq-2025-payloads": _older_payloads}
"""The Linq targets: webhooks in the current payload version, and in the older one."""
