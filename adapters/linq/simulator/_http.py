"""Just enough plain ASGI for the simulator: a parsed request and a response to send."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import attrs

from adapters.linq.simulator._errors import bad_request, payload_too_large

__all__ = ["Receive", "Request", "Response", "Scope", "Send", "read_body"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body.

    Raises:
        ProviderError: 413 / 5001 as soon as the body passes ``limit`` bytes.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise payload_too_large(f"request body is over the {limit} byte limit")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


@attrs.frozen
class Request:
    """An HTTP request as the routes see it: headers lower-cased, query kept as pairs."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    body: bytes
    origin: str
    """``scheme://host[:port]`` as the client addressed us, for absolute URLs we hand out."""

    @classmethod
    def from_scope(cls, scope: Scope, body: bytes) -> Request:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query_string = scope.get("query_string", b"").decode("latin-1")
        host = headers.get("host")
        if not host:
            server = scope.get("server") or ("127.0.0.1", None)
            host = server[0] if server[1] is None else f"{server[0]}:{server[1]}"
        return cls(
            method=scope["method"].upper(),
            path=scope["path"],
            query=tuple(parse_qsl(query_string, keep_blank_values=True)),
            headers=headers,
            body=body,
            origin=f"{scope.get('scheme', 'http')}://{host}",
        )

    def query_one(self, name: str) -> str | None:
        """The last value of query parameter ``name``, or ``None``."""
        values = self.query_all(name)
        return values[-1] if values else None

    def query_all(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object.

        Raises:
            ProviderError: 400 when the body is missing, not JSON, or not an object.
        """
        if not self.body.strip():
            raise bad_request("request body is required")
        try:
            value = json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"request body is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise bad_request("request body must be a JSON object")
        return value


@attrs.frozen
class Response:
    """A response to send: status, headers and the raw body."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, (("content-type", "application/json"), *headers))

    @classmethod
    def empty(cls, status: int = 204, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        return cls(status, b"", headers)

    def with_headers(self, *headers: tuple[str, str]) -> Response:
        return attrs.evolve(self, headers=(*self.headers, *headers))

    async def send(self, send: Send) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
        headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})
