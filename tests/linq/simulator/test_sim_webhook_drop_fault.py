"""``Faults.webhook_drop_rate``: webhook attempts lost on the way, retried on Linq's schedule."""

from __future__ import annotations

import httpx

from adapters.linq.simulator import Faults, Simulator
from adapters.memory import RecipientKind

SECRET = "whsec_c2VjcmV0LWtleS1mb3ItZHJvcHM="


async def _no_wait(seconds: float) -> None:
    """Retry back-off costs no time in these tests."""


async def _deliveries(rate: float) -> tuple[Simulator, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    sim = Simulator(
        seed=11, faults=Faults(webhook_drop_rate=rate, seed=11), webhook_client=client,
        sleep=_no_wait,
    )  # fmt: skip
    sim.add_recipient("+16515550101", RecipientKind.IMESSAGE)
    sim.subscribe("http://127.0.0.1:9/hooks", events=["message.received"], secret=SECRET)
    for n in range(8):
        sim.inject_inbound_text("+16515550101", f"note {n}")
    await sim.deliver_webhooks()
    await client.aclose()
    return sim, seen


async def test_every_attempt_dropped_means_six_attempts_then_giving_up_unseen() -> None:
    sim, seen = await _deliveries(1.0)
    assert seen == []
    assert {(o.delivered, o.attempts) for o in sim.deliveries} == {(False, 6)}
    assert all("dropped" in (o.error or "") for o in sim.deliveries)


async def test_some_attempts_dropped_are_retried_until_each_event_arrives() -> None:
    sim, seen = await _deliveries(0.5)
    assert all(o.delivered for o in sim.deliveries)
    assert any(o.attempts > 1 for o in sim.deliveries)
    assert len(seen) == len(sim.deliveries) == 8
    assert sum(o.attempts for o in sim.deliveries) > len(seen)


async def test_no_drop_rate_means_one_attempt_each() -> None:
    sim, seen = await _deliveries(0.0)
    assert [o.attempts for o in sim.deliveries] == [1] * 8
    assert len(seen) == 8
