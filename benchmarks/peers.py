"""The clients compared: each sends the same text message to the same chat.

Every peer posts the same JSON (``canned.send_body``) with a fresh idempotency
key and reads the answer the way its users would: ``LinqClient`` and the
official SDK decode it into their types, raw httpx and urllib into a dict.

The official SDK (``linq``) and ``LinqTransport`` are imported only when their
peer is opened, so this module imports without them.
"""

from __future__ import annotations

import importlib.util
import json
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from benchmarks import canned

__all__ = ["PEERS", "SEND_PEERS", "SendPeer", "make_peer", "unavailable_reason"]


class SendPeer(Protocol):
    """One way of sending: opened once, then ``send`` in a loop, then closed."""

    async def open(self) -> None: ...

    async def send(self) -> None: ...

    async def close(self) -> None: ...


def _new_key() -> str:
    return str(uuid.uuid4())


def _headers(key: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {canned.API_TOKEN}",
        "Accept": "application/json",
        "Idempotency-Key": key,
    }


class RawHttpx:
    """``httpx.AsyncClient`` with its default limits posting the JSON: the floor."""

    def __init__(self, origin: str) -> None:
        self._url = origin + canned.SEND_PATH
        self._http: Any = None

    async def open(self) -> None:
        import httpx

        self._http = httpx.AsyncClient()

    async def send(self) -> None:
        key = _new_key()
        response = await self._http.post(
            self._url, json=canned.send_body(key), headers=_headers(key)
        )
        response.raise_for_status()
        response.json()

    async def close(self) -> None:
        await self._http.aclose()


class OurClient:
    """``LinqClient.send_message`` with its default configuration."""

    def __init__(self, origin: str) -> None:
        self._base_url = origin + canned.API_PREFIX
        self._client: Any = None

    async def open(self) -> None:
        from adapters.linq import LinqClient, LinqConfig

        self._client = LinqClient(LinqConfig(api_token=canned.API_TOKEN, base_url=self._base_url))

    async def send(self) -> None:
        from caresupport_transport.content import OutgoingMessage

        await self._client.send_message(canned.CHAT_ID, OutgoingMessage.of_text(canned.TEXT))

    async def close(self) -> None:
        await self._client.aclose()


class RawAiohttp:
    """``aiohttp.ClientSession`` with its default connector posting the JSON (the aiohttp floor)."""

    def __init__(self, origin: str) -> None:
        self._url = origin + canned.SEND_PATH
        self._http: Any = None

    async def open(self) -> None:
        import aiohttp

        self._http = aiohttp.ClientSession()

    async def send(self) -> None:
        key = _new_key()
        async with self._http.post(
            self._url, json=canned.send_body(key), headers=_headers(key)
        ) as response:
            response.raise_for_status()
            await response.json()

    async def close(self) -> None:
        await self._http.close()


class HttpxOverAiohttp(RawHttpx):
    """``httpx`` (default limits) over the ``httpx-aiohttp`` transport."""

    async def open(self) -> None:
        from httpx_aiohttp import HttpxAiohttpClient

        self._http = HttpxAiohttpClient()


class OurClientOverAiohttp(OurClient):
    """``LinqClient.send_message`` with ``http_backend="aiohttp"`` (otherwise default)."""

    async def open(self) -> None:
        from adapters.linq import LinqClient, LinqConfig

        self._client = LinqClient(
            LinqConfig(api_token=canned.API_TOKEN, base_url=self._base_url, http_backend="aiohttp")
        )


