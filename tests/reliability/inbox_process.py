"""The processes the inbox proofs start and SIGKILL: a webhook receiver, or an inbox worker.

Run as ``python tests/reliability/inbox_process.py receive ...`` or ``... work
...`` (test code, not a product entry point). The store's URL comes from
``$CARESUPPORT_STORE_URL`` (kept off the command line, as a password would be),
its namespace from ``--namespace``: every process of a run shares one inbox.

``receive --fd N --secret whsec_...``
    The production receiver, ``create_webhook_app(secret, handler, store,
    workers=False)``, under uvicorn as ``webhooks serve`` configures it
    (``make_server``), on a listening socket inherited from the test. It only
    stores: a delivery is answered 200 ``queued`` (or ``duplicate``) once the
    event is in the store, 503 ``not stored`` when the store failed.

``work --log PATH --simulator URL --token T ...``
    An :class:`~caresupport_transport.inbound.InboxWorker` over the same store,
    with a short lease and a fast retry schedule, whose handler is the care
    logic of the proofs: it thinks a little, fails ``--fail-rate`` of its calls
    (half before it replies, half after), and replies to the person through a
    real ``LinqTransport`` talking to the shared Linq simulator, under
    ``reply_key(event, "answer")``. With ``--hold-after-reply`` the handler
    replies and then waits forever, so the test can SIGKILL the process between
    the reply and the acknowledgement. SIGTERM stops the worker gracefully.

Every step of the handler is appended to ``--log`` as one line (one
``os.write`` on an ``O_APPEND`` file, then ``fsync``)::

    S <pid> <time> <order key> <event id> <call>                 the handler was called
    F <pid> <time> <order key> <event id> <call> before|after    it failed, before or after replying
    R <pid> <time> <order key> <event id> <call> <message id>    the simulator confirmed the reply
    D <pid> <time> <order key> <event id> <call>                 it returned: handled
    W <pid> <time> - - 0                                         the worker started

``<time>`` is Unix seconds; ``<call>`` numbers the handler's calls in the process.
A line that is in the file happened, whatever happens to the process next.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import socket
import time
from datetime import timedelta

from adapters.cli.webhooks import make_server
from adapters.linq.asgi import create_webhook_app
from adapters.linq.config import LinqConfig
from adapters.linq.transport import LinqTransport
from caresupport_transport.content import OutgoingMessage, TextPart
from caresupport_transport.events import InboundEvent, MessageReceived
from caresupport_transport.inbound import (
    EventStore,
    Inbox,
    InboxWorker,
    RetrySchedule,
    by_conversation,
    open_event_store,
    reply_key,
)

STORE_URL_ENV = "CARESUPPORT_STORE_URL"
LINE = "+15550100000"
"""The simulator's sender line (``caresupport-transport simulate``'s default)."""


class EffectLog:
    """Appends one line per step, fsynced before the step goes on."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._pid = os.getpid()

    def write(self, phase: str, *fields: str) -> None:
        line = " ".join((phase, str(self._pid), f"{time.time():.6f}", *fields)) + "\n"
        os.write(self._fd, line.encode())  # O_APPEND: one whole line per write
        os.fsync(self._fd)


