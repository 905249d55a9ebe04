"""``caresupport-transport inbox ...`` never shows the password of a store URL.

Each command runs through ``main`` with every logger at DEBUG (``sweep``), with
a canary password in the URL given by ``--store`` or ``$CARESUPPORT_STORE_URL``:
malformed URLs (refused before any I/O) and a Redis server that does not answer
(over the real network, to a closed loopback port).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from adapters.cli._store import STORE_URL_ENV_VAR
from adapters.cli.main import main

from .sweep import Sweep

PASSWORD = "canary-store-pw-Vd4Rk8"
MALFORMED = [
    f"mysql://care:{PASSWORD}@db.internal/care",
    f"memory://care:{PASSWORD}@db.internal",
    f"sqlite://care:{PASSWORD}@db.internal/events.db",
    f"care:{PASSWORD}@db.internal/care",
]
COMMANDS = [
    ["list"],
    ["list", "--state", "dead", "--json"],
    ["show", "evt-1", "--show-content"],
    ["replay", "evt-1"],
    ["replay", "--all-dead", "--json"],
    ["discard", "evt-1", "--yes"],
    ["stats"],
    ["work", "--handler", "asyncio:sleep"],
]


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
        monkeypatch.setenv(STORE_URL_ENV_VAR, url)
        argv = ["inbox", *command]
    else:
        argv = ["inbox", *command, "--store", url]

    assert 2 == run(argv)
    sweep.assert_clean({PASSWORD})


@pytest.mark.parametrize("command", COMMANDS, ids=lambda argv: " ".join(argv))
def test_an_unreachable_store_is_reported_without_its_password(
    command: list[str], sweep: Sweep, tmp_path: Path
) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0"

    assert 1 == run(["--log-level", "DEBUG", "inbox", *command, "--store", url])
    assert "redis://:***@127.0.0.1:" in sweep.capsys.readouterr().err
    sweep.assert_clean({PASSWORD})


@pytest.mark.parametrize(
    "argv",
    [["inbox", "--help"], *(["inbox", command[0], "--help"] for command in COMMANDS)],
    ids=lambda argv: " ".join(argv),
)
def test_help_shows_no_store_password(
    argv: list[str], sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORE_URL_ENV_VAR, f"redis://:{PASSWORD}@127.0.0.1:6379/0")

    assert 0 == run(argv)
    sweep.assert_clean({PASSWORD})
