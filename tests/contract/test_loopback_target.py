"""The ``linq-loopback`` target really goes over sockets, and each test gets a fresh world."""

from __future__ import annotations

import httpx

from .loopback_harness import linq_loopback_harness


async def test_the_loopback_target_serves_the_simulator_on_a_real_loopback_port() -> None:
    async with linq_loopback_harness() as harness:
        base_url = harness.linq.client.config.base_url
        # A plain client with no ASGI transport: only a listening socket can answer it.
        async with httpx.AsyncClient(trust_env=False) as plain:
            answer = await plain.get(
                f"{base_url}/v3/chats",
                params={"from": harness.simulator.phone},
                headers={"Authorization": f"Bearer {harness.simulator.token}"},
            )
        seen = harness.simulator.counters.requests["GET /v3/chats"]
    assert (True, 200, 1) == (base_url.startswith("http://127.0.0.1:"), answer.status_code, seen)


async def test_each_loopback_harness_has_its_own_simulator_behind_the_same_servers() -> None:
    async with linq_loopback_harness() as first:
        first_url = first.linq.client.config.base_url
    async with linq_loopback_harness() as second:
        conversations = [c async for c in second.transport.conversations()]
    assert first.simulator is not second.simulator
    assert (first_url, []) == (second.linq.client.config.base_url, conversations)