class CareLogic:
    """The handler: think, maybe fail, reply under the event's reply key, maybe fail, done."""

    def __init__(
        self,
        transport: LinqTransport,
        log: EffectLog,
        *,
        fail_rate: float,
        think: float,
        hold_after_reply: bool,
        rng: random.Random,
    ) -> None:
        self.transport = transport
        self.log = log
        self.fail_rate = fail_rate
        self.think = think
        self.hold_after_reply = hold_after_reply
        self.rng = rng
        self.calls = 0

    async def __call__(self, event: InboundEvent) -> None:
        assert isinstance(event, MessageReceived), event
        self.calls += 1
        call = (by_conversation(event), event.event_id, str(self.calls))
        self.log.write("S", *call)
        await asyncio.sleep(self.rng.uniform(0, self.think))  # a kill can land in here
        roll = self.rng.random()
        if roll < self.fail_rate / 2:
            self.log.write("F", *call, "before")
            raise RuntimeError("the care logic's model did not answer")
        receipt = await self.transport.send_message(
            event.conversation_id,
            OutgoingMessage((TextPart(f"Noted: {event.message.text}"),)),
            idempotency_key=reply_key(event, "answer"),
        )
        self.log.write("R", *call, receipt.message_ids[0])
        if self.hold_after_reply:
            await asyncio.Event().wait()  # until the test SIGKILLs this process
        if roll < self.fail_rate:
            self.log.write("F", *call, "after")
            raise RuntimeError("the care logic failed after replying")
        self.log.write("D", *call)


async def _refuse(event: InboundEvent) -> None:
    raise AssertionError(f"a receiver started with workers=False handled {event.event_id}")


async def _open_store(namespace: str) -> EventStore:
    return await open_event_store(os.environ[STORE_URL_ENV], namespace=namespace)


async def receive(args: argparse.Namespace) -> None:
    listener = socket.socket(fileno=args.fd)
    store = await _open_store(args.namespace)
    app = create_webhook_app(args.secret, _refuse, store, workers=False)
    server = make_server(app, "127.0.0.1", 0, quiet=True)
    try:
        await server.serve(sockets=[listener])
    finally:
        await store.close()


async def work(args: argparse.Namespace) -> None:
    store = await _open_store(args.namespace)
    config = LinqConfig(
        api_token=args.token, phone_number=LINE, base_url=f"{args.simulator}/api/partner"
    )
    transport = LinqTransport.from_config(config)
    rng = random.Random(f"{args.seed}:{os.getpid()}")
    handler = CareLogic(
        transport,
        EffectLog(args.log),
        fail_rate=args.fail_rate,
        think=args.think,
        hold_after_reply=args.hold_after_reply,
        rng=rng,
    )
    schedule = RetrySchedule(
        first_delay=timedelta(seconds=args.first_delay),
        factor=2.0,
        max_delay=timedelta(seconds=args.first_delay * 16),
        give_up_after=timedelta(hours=1),
        jitter=0.5,
    )
    worker = InboxWorker(
        Inbox(store),
        handler,
        schedule=schedule,
        concurrency=args.concurrency,
        lease=timedelta(seconds=args.lease),
        poll_interval=args.poll_interval,
        rng=rng,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    worker.start()
    handler.log.write("W", "-", "-", "0")
    try:
        await stopping.wait()
        await worker.stop()
    finally:
        await transport.aclose()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    receiver = commands.add_parser("receive")
    receiver.add_argument("--fd", type=int, required=True, help="an inherited listening socket")
    receiver.add_argument("--namespace", required=True)
    receiver.add_argument("--secret", required=True)
    worker = commands.add_parser("work")
    worker.add_argument("--namespace", required=True)
    worker.add_argument("--log", required=True, help="where the handler's steps are appended")
    worker.add_argument("--simulator", required=True, help="http://127.0.0.1:PORT")
    worker.add_argument("--token", required=True, help="the simulator's bearer token")
    worker.add_argument("--seed", default="0")
    worker.add_argument("--fail-rate", type=float, default=0.0)
    worker.add_argument("--think", type=float, default=0.0, help="most seconds a call thinks")
    worker.add_argument("--lease", type=float, default=2.0, help="seconds")
    worker.add_argument("--first-delay", type=float, default=0.1, help="first retry, seconds")
    worker.add_argument("--concurrency", type=int, default=8)
    worker.add_argument("--poll-interval", type=float, default=0.1)
    worker.add_argument("--hold-after-reply", action="store_true")
    args = parser.parse_args()
    # The library's loggers end in a NullHandler; the test reads these records from the output.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(receive(args) if args.command == "receive" else work(args))


if __name__ == "__main__":
    main()
