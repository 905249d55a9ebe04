"""The demo scenario on a simulator served by uvicorn on 127.0.0.1, for the console's tests.

The simulator, its care logic (the demo's ``LinqTransport`` and webhook
receiver) and uvicorn run on their own event loop in a thread; a test talks to
them through the browser and reads what reached the care logic's handler.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn

from adapters.cli._demo_worlds import SEED, linq_setup_on
from adapters.cli.demo import run_scenario
from adapters.linq.simulator import Simulator
from adapters.memory import World
from caresupport_transport import InboundEvent, Transport

T = TypeVar("T")

RETRY_DELAYS = (0.05, 0.05, 0.05, 0.05, 0.05)
"""Webhook retries a test can watch without waiting Linq's real 2 to 30 seconds."""


class ServedConsole:
    """The demo, played on a simulator served with its console on a free loopback port."""

    def __init__(self) -> None:
        self.simulator = Simulator(world=World(seed=SEED), seed=SEED)
        self.simulator.deliverer.retry_delays = RETRY_DELAYS
        self.transcript: list[str] = []
        self.handled: list[InboundEvent] = []
        """Every event the care logic's handler got after the scenario."""
        self.transport: Transport | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._error: BaseException | None = None
        # IPPROTO_TCP, so asyncio turns Nagle off (docs/simulator.md, For harnesses).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name="served-console", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/console"

    def start(self) -> ServedConsole:
        self._thread.start()
        if not self._ready.wait(60):
            raise TimeoutError("the served console did not start within 60 s")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._server is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(setattr, self._server, "should_exit", True)
        self._thread.join(30)

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the server's loop (the care logic acting) and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(30)

    async def _care_logic(self, event: InboundEvent) -> None:
        self.handled.append(event)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced to the test by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        async with self.simulator, linq_setup_on(self.simulator) as (transport, world):
            await run_scenario(transport, world, out=self.transcript.append)
            self.transport = transport
            transport.on_inbound(self._care_logic)
            config = uvicorn.Config(
                self.simulator.app,
                lifespan="off",
                ws="none",
                log_level="warning",
                timeout_graceful_shutdown=1,
            )
            self._server = uvicorn.Server(config)
            # Listening before uvicorn starts: early requests wait in the backlog.
            self._socket.listen()
            serving = asyncio.create_task(self._server.serve(sockets=[self._socket]))
            self._ready.set()
            await serving
            await self.simulator.console.settle()
