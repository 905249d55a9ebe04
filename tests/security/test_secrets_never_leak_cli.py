"""The command line never shows the API token, a webhook secret or an expected signature.

Each command runs through ``adapters.cli.main.main`` with every logger at
DEBUG (``sweep``); its output, logs and any exception are searched for every
form of the canary credentials.
"""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path

import pytest

from adapters.cli.main import build_parser, main
from adapters.linq.webhooks import sign_legacy, sign_standard

from .sweep import (
    MALFORMED_SECRET,
    OTHER_WEBHOOK_SECRET,
    TOKEN,
    WEBHOOK_SECRET,
    Sweep,
    expected_signatures,
)

FIXTURE = (
    Path(__file__).parents[1] / "fixtures" / "webhooks" / "2026-02-03" / "message.received.json"
)
AT = 1_780_000_000
MSG_ID = "msg_2yQ3kfLrGz8ds1T0"


def run(argv: list[str]) -> int:
    """Exit status of the command (``--help`` exits through ``SystemExit``)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def signed(body: bytes, secret: str, *, legacy: bool) -> list[str]:
    """``--header`` arguments of a delivery of ``body`` signed with ``secret``."""
    if legacy:
        headers = sign_legacy(body, secret, timestamp=AT)
    else:
        headers = sign_standard(body, secret, msg_id=MSG_ID, timestamp=AT)
    return [
        argument for name, value in headers.items() for argument in ("--header", f"{name}: {value}")
    ]


CASES = {
    # name: (signed with, verified with, legacy scheme, tamper with the body, expected exit)
    "valid, standard": (WEBHOOK_SECRET, [WEBHOOK_SECRET], False, False, 0),
    "valid, legacy": (WEBHOOK_SECRET, [WEBHOOK_SECRET], True, False, 0),
    "tampered, standard": (WEBHOOK_SECRET, [WEBHOOK_SECRET], False, True, 1),
    "tampered, legacy": (WEBHOOK_SECRET, [WEBHOOK_SECRET], True, True, 1),
    "signed with another secret": (OTHER_WEBHOOK_SECRET, [WEBHOOK_SECRET], False, False, 1),
    "rotation, neither secret matches": (
        OTHER_WEBHOOK_SECRET,
        [WEBHOOK_SECRET, "whsec_cm90YXRlZC1jYW5hcnktUDNzOQ=="],
        True,
        True,
        1,
    ),
    "malformed secret": (WEBHOOK_SECRET, [MALFORMED_SECRET], False, False, 1),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("from_env", [False, True], ids=["--secret", "environment"])
def test_webhooks_verify_shows_no_secret_and_no_expected_signature(
    case: str, from_env: bool, sweep: Sweep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer, secrets, legacy, tamper, expected_exit = CASES[case]
    body = FIXTURE.read_bytes()
    headers = signed(body, signer, legacy=legacy)
    sent = body + b" " if tamper else body
    (tmp_path / "body.json").write_bytes(sent)
    argv = ["webhooks", "verify", "--body", str(tmp_path / "body.json"), "--at", str(AT)]
    if from_env:
        monkeypatch.setenv("LINQ_WEBHOOK_SIGNING_SECRET", " ".join(secrets))
    else:
        argv += [argument for secret in secrets for argument in ("--secret", secret)]

    status = run([*argv, *headers])

    assert expected_exit == status
    computed = set().union(
        *(
            expected_signatures(sent, secret, msg_id=MSG_ID, timestamp=AT)
            for secret in secrets
            if secret != MALFORMED_SECRET
        )
    )
    sweep.assert_clean({"cm90YXRlZC1jYW5hcnktUDNzOQ", "rotated-canary-P3s9"}, computed)


def test_webhooks_verify_of_a_stale_delivery_shows_no_secret(sweep: Sweep, tmp_path: Path) -> None:
    body = FIXTURE.read_bytes()
    (tmp_path / "body.json").write_bytes(body)
    argv = ["webhooks", "verify", "--secret", WEBHOOK_SECRET, "--body", str(tmp_path / "body.json")]

    assert 1 == run([*argv, *signed(body, WEBHOOK_SECRET, legacy=False)])
    assert "stale" in sweep.capsys.readouterr().out
    sweep.assert_clean(expected_signatures(body, WEBHOOK_SECRET, msg_id=MSG_ID, timestamp=AT))


@pytest.mark.parametrize("secret", [MALFORMED_SECRET, None])
def test_webhooks_serve_refusing_its_secret_does_not_echo_it(
    secret: str | None, sweep: Sweep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LINQ_WEBHOOK_SIGNING_SECRET", raising=False)
    argv = ["webhooks", "serve", "--port", "1", "--db", str(tmp_path / "events.db")]

    assert 1 == run(argv + (["--secret", secret] if secret else []))
    sweep.assert_clean()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["simulate", "--help"],
        ["simulate", "inbound", "--help"],
        ["webhooks", "verify", "--help"],
        ["simulate", "--webhook", "http://127.0.0.1:9/hooks", "--secret", MALFORMED_SECRET],
        ["simulate", "--secret", WEBHOOK_SECRET],
    ],
    ids=["help", "simulate help", "inbound help", "verify help", "bad secret", "secret alone"],
)
def test_help_and_refused_simulate_commands_show_no_credential(
    argv: list[str], sweep: Sweep
) -> None:
    run(argv)

    sweep.assert_clean()


def test_simulate_inbound_to_nobody_does_not_echo_the_token(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/partner"
    monkeypatch.setenv("LINQ_API_TOKEN", TOKEN)

    for argv in (["--url", url, "--token", TOKEN], ["--url", url]):
        assert 1 == run(["simulate", "inbound", *argv, "--from", "+15550101001", "--text", "Hi"])

    sweep.assert_clean()


COVERED = {
    "demo": "test_the_demo_shows_no_credential",
    "inbox": "test_secrets_never_leak_inbox_cli.py",
    "linq": "test_secrets_never_leak_linq_cli.py",
    "outbox": "test_secrets_never_leak_outbox_cli.py",
    "simulate": "test_help_and_refused_simulate_commands_show_no_credential",
    "twilio": "test_secrets_never_leak_twilio_cli.py",
    "webhooks": "test_webhooks_verify_shows_no_secret_and_no_expected_signature",
}


def test_every_command_has_a_leak_test() -> None:
    """A new command must get its own leak test here (and an entry in ``COVERED``)."""
    parser = build_parser()
    (commands,) = [
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    ]

    assert set(COVERED) == set(commands.choices)


def test_the_demo_shows_no_credential(sweep: Sweep) -> None:
    assert 0 == run(["demo"])
    sweep.assert_clean()


def test_the_fixture_is_a_message_delivery() -> None:
    assert "message.received" == json.loads(FIXTURE.read_bytes())["event_type"]
