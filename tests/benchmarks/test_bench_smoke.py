"""The benchmark script's in-process pieces work (no timings are asserted here).

The canned server answers the calls the peers make, the peers' request and the
server's answers fit ``LinqClient``, the verify + parse loop bodies return
events, and the report judges targets from paired ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import httpx
import pytest

from adapters.linq import LinqClient, LinqConfig
from adapters.linq.wire_chats import MessageTextPart
from benchmarks import canned, peers, report, server, webhook_bench, worker
from benchmarks.suite import Settings
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.events import MessageReceived


async def test_the_canned_server_answers_a_linq_client_send_on_one_counted_connection() -> None:
    async with server.running() as (handler, port):
        config = LinqConfig(
            api_token=canned.API_TOKEN, base_url=f"http://127.0.0.1:{port}/api/partner"
        )
        async with LinqClient(config) as client:
            sent = await client.send_message(canned.CHAT_ID, OutgoingMessage.of_text(canned.TEXT))
    assert canned.CHAT_ID == sent.chat_id
    assert (MessageTextPart(canned.TEXT),) == sent.message.parts
    assert (1, 1) == (handler.connections, handler.requests)


async def test_control_requests_are_not_counted_as_peer_traffic() -> None:
    async with server.running() as (handler, port), httpx.AsyncClient() as http:
        answer = await http.get(f"http://127.0.0.1:{port}/_bench/stats")
    assert {"connections": 0, "requests": 0} == answer.json()
    assert (0, 0) == (handler.connections, handler.requests)


async def test_the_canned_server_pages_a_listing_whose_size_is_in_the_path() -> None:
    async with server.running() as (handler, port):
        base_url = f"http://127.0.0.1:{port}/total/250/api/partner"
        async with LinqClient(LinqConfig(api_token="t", base_url=base_url)) as client:
            ids = [chat.id async for chat in client.list_chats(limit=100)]
    assert (250, 250, 3) == (len(ids), len(set(ids)), handler.requests)


async def test_the_raw_httpx_and_linq_client_peers_each_send_one_message() -> None:
    async with server.running() as (handler, port):
        for name in ("httpx", "linq_client"):
            peer = peers.make_peer(name, f"http://127.0.0.1:{port}")
            await peer.open()
            await peer.send()
            await peer.close()
    assert 2 == handler.requests


def test_the_send_body_is_the_one_linq_client_writes() -> None:
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(202, content=canned.send_reply(canned.CHAT_ID))

    async def send() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        config = LinqConfig(api_token="t", base_url="http://127.0.0.1:9/api/partner")
        client = LinqClient(config, http=http, new_key=lambda: "key-1")
        await client.send_message(canned.CHAT_ID, OutgoingMessage.of_text(canned.TEXT))
        await http.aclose()

    asyncio.run(send())
    assert [canned.send_body("key-1")] == [json.loads(body) for body in seen]


@pytest.mark.parametrize("peer", ["ours_standard", "ours_legacy", "standardwebhooks"])
def test_each_verify_and_parse_loop_body_reads_every_delivery(peer: str) -> None:
    secret = webhook_bench.new_secret()
    deliveries = webhook_bench.make_deliveries(secret, 4, scheme=webhook_bench.scheme_of(peer))
    handle = webhook_bench.make_handler(peer, secret)
    events = [handle(delivery) for delivery in deliveries]
    if peer == "standardwebhooks":
        event_ids = [event["event_id"] for event in events]
    else:
        assert all(isinstance(event, MessageReceived) for event in events)
        event_ids = [event.event_id for event in events]
    assert 4 == len(set(event_ids))


def test_the_in_memory_worker_counts_the_sends_it_made() -> None:
    args = worker.parser().parse_args(["memory", "--count", "20"])
    assert 20 == worker.run_bench(args)["sends"]


def _round(index: int, **figures: float) -> dict[str, float]:
    return {"round": index, **figures}


def test_the_report_pairs_ratios_by_round_and_marks_a_missed_target() -> None:
    results: dict[str, Any] = {
        "send_seq": {
            "httpx": [_round(0, cpu_us_per_send=100), _round(1, cpu_us_per_send=200)],
            "linq_client": [_round(1, cpu_us_per_send=260), _round(0, cpu_us_per_send=110)],
            "linq_sdk": [_round(0, cpu_us_per_send=200), _round(1, cpu_us_per_send=400)],
        },
        "meta": {"max_in_flight": 20},
    }
    ratios = report.paired_ratios(results["send_seq"], "linq_client", "httpx", "cpu_us_per_send")
    verdicts = {target.name: target.verdict for target in report.targets(results)}
    assert [1.3, 1.1] == pytest.approx(ratios)
    assert "**missed**" == verdicts["LinqClient CPU per sequential send / raw httpx"]
    assert "met" == verdicts["LinqClient CPU per sequential send / official SDK"]
    assert "not measured" == verdicts["import adapters.linq (LinqClient) / import linq"]
    assert "## Targets" in report.render_markdown(results, chart=None)


def test_a_quick_run_is_shorter_than_the_default_one() -> None:
    quick, default = Settings.quick(), Settings()
    assert quick.rounds < default.rounds
    assert quick.seq_sends < default.seq_sends


def test_the_worker_command_line_knows_every_bench() -> None:
    with pytest.raises(SystemExit):
        worker.parser().parse_args(["no-such-bench"])
    assert isinstance(worker.parser().parse_args(["webhooks"]), argparse.Namespace)
