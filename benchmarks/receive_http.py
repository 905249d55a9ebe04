"""Webhook receiving over HTTP: a naive receiver, ``webhooks serve``, and the load generator.

Three entry points, each run in its own process by ``benchmarks.suite``::

    python -m benchmarks.receive_http naive --port P --secret S
    python -m benchmarks.receive_http load --port P --secret S --concurrency C --seconds T

``naive`` is the floor a durable receiver is compared with: an ASGI app that
verifies with ``standardwebhooks``, parses with ``json.loads``, remembers event
ids in a Python set (not durable) and answers 200, under the same uvicorn (h11,
the same event loop) that ``webhooks serve`` runs. ``load`` sends signed,
unique ``message.received`` deliveries (Standard Webhooks) over keep-alive
HTTP/1.1 connections, one request in flight per connection, and prints one JSON
line: the deliveries per second answered 200, and how many were not.
``benchmarks.receiving_suite`` starts the servers (``webhooks serve`` per store).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["RECEIVE_TARGETS"]

RECEIVE_TARGETS: dict[str, str] = {
    "naive": "naive receiver (standardwebhooks + json.loads + a set; not durable)",
    "serve_sqlite": "webhooks serve, SQLite (synchronous=full, the default)",
    "serve_sqlite_normal": "webhooks serve, SQLite (synchronous=normal)",
    "serve_memory": "webhooks serve, memory store",
    "serve_postgres": "webhooks serve, PostgreSQL",
    "serve_redis": "webhooks serve, Redis",
    "serve_sqlite_worker": "webhooks serve, SQLite (full), with its in-process worker",
    "serve_memory_worker": "webhooks serve, memory store, with its in-process worker",
}
"""The receivers; ``webhooks serve`` runs with ``--no-workers`` (intake only, the
work the naive receiver does) except in the ``_worker`` targets."""

CHATS = 50
"""Deliveries go to this many chats in turn (a care line talks to many families)."""

_FIXTURE = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "webhooks"
    / "2026-02-03"
    / "message.received.json"
)
_RATE_BOUND = 8000  # deliveries per second prepared per second of run (more than any target)


def _naive_app(secret: str) -> Any:
    from standardwebhooks import Webhook

    webhook = Webhook(secret)
    seen: set[str] = set()
    ok = b'{"status":"queued"}'
    duplicate = b'{"status":"duplicate"}'

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            payload = webhook.verify(body, headers)
        except Exception:
            await _answer(send, 401, b'{"error":"bad signature"}')
            return
        event_id = payload["event_id"]
        answer = duplicate if event_id in seen else ok
        seen.add(event_id)
        await _answer(send, 200, answer)

    return app


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _run_naive(port: int, secret: str) -> None:
    import uvicorn

    config = uvicorn.Config(
        _naive_app(secret),
        host="127.0.0.1",
        port=port,
        http="h11",  # what webhooks serve runs (h11 bounds a request head)
        interface="asgi3",
        lifespan="off",
        ws="none",
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    uvicorn.Server(config).run()


def _requests(secret: str, count: int) -> list[bytes]:
    """``count`` distinct signed deliveries, each a complete HTTP/1.1 request."""
    from adapters.linq.webhooks import sign_standard

    template = json.loads(_FIXTURE.read_text(encoding="utf-8"))
    template["event_id"] = "@EVENT@"
    template["data"]["id"] = "@MESSAGE@"
    template["data"]["chat"]["id"] = "@CHAT@"
    text = json.dumps(template, separators=(",", ":"))
    now = int(time.time())
    run = uuid.uuid4().hex[:12]
    requests = []
    for index in range(count):
        body = (
            text.replace("@EVENT@", f"{run}-e{index:08d}")
            .replace("@MESSAGE@", f"{run}-m{index:08d}")
            .replace("@CHAT@", f"{run}-chat{index % CHATS:02d}")
            .encode()
        )
        headers = sign_standard(body, secret, msg_id=f"msg_{run}_{index}", timestamp=now)
        head = [
            "POST / HTTP/1.1",
            "Host: 127.0.0.1",
            "Content-Type: application/json",
            "User-Agent: Linq-Webhooks",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        requests.append(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return requests


async def _read_answer(reader: asyncio.StreamReader) -> int:
    """Read one response; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _load(port: int, secret: str, concurrency: int, seconds: float, warmup: float) -> None:
    requests = _requests(secret, int(_RATE_BOUND * (seconds + warmup)) + 100)
    queue = iter(requests)
    counts = {"ok": 0, "other": 0, "answered": 0}
    timing = {"counting": False, "exhausted": False}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in queue:
                writer.write(request)
                status = await _read_answer(reader)
                counts["answered"] += 1
                if timing["counting"]:
                    counts["ok" if status == 200 else "other"] += 1
                if stop.is_set():
                    return
            timing["exhausted"] = True
        finally:
            writer.close()

    stop = asyncio.Event()
    workers = [asyncio.create_task(connection()) for _ in range(concurrency)]
    await asyncio.sleep(warmup)
    timing["counting"] = True
    started = time.perf_counter()
    done, _ = await asyncio.wait(workers, timeout=seconds)
    counts_at_end = dict(counts)
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*workers, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    print(
        json.dumps(
            {
                "deliveries": counts_at_end["ok"],
                "not_ok": counts_at_end["other"],
                "seconds": elapsed,
                "deliveries_per_second": counts_at_end["ok"] / elapsed,
                "concurrency": concurrency,
                "exhausted": timing["exhausted"],
                "answered_total": counts["answered"],
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    cli = argparse.ArgumentParser(prog="python -m benchmarks.receive_http")
    cli.add_argument("role", choices=("naive", "load"))
    cli.add_argument("--port", type=int, required=True)
    cli.add_argument("--secret", required=True)
    cli.add_argument("--concurrency", type=int, default=1)
    cli.add_argument("--seconds", type=float, default=2.0)
    cli.add_argument("--warmup", type=float, default=0.5)
    args = cli.parse_args(argv)
    if args.role == "naive":
        _run_naive(args.port, args.secret)
    else:
        asyncio.run(_load(args.port, args.secret, args.concurrency, args.seconds, args.warmup))


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path[0] = str(Path(__file__).resolve().parent.parent)
    main()
