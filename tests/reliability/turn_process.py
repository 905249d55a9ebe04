"""The worker process the turns proof starts and SIGKILLs: an ``InboxWorker`` with turns.

Run as ``python tests/reliability/turn_process.py --namespace NS --log PATH ...``
(test code, not a product entry point); the store's URL comes from
``$CARESUPPORT_STORE_URL``. The handler thinks a little, fails ``--fail-rate``
of its turns, asks the store whether a newer message waits, and returns. Each
step is one fsynced line of ``--log``::

    S <pid> <time> <order key> <ids>                       the handler got the turn
    F <pid> <time> <order key> <ids>                       it failed
    D <pid> <time> <order key> <ids> <asked at> <0|1>      it returned; superseded?

``<ids>`` are the turn's event ids joined by commas, in order; ``<asked at>``
is when the handler began asking whether the turn was superseded.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import time
from datetime import timedelta

from caresupport_transport.inbound import (
    Coalescing,
    Inbox,
    InboxWorker,
    RetrySchedule,
    Turn,
    open_event_store,
)

STORE_URL_ENV = "CARESUPPORT_STORE_URL"


class Log:
    """Appends one line per step, fsynced before the step goes on."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._pid = os.getpid()

    def write(self, phase: str, *fields: str) -> None:
        line = " ".join((phase, str(self._pid), f"{time.time():.6f}", *fields)) + "\n"
        os.write(self._fd, line.encode())
        os.fsync(self._fd)


async def work(args: argparse.Namespace) -> None:
    store = await open_event_store(os.environ[STORE_URL_ENV], namespace=args.namespace)
    log = Log(args.log)
    rng = random.Random(f"{args.seed}:{os.getpid()}")

    async def care(turn: Turn) -> None:
        step = (turn.order_key, ",".join(event.event_id for event in turn.events))
        log.write("S", *step)
        await asyncio.sleep(rng.uniform(0, args.think))  # a kill can land in here
        if rng.random() < args.fail_rate:
            log.write("F", *step)
            raise RuntimeError("the care logic's model did not answer")
        asked_at = f"{time.time():.6f}"
        superseded = await turn.check_superseded()
        log.write("D", *step, asked_at, "1" if superseded else "0")

    worker = InboxWorker(
        Inbox(store),
        care,
        turns=Coalescing(
            quiet=timedelta(seconds=args.quiet),
            max_wait=timedelta(seconds=args.max_wait),
            check_interval=timedelta(seconds=0.1),
        ),
        schedule=RetrySchedule(
            first_delay=timedelta(seconds=0.2), factor=1.5, max_delay=timedelta(seconds=1)
        ),
        concurrency=8,
        lease=timedelta(seconds=args.lease),
        poll_interval=0.1,
        rng=rng,
    )
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    worker.start()
    try:
        await stopping.wait()
        await worker.stop()
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--seed", default="0")
    parser.add_argument("--fail-rate", type=float, default=0.1)
    parser.add_argument("--think", type=float, default=0.5, help="most seconds a turn thinks")
    parser.add_argument("--quiet", type=float, default=0.4)
    parser.add_argument("--max-wait", type=float, default=2.0)
    parser.add_argument("--lease", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(work(args))


if __name__ == "__main__":
    main()
