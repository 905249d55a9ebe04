"""Serving ASGI apps with uvicorn on real loopback sockets, in the test's own event loop.

The socket is bound and listening before uvicorn starts, so a request made at
once waits in the backlog: nothing polls or sleeps for readiness.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest


@contextlib.contextmanager
def listening_socket() -> Iterator[socket.socket]:
    """A TCP socket on 127.0.0.1, on a free port, already listening."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener
    finally:
        listener.close()


def url_of(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def serving(app: Any, listener: socket.socket) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on ``listener`` until the block ends; yields its origin."""
    uvicorn = pytest.importorskip("uvicorn", reason="the loopback tests need uvicorn (dev deps)")
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        yield url_of(listener)
    finally:
        server.should_exit = True
        await task
