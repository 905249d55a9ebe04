"""``caresupport-transport outbox ...`` never shows a store's password nor what was sent.

Each command runs through ``main`` with every logger at DEBUG (``sweep``), with
a canary password in the URL given by ``--store`` or
``$CARESUPPORT_OUTBOX_STORE_URL``: malformed URLs (refused before any I/O) and a
Redis server that does not answer (over the real network, to a closed loopback
port). On a real outbox (SQLite, seeded through the public API), no command
shows a phone number in full or an attachment's signed URL, and none but
``show --show-content`` the message text.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from adapters.cli._store import OUTBOX_STORE_URL_ENV_VAR
from adapters.cli.main import main
from adapters.memory import InMemoryTransport
from caresupport_transport import Handle, MediaPart, OutgoingMessage, TextPart
from caresupport_transport.inbound import open_event_store
from caresupport_transport.outbound import Outbox, OutboxWorker

from .sweep import Sweep

PASSWORD = "canary-outbox-pw-Qm7Tz2"
MALFORMED = [
    f"mysql://care:{PASSWORD}@db.internal/care",
    f"memory://care:{PASSWORD}@db.internal",
    f"sqlite://care:{PASSWORD}@db.internal/outbox.db",
    f"care:{PASSWORD}@db.internal/care",
]
COMMANDS = [
    ["list"],
    ["list", "--state", "failed", "--json"],
    ["show", "pills-0900", "--show-content"],
    ["show", "pills-0900", "--json"],
    ["retry", "pills-0900"],
    ["cancel", "pills-0900", "--json"],
    ["stats"],
]


MUM = "+16515557981"
CANARY = "CANARY-warfarin 5mg"
SIGNATURE = "canary-url-signature-Hq4Wd"
TEXT = f"{CANARY} at 9; call {MUM} if unwell"
MESSAGE = OutgoingMessage(
    (
        TextPart(TEXT),
        MediaPart(url=f"https://files.example/rx.png?sig={SIGNATURE}", content_type="image/png"),
    )
)
"""Into a conversation; a new chat's first message takes no URL, so it gets ``TEXT`` alone."""


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda argv: " ".join(argv))
@pytest.mark.parametrize("from_env", [False, True], ids=["--store", "environment"])
def test_a_malformed_store_url_is_refused_without_its_password(
    url: str, command: list[str], from_env: bool, sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    if from_env:
        monkeypatch.setenv(OUTBOX_STORE_URL_ENV_VAR, url)
        argv = ["outbox", *command]
    else:
        argv = ["outbox", *command, "--store", url]

    assert 2 == run(argv)
    sweep.assert_clean({PASSWORD})


@pytest.mark.parametrize("command", COMMANDS, ids=lambda argv: " ".join(argv))
def test_an_unreachable_store_is_reported_without_its_password(
    command: list[str], sweep: Sweep
) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0"

    assert 1 == run(["--log-level", "DEBUG", "outbox", *command, "--store", url])
    assert "redis://:***@127.0.0.1:" in sweep.capsys.readouterr().err
    sweep.assert_clean({PASSWORD})


@pytest.mark.parametrize(
    "argv",
    [["outbox", "--help"], *(["outbox", command[0], "--help"] for command in COMMANDS)],
    ids=lambda argv: " ".join(argv),
)
def test_help_shows_no_store_password(
    argv: list[str], sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(OUTBOX_STORE_URL_ENV_VAR, f"redis://:{PASSWORD}@127.0.0.1:6379/0")

    assert 0 == run(argv)
    sweep.assert_clean({PASSWORD})


async def _seed(url: str) -> None:
    """One intent sent to Mum, one refused for good, one still queued."""
    store = await open_event_store(url)
    transport = InMemoryTransport(seed=7)
    transport.world.add_recipient(Handle(MUM))
    try:
        outbox = Outbox(store)
        await outbox.start_conversation(
            [Handle(MUM)], OutgoingMessage.of_text(TEXT), idempotency_key="sent-1"
        )
        await outbox.send_message("no-such-conversation", MESSAGE, idempotency_key="refused-1")
        await OutboxWorker(outbox, transport).drain()
        await outbox.send_message("chat-later", MESSAGE, idempotency_key="queued-1")
    finally:
        await store.close()


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["list", "--json"],
        *(
            ["show", intent, *json]
            for intent in ("sent-1", "refused-1")
            for json in ([], ["--json"])
        ),
        ["retry", "refused-1"],
        ["retry", "sent-1", "--json"],
        ["cancel", "queued-1"],
        ["cancel", "sent-1"],
        ["stats", "--json"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_no_command_shows_what_was_sent_or_to_whom(
    command: list[str], sweep: Sweep, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'outbox.sqlite'}"
    asyncio.run(_seed(url))

    run(["--log-level", "DEBUG", "outbox", *command, "--store", url])

    sweep.assert_clean({CANARY, MUM, SIGNATURE})


@pytest.mark.parametrize("json", [[], ["--json"]])
def test_show_content_shows_the_text_with_the_number_masked_and_never_the_url(
    json: list[str], sweep: Sweep, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'outbox.sqlite'}"
    asyncio.run(_seed(url))

    assert 0 == run(["outbox", "show", "queued-1", "--show-content", *json, "--store", url])

    assert CANARY in sweep.capsys.readouterr().out
    sweep.assert_clean({MUM, SIGNATURE})
