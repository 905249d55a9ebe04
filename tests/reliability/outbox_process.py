"""The outbox worker the kill test SIGKILLs: ``OutboxWorker`` over a real ``LinqTransport``.

Run as ``python tests/reliability/outbox_process.py --db PATH --base-url URL
--token T --phone +1... --attempts PATH ...`` (test code, not a product entry
point). It opens the outbox's ``SqliteEventStore`` file, makes the transport
with ``LinqTransport.from_config`` (its own ``httpx`` pool, over TCP to the
simulator the test serves on loopback) and runs the worker until it is killed.

The transport's own retries are kept small (``--client-attempts``, a retry
budget shorter than the simulator's one-second ``Retry-After``), so most
faults reach the worker, which retries them on a fast schedule under the
intent's key. Each send the worker makes is appended to ``--attempts`` (its
key, one line per send, before the send): the worker's attempts, whatever
process made them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from datetime import timedelta
from typing import Any

from adapters.linq import LinqConfig, LinqTransport
from caresupport_transport.inbound import RetrySchedule, SqliteEventStore
from caresupport_transport.outbound import Outbox, OutboxWorker

SCHEDULE = RetrySchedule(
    first_delay=timedelta(milliseconds=50),
    max_delay=timedelta(milliseconds=500),
    give_up_after=timedelta(hours=1),
)
"""The worker's retries of transient failures: 50 ms doubling to half a second, never giving up."""


class AttemptLog:
    """The real transport, noting the key of each send in a file before it is made."""

    def __init__(self, inner: LinqTransport, path: str) -> None:
        self._inner = inner
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def send_message(self, conversation_id: str, message: Any, **options: Any) -> Any:
        # O_APPEND: one whole line per write, kept by the kernel however the process dies.
        os.write(self._fd, f"{options.get('idempotency_key')}\n".encode())
        return await self._inner.send_message(conversation_id, message, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def work(args: argparse.Namespace) -> None:
    config = LinqConfig(
        api_token=args.token,
        phone_number=args.phone,
        base_url=args.base_url,
        timeout_seconds=args.timeout,
        max_attempts=args.client_attempts,
        retry_budget_seconds=0.5,
        backoff_initial_seconds=0.05,
        backoff_max_seconds=0.2,
    )
    store = SqliteEventStore(args.db)
    async with LinqTransport.from_config(config) as linq:
        worker = OutboxWorker(
            Outbox(store),
            AttemptLog(linq, args.attempts),
            schedule=SCHEDULE,
            concurrency=args.concurrency,
            lease=timedelta(seconds=args.lease),
            poll_interval=0.05,
        )
        try:
            await worker.run()
        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="the outbox's SQLite store file")
    parser.add_argument("--base-url", required=True, help="the simulator's API base URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--phone", required=True, help="the sender line")
    parser.add_argument("--attempts", required=True, help="where each send's key is appended")
    parser.add_argument("--timeout", type=float, required=True, help="the client's deadline, s")
    parser.add_argument("--client-attempts", type=int, default=2, help="LinqConfig.max_attempts")
    parser.add_argument("--concurrency", type=int, default=16, help="conversations at once")
    parser.add_argument("--lease", type=float, default=2.0, help="the worker's lease, in seconds")
    logging.basicConfig(level=logging.ERROR, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(work(parser.parse_args()))


if __name__ == "__main__":
    main()
