"""The contract suite's ``linq-loopback`` target: ``LinqTransport`` and the simulator over TCP.

Everything crosses a real socket on 127.0.0.1: the transport's ``LinqClient``
(its production ``httpx`` pool) calls the simulator served by uvicorn, and the
simulator posts its signed webhooks to the project's receiver served by a
second uvicorn. Each test gets a fresh simulator, transport and receiver, as
the in-process target does.

Starting and stopping uvicorn costs more than many a test, so the two servers
start once, on first use, in a background thread with its own event loop, and
stop at the end of the session (:func:`stop_loopback_servers`). They serve
:class:`_Bridge` apps: each request is handed to the current test's app *in the
test's event loop*, so the simulator, the receiver and the care handler (which
may call the transport back) all live in one loop, as in production; only the
sockets and HTTP parsing run in the server thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    MutableMapping,
)
from typing import Any, TypeVar

import httpx
import pytest

from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.simulator import BASE_PATH, Simulator
from adapters.memory import World
from caresupport_transport import FallbackPolicy
from caresupport_transport.inbound import MemoryEventStore

from .harness import DEFAULT_POLICY
from .linq_harness import SECRET, SIGNING_NOW, LinqHarness

__all__ = ["LOOPBACK_HARNESSES", "linq_loopback_harness", "stop_loopback_servers"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
T = TypeVar("T")
App = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Any]


async def _no_sleep(seconds: float) -> None:
    """Webhook retries and client back-off wait on nothing in the suite."""


class _Bridge:
    """Served in the server thread; runs the current test's app in the test's loop."""

    def __init__(self) -> None:
        self.target: tuple[App, asyncio.AbstractEventLoop] | None = None

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        target = self.target
        if target is None:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"no test is running"})
            return
        app, test_loop = target
        server_loop = asyncio.get_running_loop()

        async def received() -> Message:
            return await receive()

        async def sent(message: Message) -> None:
            await send(message)

        async def receive_here() -> Message:
            return await _in(server_loop, received())

        async def send_here(message: Message) -> None:
            await _in(server_loop, sent(message))

        async def handle() -> None:
            await app(scope, receive_here, send_here)

        await _in(test_loop, handle())


async def _in(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` in ``loop`` (another thread's) and wait for it here."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, loop))


def _listening_socket() -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio turns Nagle off only on sockets that say they
    # are TCP, and with Nagle on every request waits ~40 ms for a delayed ACK.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


class LoopbackServers:
    """Two uvicorn servers on 127.0.0.1 in a thread of their own: the API and the webhooks."""

    def __init__(self, uvicorn: Any) -> None:
        self.api = _Bridge()
        self.hooks = _Bridge()
        self._sockets = [_listening_socket(), _listening_socket()]
        self._servers = [
            uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="off"))
            for app in (self.api, self.hooks)
        ]
        self._thread = threading.Thread(target=self._run, name="loopback-servers", daemon=True)
        self._thread.start()

    def _origin(self, index: int) -> str:
        host, port = self._sockets[index].getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self._origin(0) + BASE_PATH

    @property
    def webhook_url(self) -> str:
        return self._origin(1) + "/linq/webhooks?version={version}"

    def _run(self) -> None:
        async def serve_both() -> None:
            await asyncio.gather(
                *(
                    server.serve(sockets=[listener])
                    for server, listener in zip(self._servers, self._sockets, strict=True)
                )
            )

        asyncio.run(serve_both())

    @contextlib.contextmanager
    def serving(self, api: App, hooks: App) -> Iterator[None]:
        """Hand requests to ``api`` and ``hooks``, in the calling loop, until the block ends."""
        loop = asyncio.get_running_loop()
        self.api.target = (api, loop)
        self.hooks.target = (hooks, loop)
        try:
            yield
        finally:
            self.api.target = self.hooks.target = None

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        self._thread.join(timeout=30)
        for listener in self._sockets:
            listener.close()


_servers: LoopbackServers | None = None


def _started_servers() -> LoopbackServers:
    global _servers
    if _servers is None:
        uvicorn = pytest.importorskip("uvicorn", reason="the loopback target needs uvicorn")
        _servers = LoopbackServers(uvicorn)
    return _servers


@pytest.fixture(scope="session", autouse=True)
def stop_loopback_servers() -> Iterator[None]:
    """Stops the loopback servers after the session, if a test started them."""
    yield
    if _servers is not None:
        _servers.stop()


@contextlib.asynccontextmanager
async def linq_loopback_harness(
    version: str = "2026-02-03", *, policy: FallbackPolicy = DEFAULT_POLICY
) -> AsyncIterator[LinqHarness]:
    """The in-process target's harness, with every request on a real socket."""
    servers = _started_servers()
    async with (
        httpx.AsyncClient(trust_env=False, follow_redirects=False) as webhook_http,
        Simulator(
            world=World(seed=2026),
            webhook_client=webhook_http,
            sleep=_no_sleep,
            clock=lambda: SIGNING_NOW,
        ) as simulator,
    ):
        config = LinqConfig(
            api_token=simulator.token, phone_number=simulator.phone, base_url=servers.api_url
        )
        async with LinqClient(config, sleep=_no_sleep) as client:
            transport = LinqTransport(client, policy=policy)
            # Handled inside each delivery, as in the in-process linq target.
            receiver = transport.webhook_app(
                MemoryEventStore(),
                secrets=SECRET,
                clock=lambda: SIGNING_NOW,
                ack_after_handler=True,
            )
            with servers.serving(simulator.app, receiver):
                simulator.subscribe(servers.webhook_url.format(version=version), secret=SECRET)
                yield LinqHarness(simulator, transport)


LOOPBACK_HARNESSES = {"linq-loopback": linq_loopback_harness}
"""Linq over real sockets (current payload version)."""
