"""Runs every contract test once per adapter in ``HARNESS_FACTORIES``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from caresupport_transport import Transport

from .harness import HARNESS_FACTORIES, Harness
from .linq_harness import LINQ_HARNESSES
from .loopback_harness import LOOPBACK_HARNESSES, stop_loopback_servers  # noqa: F401 (fixture)
from .support import arrange

HARNESS_FACTORIES.update(LINQ_HARNESSES, **LOOPBACK_HARNESSES)


@pytest.fixture(params=sorted(HARNESS_FACTORIES))
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """The adapter under test, with the cast of ``support`` registered in its world."""
    async with HARNESS_FACTORIES[request.param]() as arranged:
        arrange(arranged)
        yield arranged


@pytest.fixture
def transport(harness: Harness) -> Transport:
    return harness.transport
