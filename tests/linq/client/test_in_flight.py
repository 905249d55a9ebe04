"""At most ``max_in_flight`` requests are in flight; waiting for a slot counts as time spent."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from adapters.linq import LinqClient
from caresupport_transport.errors import TransportTimeoutError

from .support import CHAT_ID, chat_json, config


class CountingLinq:
    """Answers every request after the test opens the gate; counts how many wait at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most_in_flight = 0
        self.started = 0
        self.gate = asyncio.Event()
        self._arrivals = asyncio.Condition()

    async def wait_started(self, count: int) -> None:
        async with self._arrivals:
            await self._arrivals.wait_for(lambda: self.started >= count)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.started += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        async with self._arrivals:
            self._arrivals.notify_all()
        try:
            await self.gate.wait()
            return httpx.Response(200, json=chat_json())
        finally:
            self.in_flight -= 1


async def test_a_burst_never_has_more_than_max_in_flight_requests_open() -> None:
    linq = CountingLinq()
    async with httpx.AsyncClient(transport=httpx.MockTransport(linq.handle)) as http:
        client = LinqClient(config(max_in_flight=3), http=http)
        burst = [asyncio.create_task(client.get_chat(CHAT_ID)) for _ in range(12)]
        await linq.wait_started(3)
        for _ in range(20):  # give the other nine every chance to slip through
            await asyncio.sleep(0)
        assert (3, 3) == (linq.started, linq.in_flight)
        linq.gate.set()
        chats = await asyncio.gather(*burst)

    assert 12 == len(chats)
    assert 3 == linq.most_in_flight


async def test_waiting_for_a_slot_counts_against_the_timeout() -> None:
    linq = CountingLinq()
    async with httpx.AsyncClient(transport=httpx.MockTransport(linq.handle)) as http:
        client = LinqClient(
            config(max_in_flight=1, timeout_seconds=0.05, max_attempts=1), http=http
        )
        # The one slot is taken for longer than the timeout (held here rather than by
        # an unanswered request, whose own timeout would free it first on a busy machine).
        slots = client._requester._slots
        await slots.acquire()
        try:
            async with asyncio.timeout(5):  # a wait that ignored the timeout fails here
                with pytest.raises(TransportTimeoutError) as caught:
                    await client.get_chat(CHAT_ID)
        finally:
            slots.release()

        assert "slot" in str(caught.value)
        assert 0 == linq.started  # the request was never sent


async def test_a_request_sent_but_never_answered_runs_out_of_its_time() -> None:
    linq = CountingLinq()
    async with httpx.AsyncClient(transport=httpx.MockTransport(linq.handle)) as http:
        client = LinqClient(
            config(max_in_flight=1, timeout_seconds=0.05, max_attempts=1), http=http
        )
        with pytest.raises(TransportTimeoutError) as caught:
            await client.get_chat(CHAT_ID)

        assert "slot" not in str(caught.value)
        assert 1 == linq.started
