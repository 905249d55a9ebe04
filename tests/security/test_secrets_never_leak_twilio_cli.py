"""``caresupport-transport twilio ...`` never shows the auth token or the API key's secret."""

from __future__ import annotations

from pathlib import Path

from adapters.cli import twilio as twilio_cli
from adapters.cli.main import main
from adapters.memory import RecipientKind, World
from adapters.twilio.simulator import IN_PROCESS_BASE_URL, TwilioSimulator
from caresupport_transport import Handle

from .sweep import TOKEN, Sweep

GRANDSON = Handle("+16515550103")


def test_twilio_sends_refusals_and_a_refused_serve_show_no_token(
    sweep: Sweep, tmp_path: Path
) -> None:
    world = World(seed=9)
    world.add_recipient(GRANDSON, RecipientKind.SMS_ONLY)
    simulator = TwilioSimulator(world, auth_token=TOKEN)
    environ = {
        "TWILIO_ACCOUNT_SID": simulator.account_sid,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM": simulator.phone.value,
        "TWILIO_BASE_URL": IN_PROCESS_BASE_URL,
    }
    keys = ["--keys", str(tmp_path / "keys.sqlite3")]
    with twilio_cli.wired(environ=environ, transport=simulator.transport()):
        assert 0 == main(["twilio", "send", "--to", GRANDSON.value, "--text", "Hi", *keys])
        assert 0 == main(["twilio", "messages", "--with", GRANDSON.value, "--json", *keys])
    with twilio_cli.wired(
        environ={**environ, "TWILIO_AUTH_TOKEN": "wrong"}, transport=simulator.transport()
    ):
        assert 1 == main(["twilio", "send", "--to", GRANDSON.value, "--text", "Hi", *keys])
    with twilio_cli.wired(environ={**environ, "TWILIO_ACCOUNT_SID": "AC" + TOKEN}):
        assert 2 == main(["twilio", "serve", *keys])
        assert 2 == main(["twilio", "send", "--to", GRANDSON.value, "--text", "Hi", *keys])
    with twilio_cli.wired(
        environ={**environ, "TWILIO_API_KEY": "SK" + "1" * 32, "TWILIO_API_SECRET": TOKEN},
        transport=simulator.transport(),
    ):
        assert 1 == main(["twilio", "send", "--to", GRANDSON.value, "--text", "Hi", *keys])

    sweep.assert_clean()
