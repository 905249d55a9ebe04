"""The contract suite's ``twilio`` target: ``TwilioTransport`` over the Twilio simulator.

The transport talks to the simulator's ASGI app through httpx (real
``TwilioClient``, no socket); the simulator stands on the same ``World`` as the
other targets and posts signed status callbacks and inbound-message webhooks
into ``transport.webhook_app(...)``, the real receiver. Twilio carries SMS and
MMS only: the target says so in :attr:`TwilioHarness.capabilities`, and
scenarios marked ``needs`` ask for what they need rather than naming targets.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, MutableMapping, Sequence
from typing import Any

import httpx

from adapters.linq.config import Secret
from adapters.memory import RecipientKind, World
from adapters.twilio import TwilioClient, TwilioConfig, TwilioProvider, TwilioTransport
from adapters.twilio.receiver import TwilioWebhookReceiver
from adapters.twilio.simulator import IN_PROCESS_BASE_URL, TwilioSimulator
from caresupport_transport import (
    ConversationHealth,
    FallbackPolicy,
    Handle,
    InboundEvent,
    Reaction,
    Transport,
    UnsupportedError,
)
from caresupport_transport.inbound import MemoryEventStore

from .harness import DEFAULT_POLICY, Capability

__all__ = ["TWILIO_HARNESSES", "TwilioHarness", "twilio_harness"]

STATUS_URL = "https://care.example.org/twilio/status"
SMS_URL = "https://care.example.org/twilio/sms"


async def _no_sleep(seconds: float) -> None:
    """Client back-off waits on nothing in the suite."""


class TwilioHarness:
    """``TwilioTransport`` over the simulator; the simulator's webhooks reach its receiver."""

    capabilities: frozenset[Capability] = frozenset()
    """SMS and MMS (by URL) to one number at a time: nothing beyond the baseline."""

    def __init__(self, simulator: TwilioSimulator, transport: TwilioTransport) -> None:
        self.simulator = simulator
        self.twilio = transport
        self.events: list[InboundEvent] = []
        self.twilio.on_inbound(self._record)

    async def _record(self, event: InboundEvent) -> None:
        self.events.append(event)

    @property
    def transport(self) -> Transport:
        return self.twilio

    @property
    def received(self) -> Sequence[InboundEvent]:
        return self.events

    @property
    def requests_made(self) -> int:
        return self.simulator.requests

    def add_recipient(self, handle: Handle, kind: RecipientKind) -> None:
        self.simulator.add_recipient(handle, kind)

    def fail_next_send(self, handle: Handle) -> None:
        self.simulator.world.fail_next_send(handle)

    async def advance(self, seconds: float) -> None:
        await self.simulator.advance(seconds)

    async def deliver_after_failure(self, message_id: str) -> None:
        self.simulator.world.deliver_after_failure(self.simulator.sids[message_id])
        await self.simulator.deliver_webhooks()

    def delete_message(self, message_id: str) -> None:
        self.simulator.world.delete_message(self.simulator.sids[message_id])

    async def inject_inbound_text(
        self, sender: Handle, conversation_id: str | None, text: str
    ) -> str:
        if conversation_id is not None and conversation_id != f"sms:{sender.value}":
            raise UnsupportedError("group", "sms", "an SMS comes in the sender's own thread")
        sid = self.simulator.inject_inbound_text(sender, text)
        await self.simulator.deliver_webhooks()
        return sid

    async def inject_inbound_reaction(
        self, actor: Handle, message_id: str, reaction: Reaction
    ) -> None:
        raise UnsupportedError("tapback", "sms", "nobody can send a tapback over SMS")

    async def inject_poll_vote(
        self, voter: Handle, poll_id: str, option_id: str, *, remove: bool = False
    ) -> None:
        raise UnsupportedError("poll", "sms", "SMS has no native polls to vote in")

    async def inject_inbound_edit(self, message_id: str, text: str) -> None:
        raise UnsupportedError("edit", "sms", "a text message cannot be edited")

    def set_health(self, conversation_id: str, health: ConversationHealth) -> None:
        raise UnsupportedError("chat health", "sms", "Twilio reports no conversation health")


class _Receiver:
    """Forwards to the transport's receiver, which exists only after the transport."""

    app: TwilioWebhookReceiver | None = None

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def twilio_harness(
    *, policy: FallbackPolicy = DEFAULT_POLICY
) -> AsyncIterator[TwilioHarness]:
    """The harness: a fresh World, simulator, client, transport and receiver."""
    receiver = _Receiver()
    world = World(seed=2026)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as webhook_http:
        simulator = TwilioSimulator(world, webhook_client=webhook_http, sms_url=SMS_URL)
        async with httpx.AsyncClient(transport=simulator.transport()) as api_http:
            config = TwilioConfig(
                account_sid=simulator.account_sid,
                auth_token=Secret(simulator.auth_token),
                from_number=simulator.phone,
                status_callback_url=STATUS_URL,
                base_url=IN_PROCESS_BASE_URL,
            )
            client = TwilioClient(config, http=api_http, sleep=_no_sleep)
            provider = TwilioProvider(client, clock=lambda: world.now)
            transport = TwilioTransport(client, policy=policy, provider=provider)
            receiver.app = transport.webhook_app(
                MemoryEventStore(), ack_after_handler=True, clock=lambda: world.now
            )
            yield TwilioHarness(simulator, transport)


TWILIO_HARNESSES = {"twilio": twilio_harness}
"""The Twilio target."""
