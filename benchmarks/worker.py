"""One measurement in a fresh interpreter; prints its result as one JSON line on stdout.

``python -m benchmarks.worker BENCH [options]`` with BENCH one of:

- ``send-seq``: sequential sends at zero latency; client CPU (``time.process_time``)
  and wall time per send, after a warm-up.
- ``send-conc``: ``--concurrency`` tasks sending in a loop for ``--seconds``.
- ``webhooks``: verify + parse deliveries in a loop for ``--seconds``.
- ``listing``: iterate ``LinqClient.list_chats`` over ``--total`` chats; peak RSS.
- ``memory``: ``--count`` sends through ``InMemoryTransport``.
- ``versions``: the interpreter and package versions.

``--profile`` runs the measured part under pyinstrument and prints its report on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import platform
import resource
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from typing import Any

from benchmarks import canned, peers, webhook_bench

__all__ = ["main", "run_bench"]

_PACKAGES = (
    "caresupport-transport",
    "httpx",
    "httpcore",
    "attrs",
    "cattrs",
    "linq-python",
    "pydantic",
    "anyio",
    "standardwebhooks",
    "matplotlib",
    "pyinstrument",
)


@contextlib.contextmanager
def _profiled(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002, async_mode="enabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)


async def _send_sequential(args: argparse.Namespace) -> dict[str, Any]:
    peer = peers.make_peer(args.peer, args.origin)
    await peer.open()
    try:
        for _ in range(args.warmup):
            await peer.send()
        gc.collect()
        with _profiled(args.profile):
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            for _ in range(args.count):
                await peer.send()
            cpu = time.process_time() - cpu_started
            wall = time.perf_counter() - wall_started
    finally:
        await peer.close()
    return {
        "sends": args.count,
        "all_sends": args.count + args.warmup,
        "cpu_us_per_send": cpu / args.count * 1e6,
        "wall_us_per_send": wall / args.count * 1e6,
    }


async def _send_concurrent(args: argparse.Namespace) -> dict[str, Any]:
    peer = peers.make_peer(args.peer, args.origin)
    await peer.open()
    done = 0

    async def sender(deadline: float) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await peer.send()
            done += 1

    try:
        # One send per task first, so each peer starts the timed window warm.
        await asyncio.gather(*(peer.send() for _ in range(args.concurrency)))
        gc.collect()
        with _profiled(args.profile):
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            deadline = wall_started + args.seconds
            await asyncio.gather(*(sender(deadline) for _ in range(args.concurrency)))
            cpu = time.process_time() - cpu_started
            wall = time.perf_counter() - wall_started
    finally:
        await peer.close()
    return {
        "sends": done,
        "all_sends": done + args.concurrency,
        "seconds": wall,
        "sends_per_second": done / wall,
        "cpu_us_per_send": cpu / max(done, 1) * 1e6,
    }


def _webhooks(args: argparse.Namespace) -> dict[str, Any]:
    secret = webhook_bench.new_secret()
    scheme = webhook_bench.scheme_of(args.peer)
    deliveries = webhook_bench.make_deliveries(secret, args.distinct, scheme=scheme)
    handle = webhook_bench.make_handler(args.peer, secret)
    for delivery in deliveries:
        handle(delivery)
    gc.collect()
    events = 0
    with _profiled(args.profile):
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        deadline = wall_started + args.seconds
        while time.perf_counter() < deadline:
            for delivery in deliveries:
                handle(delivery)
            events += len(deliveries)
        cpu = time.process_time() - cpu_started
        wall = time.perf_counter() - wall_started
    return {
        "events": events,
        "events_per_second": events / wall,
        "cpu_us_per_event": cpu / events * 1e6,
    }


def _max_rss_kib() -> int:
    # Linux reports ru_maxrss in KiB (macOS in bytes; the script targets Linux).
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


async def _listing(args: argparse.Namespace) -> dict[str, Any]:
    from adapters.linq import LinqClient, LinqConfig

    base_url = f"{args.origin}/total/{args.total}/api/partner"
    seen = groups = 0
    async with LinqClient(LinqConfig(api_token="bench-token", base_url=base_url)) as client:
        baseline = _max_rss_kib()
        with _profiled(args.profile):
            started = time.perf_counter()
            async for chat in client.list_chats(limit=100):
                seen += 1
                groups += chat.is_group
            wall = time.perf_counter() - started
    if seen != args.total:
        raise RuntimeError(f"listed {seen} chats, expected {args.total}")
    return {
        "chats": seen,
        "group_chats": groups,
        "seconds": wall,
        "baseline_rss_kib": baseline,
        "peak_rss_kib": _max_rss_kib(),
    }


async def _memory(args: argparse.Namespace) -> dict[str, Any]:
    from adapters.memory import InMemoryTransport, RecipientKind, World
    from caresupport_transport.content import OutgoingMessage
    from caresupport_transport.handles import Handle

    world = World(seed=1)
    daughter = world.add_recipient(Handle("+16515550101"), RecipientKind.IMESSAGE)
    transport = InMemoryTransport(world)
    chat = await transport.conversation_for(daughter)
    for _ in range(100):
        await transport.send_message(chat.id, OutgoingMessage.of_text(canned.TEXT))
    gc.collect()
    with _profiled(args.profile):
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        for _ in range(args.count):
            await transport.send_message(chat.id, OutgoingMessage.of_text(canned.TEXT))
        cpu = time.process_time() - cpu_started
        wall = time.perf_counter() - wall_started
    return {
        "sends": args.count,
        "sends_per_second": args.count / wall,
        "cpu_us_per_send": cpu / args.count * 1e6,
    }


def _versions() -> dict[str, Any]:
    found: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    from adapters.linq.config import DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT_AIOHTTP

    unavailable = {
        name: reason for name in peers.SEND_PEERS if (reason := peers.unavailable_reason(name))
    }
    return {
        "python": platform.python_version(),
        "unavailable": unavailable,
        "max_in_flight": DEFAULT_MAX_IN_FLIGHT,
        "max_in_flight_aiohttp": DEFAULT_MAX_IN_FLIGHT_AIOHTTP,
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "packages": found,
    }


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run the measurement ``args.bench`` and return its figures."""
    if args.bench == "send-seq":
        return asyncio.run(_send_sequential(args))
    if args.bench == "send-conc":
        return asyncio.run(_send_concurrent(args))
    if args.bench == "webhooks":
        return _webhooks(args)
    if args.bench == "listing":
        return asyncio.run(_listing(args))
    if args.bench == "memory":
        return asyncio.run(_memory(args))
    if args.bench == "versions":
        return _versions()
    raise ValueError(f"unknown bench {args.bench!r}")


def parser() -> argparse.ArgumentParser:
    """The worker's command line."""
    cli = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    cli.add_argument(
        "bench", choices=("send-seq", "send-conc", "webhooks", "listing", "memory", "versions")
    )
    cli.add_argument("--peer", default="")
    cli.add_argument("--origin", default="", help="the canned server, http://127.0.0.1:PORT")
    cli.add_argument("--count", type=int, default=1000)
    cli.add_argument("--warmup", type=int, default=200)
    cli.add_argument("--concurrency", type=int, default=50)
    cli.add_argument("--seconds", type=float, default=3.0)
    cli.add_argument("--distinct", type=int, default=256)
    cli.add_argument("--total", type=int, default=200)
    cli.add_argument("--profile", action="store_true")
    return cli


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    print(json.dumps(run_bench(args)), flush=True)


if __name__ == "__main__":
    main()
