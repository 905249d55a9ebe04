"""httpx logs each request's URL at INFO; for our requests it shows no query string
(phone numbers travel in ``?to=``) and no presigned upload URL (its signature is a
credential, its path may hold a file name). Other clients' lines are left alone."""

from __future__ import annotations

import logging

import httpx
import pytest

from adapters.linq import LinqClient, LinqConfig
from adapters.linq._url_logging import QueryHidingAccessLog, hide_query
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.memory import RecipientKind
from caresupport_transport.handles import Handle

LINE = "+15550001111"
MUM = "+16515557981"
TOKEN = "tok-httpx-url-logging"


def httpx_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "httpx"]


async def test_our_requests_log_paths_without_queries_or_presigned_urls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    sim = Simulator(tokens={TOKEN: [LINE]})
    sim.add_recipient(MUM, RecipientKind.IMESSAGE)
    wire: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        wire.append(request)

    config = LinqConfig(api_token=TOKEN, phone_number=LINE, base_url=IN_PROCESS_BASE_URL)
    async with (
        httpx.AsyncClient(transport=sim.transport(), event_hooks={"request": [record]}) as http,
        LinqClient(config, http=http) as client,
    ):
        [chat async for chat in client.list_chats(to=[Handle(MUM)])]
        await client.upload(b"%PDF-1.7 discharge letter", "discharge-letter.pdf", "application/pdf")

    (put,) = [r for r in wire if r.method == "PUT"]
    signature = put.url.params["signature"]
    lines = httpx_lines(caplog)
    shown = "\n".join(lines)
    assert signature
    assert signature not in shown
    assert put.url.path not in shown  # the upload's id and path
    assert MUM[1:] not in shown  # the number, + or %2B before it
    assert (
        f'HTTP Request: GET {IN_PROCESS_BASE_URL}/v3/chats?[query hidden] "HTTP/1.1 200 OK"'
        in lines
    )
    assert (
        f"HTTP Request: PUT {put.url.scheme}://{put.url.host}/[presigned URL hidden] "
        '"HTTP/1.1 200 OK"' in lines
    )


async def test_other_clients_lines_are_untouched(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    config = LinqConfig(api_token=TOKEN, base_url=IN_PROCESS_BASE_URL)
    async with LinqClient(config):  # installs the filter
        pass

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as other:
        await other.get("https://elsewhere.test/search?q=weather")

    assert ['HTTP Request: GET https://elsewhere.test/search?q=weather "HTTP/1.1 200 OK"'] == (
        httpx_lines(caplog)
    )


async def test_the_filter_is_installed_once_however_many_clients() -> None:
    for _ in range(3):
        async with LinqClient(LinqConfig(api_token=TOKEN, base_url=IN_PROCESS_BASE_URL)):
            pass

    filters = logging.getLogger("httpx").filters
    ours = [f for f in filters if type(f).__module__ == "adapters.linq._url_logging"]

    assert 1 == len(ours)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.test/v3/chats?to=%2B16515557981", "https://api.test/v3/chats?[query hidden]"),
        ("https://u:p@api.test/v3/chats#frag", "https://api.test/v3/chats?[query hidden]"),
        ("https://api.test/v3/chats/c1", "https://api.test/v3/chats/c1"),
        ("/uploads/u1?signature=abc", "/uploads/u1?[query hidden]"),
    ],
)
def test_hide_query(url: str, shown: str) -> None:
    assert shown == hide_query(url)


def test_the_simulators_access_log_shows_paths_without_queries() -> None:
    args = ("127.0.0.1:5000", "PUT", "/uploads/u1?signature=s3cr3t", "1.1", 200)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
    )

    assert QueryHidingAccessLog().filter(record)
    assert '127.0.0.1:5000 - "PUT /uploads/u1?[query hidden] HTTP/1.1" 200' == record.getMessage()
