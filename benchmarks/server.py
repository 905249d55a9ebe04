"""A minimal HTTP/1.1 keep-alive server on 127.0.0.1 answering Linq's calls with canned bodies.

It is deliberately not the project's simulator: it does the least a server can
(parse the request head, read the body, answer), so what is measured is the
client. It counts the TCP connections that carried API traffic, so each peer's
connection use can be reported.

Routes:

- ``POST .../v3/chats/{id}/messages``: ``202`` with a ``SendMessageResponse``,
  after ``latency`` seconds.
- ``GET .../v3/chats?limit=N&cursor=C``: a page of a listing of ``total`` chats,
  where ``total`` is read from a ``/total/{n}`` segment at the start of the path
  (``DEFAULT_TOTAL_CHATS`` without one).
- ``GET .../v3/chats/{id}``: that chat, 1:1 on iMessage (``LinqTransport`` reads it
  before each send).
- ``POST .../v3/capability/check_imessage`` and ``check_rcs``: available.
- ``GET /_bench/stats``: ``{"connections": n, "requests": n}`` (these control
  requests are not counted).

Run it alone with ``python -m benchmarks.server --latency-ms 20``; it prints
``listening 127.0.0.1:PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs

from benchmarks import canned

__all__ = ["DEFAULT_TOTAL_CHATS", "CannedServer", "running", "serve_forever"]

DEFAULT_TOTAL_CHATS = 200
_SEND = re.compile(r"(?:/total/\d+)?/api/partner/v3/chats/([^/]+)/messages")
_LIST = re.compile(r"(?:/total/(\d+))?/api/partner/v3/chats")
_CHAT = re.compile(r"(?:/total/\d+)?/api/partner/v3/chats/([^/]+)")
_CAPABILITY = re.compile(r"(?:/total/\d+)?/api/partner/v3/capability/check_(?:imessage|rcs)")
_CONTROL_PREFIX = "/_bench/"
_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found"}


class CannedServer:
    """The connection handler and its counters.

    Args:
        latency: seconds to wait before answering each API request.
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.connections = 0
        self.requests = 0
        self._reply_by_chat: dict[str, bytes] = {}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until the client closes it or asks to."""
        counted = False
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                method, target, version, headers = _parse_head(head)
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                path, _, query = target.partition("?")
                control = path.startswith(_CONTROL_PREFIX)
                if not control:
                    self.requests += 1
                    if not counted:
                        self.connections += 1
                        counted = True
                    if self.latency:
                        await asyncio.sleep(self.latency)
                status, answer = self.answer(method, path, query, body)
                close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
                writer.write(_response(status, answer, close=close))
                await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            return
        finally:
            writer.close()

    def answer(self, method: str, path: str, query: str, body: bytes = b"") -> tuple[int, bytes]:
        """The status and body for one request."""
        if path == f"{_CONTROL_PREFIX}stats":
            stats = {"connections": self.connections, "requests": self.requests}
            return 200, json.dumps(stats).encode()
        if method == "POST" and (found := _SEND.fullmatch(path)):
            chat_id = found.group(1)
            reply = self._reply_by_chat.get(chat_id)
            if reply is None:
                reply = self._reply_by_chat[chat_id] = canned.send_reply(chat_id)
            return 202, reply
        if method == "GET" and (found := _LIST.fullmatch(path)):
            total = int(found.group(1) or DEFAULT_TOTAL_CHATS)
            params = parse_qs(query)
            limit = int(params.get("limit", ["50"])[0])
            offset = int(params.get("cursor", ["0"])[0])
            return 200, canned.chats_page(total, offset, limit)
        if method == "GET" and (found := _CHAT.fullmatch(path)):
            return 200, canned.chat_reply(found.group(1))
        if method == "POST" and _CAPABILITY.fullmatch(path):
            address = json.loads(body or b"{}").get("address", "")
            return 200, json.dumps({"address": address, "available": True}).encode()
        return 404, b'{"error":{"status":404,"code":1001,"message":"not found"}}'


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise ValueError("chunked request bodies are not supported by the canned server")
    return method, target, version, headers


def _response(status: int, body: bytes, *, close: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


@asynccontextmanager
async def running(latency: float = 0.0, port: int = 0) -> AsyncIterator[tuple[CannedServer, int]]:
    """Serve on 127.0.0.1 while the block runs; yields the handler and the bound port."""
    handler = CannedServer(latency)
    server = await asyncio.start_server(handler.handle, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    try:
        yield handler, bound
    finally:
        server.close()
        await server.wait_closed()


async def serve_forever(latency: float, port: int) -> None:
    """Serve until the process is terminated, announcing the port on stdout."""
    async with running(latency, port) as (_, bound):
        print(f"listening 127.0.0.1:{bound}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve_forever(args.latency_ms / 1000, args.port))


if __name__ == "__main__":
    main()
