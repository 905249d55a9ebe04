"""``caresupport-transport linq ...`` never shows the API token or the configured webhook secret.

Every command runs against the simulator (which accepts the canary token),
wired through ``adapters.cli.linq.wired``; failures run against a Linq that
echoes the token, and against a closed loopback port over the real network.
The signing secret of a *new* subscription is printed on purpose (Linq shows
it once); the configured one never is.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.cli.linq import wired
from adapters.cli.main import main
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.memory import RecipientKind

from .sweep import (
    TOKEN,
    WEBHOOK_SECRET,
    Recording,
    Sweep,
    assert_token_only_in_the_authorization_header_to_linq,
)

LINE = "+15550001111"
GRANDMA = "+16515550101"
ENVIRON = {
    "LINQ_API_TOKEN": TOKEN,
    "LINQ_PHONE_NUMBER": LINE,
    "LINQ_BASE_URL": IN_PROCESS_BASE_URL,
    "LINQ_WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
}


async def no_wait(_: float) -> None:
    return None


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.fixture
def sim() -> Simulator:
    simulator = Simulator(tokens={TOKEN: [LINE]})
    simulator.add_recipient(GRANDMA, RecipientKind.IMESSAGE)
    return simulator


@pytest.fixture
def wire(sim: Simulator) -> Iterator[Recording]:
    recording = Recording(sim.transport())
    with wired(environ=ENVIRON, transport=recording, sleep=no_wait):
        yield recording


def test_every_linq_command_against_linq_shows_no_credential(
    sim: Simulator, wire: Recording, sweep: Sweep, tmp_path: Path
) -> None:
    assert 0 == run(["linq", "create", "--to", GRANDMA, "--body", "Morning, Mum", "--json"])
    created = json.loads(sweep.capsys.readouterr().out)
    chat_id = created["id"]
    message_id = created["message"]["id"]
    (tmp_path / "plan.pdf").write_bytes(b"%PDF-1.7 care plan")
    commands = [
        ["send", "--chat-id", chat_id, "--body", "Pills at 9"],
        ["send", "--chat-id", chat_id, "--body", "Pills at 9", "--json"],
        ["chats"],
        ["messages", "--chat-id", chat_id],
        ["phones"],
        ["typing", "--chat-id", chat_id],
        ["read", "--chat-id", chat_id],
        ["react", "--message-id", message_id, "--type", "love"],
        ["capability", "--to", GRANDMA],
        ["upload", str(tmp_path / "plan.pdf")],
        ["webhooks", "list"],
        ["webhooks", "list", "--json"],
        ["--help"],
        ["send", "--help"],
    ]
    statuses = [run(["linq", *command]) for command in commands]

    assert [0] * (len(commands) - 2) == statuses[:-2]
    assert_token_only_in_the_authorization_header_to_linq(wire.requests)
    sweep.assert_clean()


def test_a_new_subscriptions_secret_is_shown_once_and_the_configured_one_never(
    sim: Simulator, wire: Recording, sweep: Sweep
) -> None:
    argv = ["linq", "webhooks", "create", "http://127.0.0.1:8788/hooks", "--events"]

    assert 0 == run([*argv, "message.received"])
    (subscription,) = sim.backend.subscriptions.values()
    assert subscription.secret in sweep.capsys.readouterr().out
    assert 0 == run(["linq", "webhooks", "delete", subscription.id])
    sweep.assert_clean()


def echoing_linq(request: httpx.Request) -> httpx.Response:
    """A Linq that refuses everything, quoting the token back."""
    body = {
        "success": False,
        "error": {"status": 401, "code": 2004, "message": f"Unknown token {TOKEN}"},
        "trace_id": "trace-401",
    }
    return httpx.Response(401, json=body)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_refusal_quoting_the_token_is_reported_without_it(as_json: bool, sweep: Sweep) -> None:
    flags = ["--json"] if as_json else []
    with wired(environ=ENVIRON, transport=httpx.MockTransport(echoing_linq), sleep=no_wait):
        status = run(["linq", "send", "--chat-id", "chat-1", "--body", "Pills at 9", *flags])

    assert 1 == status
    assert "trace-401" in sweep.capsys.readouterr().err
    sweep.assert_clean()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_linq_answering_over_the_network_is_reported_without_the_token(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LINQ_BASE_URL", f"http://127.0.0.1:{closed_port()}/api/partner")

    assert 1 == run(["linq", "phones"])
    sweep.assert_clean()


@pytest.mark.parametrize(
    "settings",
    [
        {"linq_api_token": TOKEN, "linq_phone": "not a phone"},
        {"linq_api_token": TOKEN, "linq_phone": TOKEN},
        {"linq_api_token": TOKEN, "base_url": f"https://{TOKEN}@linq.test"},
        {"linq_api_token": TOKEN, "webhook_signing_secret": 7},
    ],
    ids=["bad phone", "token as phone", "token in url", "secret not text"],
)
def test_a_bad_config_file_is_reported_without_the_token(
    settings: dict[str, object], sweep: Sweep, tmp_path: Path
) -> None:
    path = tmp_path / "linq.json"
    path.write_text(json.dumps({**settings, "webhook_signing_secret": WEBHOOK_SECRET} | settings))

    assert 2 == run(["linq", "phones", "--config", str(path)])
    sweep.assert_clean()