class OurTransport:
    """``LinqTransport.send_message`` (the port) over a default ``LinqClient``.

    The first send into a chat reads it (``GET /v3/chats/{id}``, for its
    participants and service; reused for ``conversation_ttl``), then posts the
    message. Sends into one conversation go one at a time (order: bubbles never
    interleave), so the sends are spread over :data:`CONVERSATIONS` chats, as a
    care service sends to many families at once.
    """

    CONVERSATIONS = 50

    def __init__(self, origin: str) -> None:
        self._base_url = origin + canned.API_PREFIX
        self._transport: Any = None
        self._next = 0

    async def open(self) -> None:
        from adapters.linq import LinqConfig
        from adapters.linq.transport import LinqTransport

        config = LinqConfig(
            api_token=canned.API_TOKEN, base_url=self._base_url, phone_number=canned.SENDER_LINE
        )
        self._transport = LinqTransport.from_config(config)

    async def send(self) -> None:
        from caresupport_transport.content import OutgoingMessage

        self._next = (self._next + 1) % self.CONVERSATIONS
        chat_id = canned.CHAT_ID if self._next == 0 else f"{canned.CHAT_ID[:-2]}{self._next:02d}"
        await self._transport.send_message(chat_id, OutgoingMessage.of_text(canned.TEXT))

    async def close(self) -> None:
        await self._transport.aclose()


class OfficialSdk:
    """The official ``linq-python`` SDK: ``AsyncLinqAPIV3().chats.messages.send``."""

    def __init__(self, origin: str) -> None:
        self._base_url = origin + canned.API_PREFIX
        self._sdk: Any = None

    async def open(self) -> None:
        import linq

        self._sdk = linq.AsyncLinqAPIV3(api_key=canned.API_TOKEN, base_url=self._base_url)

    async def send(self) -> None:
        message = canned.send_body(_new_key())["message"]
        await self._sdk.chats.messages.send(canned.CHAT_ID, message=message)

    async def close(self) -> None:
        await self._sdk.close()


class UrllibInLoop:
    """A naive gateway: ``urllib.request.urlopen`` called *blocking, inside the event loop*.

    Like a synchronous gateway called from async code: while one request waits,
    nothing else on the loop runs. urllib opens a new connection per request.
    """

    def __init__(self, origin: str) -> None:
        self._url = origin + canned.SEND_PATH

    async def open(self) -> None:
        return None

    async def send(self) -> None:
        key = _new_key()
        request = urllib.request.Request(
            self._url,
            data=json.dumps(canned.send_body(key)).encode(),
            headers={**_headers(key), "Content-Type": "application/json"},
            method="POST",
        )
        # Deliberately blocking: this is the pattern being measured.
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: ASYNC210
            json.loads(response.read())

    async def close(self) -> None:
        return None


PEERS: dict[str, tuple[str, Callable[[str], SendPeer]]] = {
    "httpx": ("raw httpx.AsyncClient", RawHttpx),
    "linq_client": ("LinqClient", OurClient),
    "linq_transport": ("LinqTransport", OurTransport),
    "linq_sdk": ("official linq-python SDK", OfficialSdk),
    "urllib": ("urllib, blocking in the loop", UrllibInLoop),
    "aiohttp": ("raw aiohttp", RawAiohttp),
    "httpx_aiohttp": ("raw httpx over httpx-aiohttp", HttpxOverAiohttp),
    "linq_client_aiohttp": ("LinqClient over aiohttp", OurClientOverAiohttp),
}
"""Peer name -> (label, factory taking the server's origin ``http://127.0.0.1:PORT``)."""

SEND_PEERS = tuple(PEERS)

_REQUIRED_MODULES = {
    "httpx": ("httpx",),
    "linq_client": ("adapters.linq",),
    "linq_transport": ("adapters.linq.transport",),
    "linq_sdk": ("linq",),
    "urllib": (),
    "aiohttp": ("aiohttp",),
    "httpx_aiohttp": ("httpx_aiohttp",),
    "linq_client_aiohttp": ("adapters.linq", "httpx_aiohttp"),
}


def unavailable_reason(peer: str) -> str | None:
    """Why ``peer`` cannot run in this interpreter, or ``None`` when it can."""
    for module in _REQUIRED_MODULES[peer]:
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return f"{module} is not importable"
    return None


def make_peer(peer: str, origin: str) -> SendPeer:
    """The peer called ``peer``, aimed at the server at ``origin``."""
    return PEERS[peer][1](origin)
