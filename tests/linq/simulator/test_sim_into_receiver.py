"""The simulator's webhooks into the project's own receiver: verified, de-duplicated, retried."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from adapters.linq.asgi import WebhookReceiver
from adapters.linq.simulator import Faults, Simulator
from adapters.linq.webhooks import WebhookVerifier
from caresupport_transport.events import InboundEvent, MessageReceived
from caresupport_transport.inbound import InboundDispatcher, MemoryEventStore

from .conftest import SIGNING_NOW
from .support import GRANDMA, WEBHOOK_URL, FakeSleep

SECRET = "whsec_Y2FyZXN1cHBvcnQtc2ltdWxhdG9yLXRlc3Q="


class CareLogic:
    """Records what it handled; fails the first ``failures`` events it is given."""

    def __init__(self, failures: int = 0) -> None:
        self.handled: list[InboundEvent] = []
        self.failures = failures

    async def __call__(self, event: InboundEvent) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the care logic's database is briefly down")
        self.handled.append(event)


@contextlib.asynccontextmanager
async def _simulator_into(
    care: CareLogic, sleeps: FakeSleep, faults: Faults | None = None
) -> AsyncIterator[Simulator]:
    dispatcher = InboundDispatcher(care, MemoryEventStore())
    receiver = WebhookReceiver(WebhookVerifier(SECRET, clock=lambda: SIGNING_NOW), dispatcher)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as client:
        simulator = Simulator(
            webhook_client=client, sleep=sleeps, clock=lambda: SIGNING_NOW, faults=faults
        )
        simulator.subscribe(WEBHOOK_URL, events=["message.received"], secret=SECRET)
        yield simulator


def _texts(care: CareLogic) -> list[str]:
    return [e.message.text for e in care.handled if isinstance(e, MessageReceived)]


async def test_an_inbound_message_reaches_the_care_logic_once(sleeps: FakeSleep) -> None:
    care = CareLogic()
    async with _simulator_into(care, sleeps) as simulator:
        simulator.inject_inbound_text(GRANDMA, "Did I take my 9am pill?")
        [outcome] = await simulator.deliver_webhooks()
    assert ["Did I take my 9am pill?"] == _texts(care)
    assert (True, 200) == (outcome.delivered, outcome.status)


async def test_a_duplicated_delivery_is_handled_once(sleeps: FakeSleep) -> None:
    care = CareLogic()
    async with _simulator_into(care, sleeps, Faults(webhook_duplicate_rate=1.0)) as simulator:
        simulator.inject_inbound_text(GRANDMA, "Is the nurse coming?")
        outcomes = await simulator.deliver_webhooks()
    assert [True, True] == [o.delivered for o in outcomes]
    assert ["Is the nurse coming?"] == _texts(care)


async def test_a_handler_that_fails_gets_the_event_again_and_handles_it_once(
    sleeps: FakeSleep,
) -> None:
    care = CareLogic(failures=2)
    async with _simulator_into(care, sleeps) as simulator:
        simulator.inject_inbound_text(GRANDMA, "My knee hurts")
        [outcome] = await simulator.deliver_webhooks()
    assert (True, 3) == (outcome.delivered, outcome.attempts)
    assert [2.0, 4.0] == sleeps.calls
    assert ["My knee hurts"] == _texts(care)


async def test_a_receiver_with_another_secret_refuses_and_is_not_retried(
    sleeps: FakeSleep,
) -> None:
    wrong_secret = "whsec_b3RoZXItc2VjcmV0LW9mLXNvbWVvbmU="
    care = CareLogic()
    dispatcher = InboundDispatcher(care, MemoryEventStore())
    receiver = WebhookReceiver(WebhookVerifier(wrong_secret, clock=lambda: SIGNING_NOW), dispatcher)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as client:
        simulator = Simulator(webhook_client=client, sleep=sleeps, clock=lambda: SIGNING_NOW)
        simulator.subscribe(WEBHOOK_URL, events=["message.received"], secret=SECRET)
        simulator.inject_inbound_text(GRANDMA, "hello")
        [outcome] = await simulator.deliver_webhooks()
    assert (False, 1, 401) == (outcome.delivered, outcome.attempts, outcome.status)
    assert [] == care.handled
