"""The API token and the webhook secrets never show: not in output, logs, errors, reprs or URLs.

Every test runs with every logger at DEBUG (``sweep``) and a distinctive
canary token and secret, then looks for them, in every form they could take
(the secret's base64 part and decoded key, the signatures a verifier
expects), in everything the run showed.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.asgi import WebhookReceiver, create_webhook_app
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.linq.webhooks import WebhookVerifier, sign_legacy, sign_standard
from adapters.memory import RecipientKind
from caresupport_transport import InboundEvent, OutgoingMessage
from caresupport_transport.errors import ConfigurationError, TransportError
from caresupport_transport.handles import Handle
from caresupport_transport.inbound import InboundDispatcher, MemoryEventStore

from .sweep import (
    OTHER_WEBHOOK_SECRET,
    TOKEN,
    WEBHOOK_SECRET,
    Recording,
    Sweep,
    assert_token_only_in_the_authorization_header_to_linq,
    expected_signatures,
    secret_forms,
)

LINE = "+15550001111"
GRANDMA = "+16515550101"


def linq_config(**changes: Any) -> LinqConfig:
    settings: dict[str, Any] = {
        "api_token": TOKEN,
        "phone_number": LINE,
        "base_url": IN_PROCESS_BASE_URL,
        "webhook_signing_secret": WEBHOOK_SECRET,
        "max_attempts": 2,
        **changes,
    }
    return LinqConfig(**settings)


async def no_wait(_: float) -> None:
    return None


async def test_a_working_client_and_transport_leak_nothing_at_debug(sweep: Sweep) -> None:
    sim = Simulator(tokens={TOKEN: [LINE]})
    sim.add_recipient(GRANDMA, RecipientKind.IMESSAGE)
    wire = Recording(sim.transport())
    async with (
        httpx.AsyncClient(transport=wire) as http,
        LinqClient(linq_config(), http=http, sleep=no_wait) as client,
    ):
        transport = LinqTransport(client)
        started = await transport.start_conversation(
            [Handle(GRANDMA)], OutgoingMessage.of_text("Morning, Mum")
        )
        receipt = await transport.send_message(
            started.conversation.id, OutgoingMessage.of_text("Pills at 9")
        )
        await client.get_message(receipt.message_ids[0])
        chats = [chat async for chat in client.list_chats()]
        attachment = await client.upload(b"%PDF-1.7 care plan", "plan.pdf", "application/pdf")
        subscription = await client.create_webhook_subscription(
            "http://127.0.0.1:8788/linq/webhooks", ["message.received"]
        )
        sweep.add_objects(client, transport, client.config, started, receipt, attachment)
        sweep.add_objects(subscription, *chats)

    assert 1 == len(chats)
    assert sweep.log_lines, "the client and httpx log at DEBUG"
    assert_token_only_in_the_authorization_header_to_linq(wire.requests)
    assert any(r.method == "PUT" and "/uploads/" in r.url.path for r in wire.requests)
    sweep.assert_clean(secret_forms(subscription.signing_secret.reveal()))


def answering(
    answer: Callable[[httpx.Request], Awaitable[httpx.Response]],
) -> httpx.AsyncClient:
    async def handle(request: httpx.Request) -> httpx.Response:
        return await answer(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


def refusal(status: int, message: str) -> Callable[[httpx.Request], Awaitable[httpx.Response]]:
    async def answer(request: httpx.Request) -> httpx.Response:
        body = {
            "success": False,
            "error": {"status": status, "code": 2004, "message": message},
            "trace_id": "trace-1",
        }
        return httpx.Response(status, json=body)

    return answer


def raising(error: Exception) -> Callable[[httpx.Request], Awaitable[httpx.Response]]:
    async def answer(request: httpx.Request) -> httpx.Response:
        raise error

    return answer


async def never_answering(request: httpx.Request) -> httpx.Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def garbage(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202, content=b'{"chat_id": 5, "message": ')


FAILURES = {
    # Linq's message echoes the token back: the error must not.
    "401 echoing the token": refusal(401, f"Invalid token {TOKEN}"),
    "500": refusal(500, "Internal server error"),
    "connection refused": raising(httpx.ConnectError("[Errno 111] Connection refused")),
    # A proxy or a custom transport that puts the credentials in its error text.
    "network error naming the token": raising(
        httpx.ConnectError(f"proxy refused 'Authorization: Bearer {TOKEN}'")
    ),
    "read timeout": raising(httpx.ReadTimeout("timed out")),
    "no answer before the client's deadline": never_answering,
    "unreadable answer": garbage,
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_a_failing_client_leaks_nothing_in_errors_tracebacks_or_logs(
    failure: str, sweep: Sweep
) -> None:
    errors: list[TransportError] = []
    async with (
        answering(FAILURES[failure]) as http,
        LinqClient(linq_config(timeout_seconds=0.02), http=http, sleep=no_wait) as client,
    ):
        transport = LinqTransport(client)
        calls = [
            client.send_message("chat-1", OutgoingMessage.of_text("Pills at 9")),
            client.get_chat("chat-1"),
            transport.send_message("chat-1", OutgoingMessage.of_text("Pills at 9")),
        ]
        for call in calls:
            try:
                await call
            except TransportError as exc:
                errors.append(exc)
        sweep.add_objects(client, transport)

    assert 3 == len(errors)
    for error in errors:
        sweep.add_exception(error)
    sweep.assert_clean()


def test_reprs_of_config_secret_verifier_and_receiver_hide_the_credentials(sweep: Sweep) -> None:
    config = linq_config()

    async def handler(event: InboundEvent) -> None:
        return None

    receiver = create_webhook_app([WEBHOOK_SECRET], handler, MemoryEventStore())
    sweep.add_objects(
        config,
        config.api_token,
        config.webhook_signing_secret,
        WebhookVerifier([WEBHOOK_SECRET, "plain-canary-secret-Rr4Kx"]),
        receiver,
        receiver.verifier,
        receiver.sink,
        receiver.worker,
    )

    assert TOKEN == config.api_token.reveal()
    sweep.assert_clean({"plain-canary-secret-Rr4Kx"})


@pytest.mark.parametrize(
    ("environ", "file"),
    [
        ({"LINQ_API_TOKEN": TOKEN, "LINQ_PHONE_NUMBER": "not a phone"}, None),
        ({"LINQ_API_TOKEN": TOKEN, "LINQ_BASE_URL": f"ftp://{TOKEN}@linq.test"}, None),
        ({"LINQ_API_TOKEN": TOKEN, "LINQ_BASE_URL": f"https://{TOKEN}@linq.test/api"}, None),
        ({"LINQ_API_TOKEN": TOKEN, "LINQ_BASE_URL": f"https://linq.test/api?key={TOKEN}"}, None),
        # The token pasted into the wrong variable.
        ({"LINQ_API_TOKEN": TOKEN, "LINQ_BASE_URL": TOKEN}, None),
        ({"LINQ_API_TOKEN": TOKEN, "LINQ_PHONE_NUMBER": TOKEN}, None),
        (None, {"linq_api_token": TOKEN, "linq_phone": TOKEN}),
        (None, {"linq_api_token": TOKEN, "linq_phone": "12"}),
        (None, {"linq_api_token": TOKEN, "webhook_signing_secret": 42}),
    ],
)
def test_configuration_errors_name_the_setting_never_the_credentials(
    environ: dict[str, str] | None, file: dict[str, object] | None, sweep: Sweep, tmp_path: Path
) -> None:
    path = tmp_path / "linq.json"
    path.write_text(json.dumps(file or {}))

    def load() -> LinqConfig:
        if environ is None:
            return LinqConfig.from_json_file(path)
        return LinqConfig.from_env({**environ, "LINQ_WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET})

    with pytest.raises(ConfigurationError) as caught:
        load()

    sweep.add_exception(caught.value)
    sweep.assert_clean()


@pytest.fixture
async def served() -> AsyncIterator[str]:
    """The simulator, accepting the canary token, served by uvicorn on a loopback port."""
    uvicorn = pytest.importorskip("uvicorn")
    sim = Simulator(tokens={TOKEN: [LINE]})
    sim.add_recipient(GRANDMA, RecipientKind.IMESSAGE)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(sim.app, log_config=None, ws="none", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/partner"
    server.should_exit = True
    await task
    listener.close()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A loopback port that accepts connections and never answers."""
    connections: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    for writer in connections:
        writer.close()
    server.close()
    await server.wait_closed()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_over_real_loopback_sockets_httpx_and_httpcore_at_debug_log_no_credential(
    served: str, silent_port: int, sweep: Sweep
) -> None:
    """The client's own connection pool (httpcore logs every step at DEBUG): a working
    Linq, a port nobody listens on, and a server that never answers."""
    errors: list[TransportError] = []
    async with LinqClient(linq_config(base_url=served), sleep=no_wait) as client:
        chat = await client.create_chat([GRANDMA], OutgoingMessage.of_text("Morning, Mum"))
        await client.send_message(chat.id, OutgoingMessage.of_text("Pills at 9"))
    for base_url in (
        f"http://127.0.0.1:{closed_port()}/api/partner",
        f"http://127.0.0.1:{silent_port}/api/partner",
    ):
        config = linq_config(base_url=base_url, timeout_seconds=0.2, max_attempts=1)
        async with LinqClient(config, sleep=no_wait) as client:
            try:
                await client.get_chat(chat.id)
            except TransportError as exc:
                errors.append(exc)

    assert ["UnreachableError", "TransportTimeoutError"] == [type(e).__name__ for e in errors]
    assert any(r.name.startswith("httpcore") for r in sweep.caplog.records)
    for error in errors:
        sweep.add_exception(error)
    sweep.assert_clean()


