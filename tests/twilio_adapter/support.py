"""A Twilio simulator, client, provider and transport wired together for the adapter's tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import attrs
import httpx

from adapters.linq.config import Secret
from adapters.memory import RecipientKind, World
from adapters.twilio import TwilioClient, TwilioConfig, TwilioProvider, TwilioTransport
from adapters.twilio.simulator import IN_PROCESS_BASE_URL, TwilioSimulator
from caresupport_transport import Handle

GRANDSON = Handle("+16515550103")
STATUS_URL = "https://care.example.org/twilio/status?family=lindqvist"


@attrs.define
class Rig:
    """The pieces of one test, and the waits the client asked for."""

    world: World
    simulator: TwilioSimulator
    client: TwilioClient
    provider: TwilioProvider
    transport: TwilioTransport
    waits: list[float]


@contextlib.asynccontextmanager
async def rig(*, max_retry_after: float = 30.0) -> AsyncIterator[Rig]:
    """A fresh World with GRANDSON on SMS, and everything over it (no webhooks posted)."""
    world = World(seed=17)
    world.add_recipient(GRANDSON, RecipientKind.SMS_ONLY)
    simulator = TwilioSimulator(world)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with httpx.AsyncClient(transport=simulator.transport()) as http:
        config = TwilioConfig(
            account_sid=simulator.account_sid,
            auth_token=Secret(simulator.auth_token),
            from_number=simulator.phone,
            status_callback_url=STATUS_URL,
            base_url=IN_PROCESS_BASE_URL,
        )
        client = TwilioClient(config, http=http, sleep=sleep, max_retry_after=max_retry_after)
        provider = TwilioProvider(client, clock=lambda: world.now)
        transport = TwilioTransport(client, provider=provider)
        yield Rig(world, simulator, client, provider, transport, waits)
