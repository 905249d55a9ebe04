"""Fixtures for LinqClient tests: a scripted Linq and a client talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.linq import LinqClient

from .support import FakeLinq


@pytest.fixture
def linq() -> FakeLinq:
    return FakeLinq()


@pytest.fixture
async def client(linq: FakeLinq) -> AsyncIterator[LinqClient]:
    client, http = linq.client()
    async with client:
        yield client
    await http.aclose()