FIXTURE = (
    Path(__file__).parents[1] / "fixtures" / "webhooks" / "2026-02-03" / "message.received.json"
)


async def test_the_receiver_refusing_forged_deliveries_shows_no_secret_or_signature(
    sweep: Sweep,
) -> None:
    """Tampered bodies, the wrong secret, stale and malformed signatures: the answers
    and the log lines say which check failed, never what was expected."""
    now = 1_780_000_000
    body = FIXTURE.read_bytes()

    async def handler(event: InboundEvent) -> None:
        return None

    verifier = WebhookVerifier([WEBHOOK_SECRET], clock=lambda: now)
    receiver = WebhookReceiver(verifier, InboundDispatcher(handler, MemoryEventStore()))
    forged = [
        (body + b" ", sign_standard(body, WEBHOOK_SECRET, msg_id="m1", timestamp=now)),
        (body + b" ", sign_legacy(body, WEBHOOK_SECRET, timestamp=now)),
        (body, sign_standard(body, OTHER_WEBHOOK_SECRET, msg_id="m1", timestamp=now)),
        (body, sign_legacy(body, OTHER_WEBHOOK_SECRET, timestamp=now)),
        (body, sign_standard(body, WEBHOOK_SECRET, msg_id="m1", timestamp=now - 3_600)),
        (body, {"webhook-id": "m1", "webhook-timestamp": str(now), "webhook-signature": "v1,!!"}),
    ]
    expected: set[str] = set()
    statuses = []
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as http:
        for sent, headers in forged:
            response = await http.post("/linq/webhooks", content=sent, headers=headers)
            statuses.append(response.status_code)
            sweep.add("receiver answer", response.text)
            sweep.add("receiver answer headers", response.headers)
            for stamp in (now, now - 3_600):
                expected |= expected_signatures(sent, WEBHOOK_SECRET, msg_id="m1", timestamp=stamp)

    assert [401] * len(forged) == statuses
    assert any("refused a webhook delivery" in line for line in sweep.log_lines)
    sweep.assert_clean(expected)
