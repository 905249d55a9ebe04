"""``caresupport-transport twilio send|messages``: against the Twilio simulator, no network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.cli import twilio as twilio_cli
from adapters.cli.main import main
from adapters.memory import RecipientKind, World
from adapters.twilio.simulator import IN_PROCESS_BASE_URL, TwilioSimulator
from caresupport_transport import Handle

GRANDSON = Handle("+16515550103")


@pytest.fixture
def simulator() -> TwilioSimulator:
    world = World(seed=5)
    world.add_recipient(GRANDSON, RecipientKind.SMS_ONLY)
    return TwilioSimulator(world)


def environ(simulator: TwilioSimulator, keys: Path) -> dict[str, str]:
    return {
        "TWILIO_KEYS_DB": str(keys),
        "TWILIO_ACCOUNT_SID": simulator.account_sid,
        "TWILIO_AUTH_TOKEN": simulator.auth_token,
        "TWILIO_FROM": simulator.phone.value,
        "TWILIO_BASE_URL": IN_PROCESS_BASE_URL,
    }


def test_two_runs_under_one_key_text_once_and_messages_lists_it(
    simulator: TwilioSimulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    send = ["twilio", "send", "--to", GRANDSON.value, "--text", "Pills at 9", "--json"]
    keys = ["--keys", str(tmp_path / "keys.sqlite3"), "--idempotency-key", "pills-9"]
    with twilio_cli.wired(environ=environ(simulator, tmp_path), transport=simulator.transport()):
        for _ in range(2):
            assert 0 == main([*send, *keys])
        first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
        assert 0 == main(
            ["twilio", "messages", "--with", GRANDSON.value, "--json", "--keys", keys[1]]
        )
        listed = json.loads(capsys.readouterr().out)["messages"]

    assert first["message_sid"] == second["message_sid"]
    assert 1 == len(simulator.texts_to(GRANDSON))
    assert [(first["message_sid"], "outbound", "Pills at 9")] == [
        (m["sid"], m["direction"], m["text"]) for m in listed
    ]


def test_a_missing_setting_is_a_usage_error_before_any_request(
    simulator: TwilioSimulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = environ(simulator, tmp_path / "keys.sqlite3")
    del settings["TWILIO_FROM"]
    with twilio_cli.wired(environ=settings, transport=simulator.transport()):
        code = main(["twilio", "send", "--to", GRANDSON.value, "--text", "hi"])
    assert (2, 0) == (code, simulator.requests)
    assert "TWILIO_FROM" in capsys.readouterr().err


def test_serve_without_an_auth_token_refuses_to_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The receiver fails closed: no token, no server."""
    settings = {"TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_FROM": "+16515550100"}
    with twilio_cli.wired(environ=settings):
        code = main(["twilio", "serve", "--keys", str(tmp_path / "k.sqlite3")])
    assert 2 == code
    assert "TWILIO_AUTH_TOKEN" in capsys.readouterr().err
