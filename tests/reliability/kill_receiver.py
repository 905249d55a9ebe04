"""The receiver the kill test SIGKILLs: the real receiver on SQLite under uvicorn, as a process.

Run as ``python tests/reliability/kill_receiver.py --fd N --db PATH --log PATH
--secret whsec_... --lease SECONDS`` (test code, not a product entry point). It
serves the production pieces (``WebhookVerifier``, ``InboundDispatcher`` over
``SqliteEventStore``, ``WebhookReceiver``, uvicorn configured by
``webhooks serve``'s ``make_server``) on a listening socket inherited from the
test, so the address survives every kill and restart, and deliveries made
while no process runs wait in the socket's backlog as they would behind a
supervisor's socket.

The care logic's handler does a little work, then appends the event id to
``--log`` and fsyncs it before returning: a line in the file is an effect
that happened, whatever happens to the process next.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from datetime import timedelta

from adapters.cli.webhooks import make_server
from adapters.linq.asgi import WebhookReceiver
from adapters.linq.webhooks import WebhookVerifier
from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound import InboundDispatcher, SqliteEventStore

WORK_SECONDS = 0.05
"""The handler's own work before its effect: a kill can land in it, or after the effect."""


class AppendingHandler:
    """Appends each handled event id to a file, one line each, fsynced before returning."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def __call__(self, event: InboundEvent) -> None:
        await asyncio.sleep(WORK_SECONDS)
        os.write(self._fd, f"{event.event_id}\n".encode())  # O_APPEND: one whole line per write
        os.fsync(self._fd)


async def serve(args: argparse.Namespace) -> None:
    listener = socket.socket(fileno=args.fd)
    store = SqliteEventStore(args.db)
    dispatcher = InboundDispatcher(
        AppendingHandler(args.log), store, lease=timedelta(seconds=args.lease)
    )
    receiver = WebhookReceiver(WebhookVerifier(args.secret), dispatcher)
    server = make_server(receiver, "127.0.0.1", 0, quiet=True)
    try:
        await server.serve(sockets=[listener])
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="an inherited listening socket")
    parser.add_argument("--db", required=True, help="the SQLite event store file")
    parser.add_argument("--log", required=True, help="where handled event ids are appended")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--lease", type=float, required=True, help="claim lease, in seconds")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
