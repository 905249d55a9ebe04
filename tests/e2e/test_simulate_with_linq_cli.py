"""``caresupport-transport simulate`` + ``LINQ_BASE_URL=... caresupport-transport linq ...``.

The documented offline flow, without subprocesses: the simulator ``simulate``
builds (its demo recipients, a chosen token) is served by uvicorn on a
127.0.0.1 socket, and each ``linq`` command runs through ``main([...])`` with
the environment injected through the CLI's ``wired`` seam and no HTTP transport
of its own, so the command's ``LinqClient`` goes over the real socket. A command
runs ``asyncio.run`` itself, so it runs in a worker thread while the server
keeps serving in the test's loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.cli.linq import wired
from adapters.cli.main import build_parser, main
from adapters.cli.simulate import build_simulator
from adapters.linq.simulator import BASE_PATH, Simulator

from .servers import listening_socket, serving

pytest.importorskip("uvicorn", reason="the loopback tests need uvicorn (dev deps)")

TOKEN = "sim_cli_loopback_token"
IMESSAGE_FRIEND = "+15550101001"
SMS_ONLY = "+15550101003"


class Terminal:
    """Runs CLI commands the way a shell would, against the served simulator."""

    def __init__(self, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.base_url = base_url
        self.capsys = capsys

    async def run(self, *argv: str) -> tuple[int, str, str]:
        """``caresupport-transport ARGV`` with ``LINQ_*`` pointing at the simulator."""
        environ = {
            "LINQ_BASE_URL": self.base_url,
            "LINQ_API_TOKEN": TOKEN,
            "LINQ_PHONE_NUMBER": "+15550100000",
        }
        with wired(environ=environ):
            # to_thread copies the context, so the command sees the wiring.
            code = await asyncio.to_thread(main, list(argv))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    async def ok(self, *argv: str) -> str:
        code, out, err = await self.run(*argv)
        assert (0, "") == (code, err), argv
        return out

    async def json(self, *argv: str) -> Any:
        return json.loads(await self.ok(*argv, "--json"))


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    args = build_parser().parse_args(["simulate", "--token", TOKEN, "--seed", "5"])
    built = build_simulator(args)
    yield built
    await built.aclose()


@pytest.fixture
async def terminal(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> AsyncIterator[Terminal]:
    with listening_socket() as listener:
        async with serving(simulator.app, listener) as origin:
            yield Terminal(origin + BASE_PATH, capsys)


async def test_phones_and_capability_answer_from_the_simulator(terminal: Terminal) -> None:
    assert "+15550100000" in await terminal.ok("linq", "phones")
    assert ["iMessage: available", "RCS: unavailable", "SMS: assumed (phone number)"] == (
        await terminal.ok("linq", "capability", "--to", IMESSAGE_FRIEND)
    ).splitlines()
    assert "iMessage: unavailable" in await terminal.ok("linq", "capability", "--to", SMS_ONLY)


async def test_create_send_chats_and_messages_work_against_the_simulator(
    terminal: Terminal, simulator: Simulator
) -> None:
    assert "(no chats)" in await terminal.ok("linq", "chats")
    created = await terminal.json("linq", "create", "--to", IMESSAGE_FRIEND, "--body", "Hi Ingrid")
    chat_id = created["id"]
    sent = await terminal.ok(
        "linq", "send", "--chat-id", chat_id, "--body", "Physio at 3", "--effect", "confetti"
    )
    fallback = await terminal.ok("linq", "create", "--to", SMS_ONLY, "--body", "Hi Erik")
    await simulator.advance(5)
    listed = await terminal.ok("linq", "chats")
    history = await terminal.json("linq", "messages", "--chat-id", chat_id)

    assert f"in chat {chat_id}: pending (iMessage)" in sent
    assert "created (SMS, 1:1)" in fallback
    assert [f"{chat_id}  iMessage 1:1    {IMESSAGE_FRIEND}"] == [
        line for line in listed.splitlines() if line.startswith(chat_id)
    ]
    assert [("Physio at 3", "delivered"), ("Hi Ingrid", "delivered")] == [
        (message["parts"][0]["value"], message["delivery_status"]) for message in history
    ]


async def test_inbound_then_typing_read_and_react_work_against_the_simulator(
    terminal: Terminal, simulator: Simulator
) -> None:
    created = await terminal.json("linq", "create", "--to", IMESSAGE_FRIEND, "--body", "Hello")
    chat_id = created["id"]
    injected = await terminal.ok(
        "simulate", "inbound", "--url", terminal.base_url, "--token", TOKEN,
        "--from", IMESSAGE_FRIEND, "--text", "Did I take my 9am pill?",
    )  # fmt: skip
    [newest, *_] = await terminal.json("linq", "messages", "--chat-id", chat_id)
    outputs = [
        await terminal.ok("linq", "typing", "--chat-id", chat_id),
        await terminal.ok("linq", "typing", "--chat-id", chat_id, "--stop"),
        await terminal.ok("linq", "read", "--chat-id", chat_id),
        await terminal.ok("linq", "react", "--message-id", newest["id"], "--type", "love"),
    ]

    assert f"chat_id={chat_id}" in injected
    assert ("Did I take my 9am pill?", False) == (
        newest["parts"][0]["value"],
        newest["is_from_me"],
    )
    assert [
        "typing indicator shown: done",
        "typing indicator hidden: done",
        f"chat {chat_id} marked read: done",
        "love added: done",
    ] == [out.strip() for out in outputs]
    [reaction] = simulator.world.reactions_on(newest["id"])
    assert "love" == reaction.reaction.kind.value


async def test_upload_puts_the_bytes_over_plain_http_on_loopback(
    terminal: Terminal, tmp_path: Path
) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 blood pressure chart")
    uploaded = await terminal.json("linq", "upload", str(scan))
    async with httpx.AsyncClient() as http:
        downloaded = await http.get(uploaded["download_url"])

    assert ("scan.pdf", "application/pdf", 29) == (
        uploaded["filename"],
        uploaded["content_type"],
        uploaded["size_bytes"],
    )
    assert b"%PDF-1.4 blood pressure chart" == downloaded.content


async def test_webhook_subscriptions_are_created_listed_and_deleted(terminal: Terminal) -> None:
    created = await terminal.ok(
        "linq", "webhooks", "create", "http://127.0.0.1:9/hooks?version=2026-02-03",
        "--events", "message.received",
    )  # fmt: skip
    subscription_id = created.split()[0]
    listed = await terminal.ok("linq", "webhooks", "list")
    deleted = await terminal.ok("linq", "webhooks", "delete", subscription_id)

    assert "signing secret: whsec_" in created
    assert subscription_id in listed
    assert "(no webhook subscriptions)" in await terminal.ok("linq", "webhooks", "list")
    assert f"webhook subscription {subscription_id} deleted: done" == deleted.strip()


async def test_a_refusal_from_the_simulator_exits_1_with_code_and_trace_id(
    terminal: Terminal,
) -> None:
    code, out, err = await terminal.run("linq", "messages", "--chat-id", "no-such-chat")
    assert (1, "") == (code, out)
    assert ["status: 404", "code: 2001"] == [
        line for line in err.splitlines() if line.startswith(("status:", "code:"))
    ]
    assert "trace id: " in err
