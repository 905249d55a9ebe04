"""Fixtures for the store tests: the servers, and stores opened by URL in an isolated namespace.

A server's URL comes from the environment (``.ci/run`` starts both and exports them)
or, on a developer machine, from a throwaway server this session starts
(``servers.py``). When neither is possible the test fails, saying how to start one:
a store test is never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import psycopg
import pytest
import redis

from caresupport_transport.inbound import (
    DEFAULT_RETENTION,
    EventStore,
    MemoryEventStore,
    open_event_store,
)

from . import servers

# ``sqlite_normal``: SQLite with synchronous=normal, whose calls run inline on the event loop.
BACKENDS = ("memory", "sqlite", "sqlite_normal", "postgres", "redis")
NETWORKED = ("postgres", "redis")


def _server_url(env: str, start: Callable[[], servers.Server]) -> Iterator[str]:
    configured = os.environ.get(env)
    if configured:
        yield configured
        return
    try:
        server = start()
    except servers.ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server's URL (``CARESUPPORT_TEST_POSTGRES_URL`` or a throwaway one)."""
    yield from _server_url(servers.POSTGRES_URL_ENV, servers.start_postgres)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis server's URL (``CARESUPPORT_TEST_REDIS_URL`` or a throwaway one)."""
    yield from _server_url(servers.REDIS_URL_ENV, servers.start_redis)


def fresh_namespace() -> str:
    """A namespace no other test uses (a PostgreSQL schema, a Redis key prefix)."""
    return f"test_{uuid.uuid4().hex[:16]}"


def backend_url(backend: str, request: pytest.FixtureRequest, directory: Path) -> str:
    """The store URL of ``backend``; starts (or finds) its server on first use."""
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{directory / 'events.sqlite'}"
    if backend == "sqlite_normal":
        return f"sqlite:///{directory / 'events.sqlite'}?synchronous=normal"
    url: str = request.getfixturevalue(f"{backend}_url")
    return url


def forget_namespace(backend: str, url: str, namespace: str) -> None:
    """Remove what a test wrote under ``namespace`` on a shared server."""
    if backend == "postgres":
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(
                psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    psycopg.sql.Identifier(namespace)
                )
            )
    elif backend == "redis":
        client = redis.Redis.from_url(url)
        try:
            keys = list(client.scan_iter(match=f"{{{namespace}}}:*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


class Opener(Protocol):
    """Opens one more store over the test's backing (file, namespace)."""

    def __call__(self, *, retention: timedelta = ...) -> Awaitable[EventStore]: ...


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each store kind in turn: memory, sqlite (full and normal), postgres, redis."""
    name: str = request.param
    return name


@pytest.fixture
async def open_store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Opener]:
    """Opens stores over one backing (one file, one namespace): reopened state is shared.

    The memory store has no backing beyond the object, so every call returns the one
    instance. Every store opened is closed, and the namespace dropped, at teardown.
    """
    url = backend_url(backend, request, tmp_path)
    namespace = fresh_namespace()
    opened: list[EventStore] = []
    shared_memory: list[MemoryEventStore] = []

    async def opener(*, retention: timedelta = DEFAULT_RETENTION) -> EventStore:
        if backend == "memory":
            if not shared_memory:
                shared_memory.append(MemoryEventStore(retention=retention))
            return shared_memory[0]
        store = await open_event_store(url, retention=retention, namespace=namespace)
        opened.append(store)
        return store

    try:
        yield opener
    finally:
        for store in opened:
            await store.close()
        forget_namespace(backend, url, namespace)


@pytest.fixture
async def store(open_store: Opener) -> EventStore:
    """One store of the current backend, in a namespace of its own."""
    return await open_store()
