"""``LinqConfig(http_backend="aiohttp")``: LinqClient over aiohttp's pool, httpx as the interface.

Against a local HTTP server on 127.0.0.1 (the benchmarks' canned Linq), never
the internet. Tests that inject ``http=`` (``httpx.MockTransport``) are unchanged
by the backend.
"""

from __future__ import annotations

import asyncio
import sys

import httpx
import pytest

from adapters.linq import LinqClient, LinqConfig
from benchmarks import canned
from benchmarks.server import running
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.errors import ConfigurationError, TransportError

pytest.importorskip("httpx_aiohttp")


def _config(port: int, **changes: object) -> LinqConfig:
    return LinqConfig(
        api_token=canned.API_TOKEN,
        base_url=f"http://127.0.0.1:{port}{canned.API_PREFIX}",
        http_backend="aiohttp",
        **changes,  # type: ignore[arg-type]
    )


async def test_sends_go_over_aiohttp_and_answer_as_over_httpx() -> None:
    async with running() as (server, port):
        answers = []
        for backend in ("httpx", "aiohttp"):
            config = LinqConfig(
                api_token=canned.API_TOKEN,
                base_url=f"http://127.0.0.1:{port}{canned.API_PREFIX}",
                http_backend=backend,
            )
            client = LinqClient(config)
            try:
                if backend == "aiohttp":
                    from httpx_aiohttp import HttpxAiohttpClient

                    assert isinstance(client._requester._http, HttpxAiohttpClient)
                sent = await client.send_message(
                    canned.CHAT_ID, OutgoingMessage.of_text(canned.TEXT), idempotency_key="k-1"
                )
                answers.append(sent)
            finally:
                await client.aclose()

    assert 2 == server.requests
    assert answers[0] == answers[1]


async def test_a_burst_over_aiohttp_opens_no_more_connections_than_max_in_flight() -> None:
    async with running(latency=0.02) as (server, port):
        client = LinqClient(_config(port, max_in_flight=4))
        try:
            await asyncio.gather(
                *(
                    client.send_message(canned.CHAT_ID, OutgoingMessage.of_text(canned.TEXT))
                    for _ in range(40)
                )
            )
        finally:
            await client.aclose()

    assert 40 == server.requests
    assert 1 <= server.connections <= 4


async def test_an_injected_client_is_used_whatever_the_backend() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(404, json={"error": {"code": 1, "message": "no"}})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    client = LinqClient(_config(1), http=http)
    with pytest.raises(TransportError):
        await client.send_message(canned.CHAT_ID, OutgoingMessage.of_text(canned.TEXT))
    await client.aclose()
    await http.aclose()

    assert seen


def test_the_in_flight_bound_defaults_per_backend_and_a_given_one_wins() -> None:
    assert [20, 50, 7] == [
        LinqConfig(api_token="t").max_in_flight,
        LinqConfig(api_token="t", http_backend="aiohttp").max_in_flight,
        LinqConfig(api_token="t", http_backend="aiohttp", max_in_flight=7).max_in_flight,
    ]


def test_an_unknown_backend_is_refused_naming_the_choices() -> None:
    with pytest.raises(ConfigurationError) as caught:
        LinqConfig(api_token="t", http_backend="requests")

    assert "http_backend: must be one of httpx, aiohttp, got 'requests'" == str(caught.value)


def test_without_the_extra_the_aiohttp_backend_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)

    with pytest.raises(ConfigurationError) as caught:
        LinqClient(LinqConfig(api_token="t", http_backend="aiohttp"))

    assert 'pip install "caresupport-transport[aiohttp]"' in str(caught.value)
