"""Fixtures of the simulator's tests: a populated simulator, a client, a webhook recorder."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.linq.simulator import Simulator

from .support import FakeSleep, Recorder, populate

SIGNING_NOW = 1_780_000_000.0


@pytest.fixture
def sleeps() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def sim(sleeps: FakeSleep, recorder: Recorder) -> AsyncIterator[Simulator]:
    async with recorder.client() as webhook_client:
        simulator = Simulator(
            sleep=sleeps, webhook_client=webhook_client, clock=lambda: SIGNING_NOW
        )
        populate(simulator)
        yield simulator
        await simulator.aclose()


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with sim.client() as client:
        yield client
