"""Fixtures of the ``LinqTransport`` tests: a routed fake Linq and a transport talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.linq import LinqTransport

from .support import Clock, RoutedLinq, make_transport


@pytest.fixture
def linq() -> RoutedLinq:
    return RoutedLinq()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def transport(linq: RoutedLinq, clock: Clock) -> AsyncIterator[LinqTransport]:
    made, http = make_transport(linq, clock=clock)
    async with http:
        yield made
