"""Random operation sequences run on a store and on the memory store: the answers must agree.

One harness for every part of the store contract (claims, inbox, outbox): each
example gets a store of its own (a new SQLite file, or a new namespace on the
networked servers), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caresupport_transport.inbound import (
    DEFAULT_RETENTION,
    EventStore,
    MemoryEventStore,
    open_event_store,
)

from .conftest import NETWORKED, backend_url, forget_namespace, fresh_namespace

__all__ = ["compare_with_memory"]

T = TypeVar("T")

Run = Callable[[EventStore, EventStore, list[T]], Awaitable[None]]
"""``run(reference, store, steps)``: apply the steps to both and assert they answer alike."""


def compare_with_memory(
    backend: str,
    request: pytest.FixtureRequest,
    steps: st.SearchStrategy[list[T]],
    run: Run[T],
    *,
    examples: int,
    networked_examples: int,
    retention: timedelta = DEFAULT_RETENTION,
) -> None:
    """Check ``run`` over ``steps`` on ``backend`` (fewer examples on a networked server)."""
    with tempfile.TemporaryDirectory() as directory:
        counter = iter(range(10**6))

        async def one(url: str, chosen: list[T]) -> None:
            namespace = fresh_namespace()
            store = await open_event_store(url, retention=retention, namespace=namespace)
            try:
                await run(MemoryEventStore(retention=retention), store, chosen)
            finally:
                await store.close()
                await asyncio.to_thread(forget_namespace, backend, url, namespace)

        @settings(
            max_examples=networked_examples if backend in NETWORKED else examples,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(chosen=steps)
        def check(chosen: list[T]) -> None:
            url = backend_url(backend, request, Path(directory) / str(next(counter)))
            if backend.startswith("sqlite"):
                Path(url.removeprefix("sqlite:///").partition("?")[0]).parent.mkdir()
            asyncio.run(one(url, chosen))

        check()
