"""The harness hooks the parity scenarios rely on do what they say."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from .harness import Harness
from .linq_harness import linq_harness
from .loopback_harness import linq_loopback_harness
from .support import CAREGIVER, arrange, start


@pytest.mark.parametrize(
    "factory", [linq_harness, linq_loopback_harness], ids=["linq", "linq-loopback"]
)
async def test_requests_made_counts_what_a_linq_target_asks_of_the_simulator(
    factory: Callable[[], contextlib.AbstractAsyncContextManager[Harness]],
) -> None:
    async with factory() as harness:
        arrange(harness)
        before = harness.requests_made
        await start(harness.transport, CAREGIVER)
        after = harness.requests_made
    assert (0, True) == (before, after > before)
