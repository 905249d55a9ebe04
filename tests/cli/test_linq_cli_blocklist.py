"""``caresupport-transport linq block | unblock | blocked`` against the simulator."""

from __future__ import annotations

import json

import pytest

from adapters.cli.linq import wired
from adapters.cli.main import main
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from caresupport_transport import Handle
from caresupport_transport.redact import mask_handle

SPAMMER = "+16515550199"


async def _no_sleep(seconds: float) -> None:
    return None


def _run(simulator: Simulator, *argv: str) -> int:
    environ = {
        "LINQ_API_TOKEN": simulator.token,
        "LINQ_PHONE_NUMBER": simulator.phone,
        "LINQ_BASE_URL": IN_PROCESS_BASE_URL,
    }
    with wired(environ=environ, transport=simulator.transport(), sleep=_no_sleep):
        return main(["linq", *argv])


def test_block_list_and_unblock_print_masked_handles(capsys: pytest.CaptureFixture[str]) -> None:
    simulator = Simulator()
    assert 0 == _run(simulator, "block", SPAMMER, "--reason", "unknown sender")
    assert simulator.world.is_blocked(SPAMMER)
    assert 0 == _run(simulator, "blocked")
    text = capsys.readouterr().out
    assert mask_handle(SPAMMER) in text
    assert "unknown sender" in text
    assert SPAMMER not in text

    assert 0 == _run(simulator, "blocked", "--json")
    [entry] = json.loads(capsys.readouterr().out)
    assert (mask_handle(SPAMMER), "unknown sender") == (entry["handle"], entry["reason"])

    assert 0 == _run(simulator, "unblock", SPAMMER)
    assert f"{mask_handle(SPAMMER)} unblocked: done" in capsys.readouterr().out
    assert [] == simulator.world.blocked()


def test_block_refuses_a_bad_handle_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    simulator = Simulator()
    assert 2 == _run(simulator, "block", "not-a-handle")
    assert (0, {}) == (simulator.counters.total_requests, simulator.world.blocklist)
    assert Handle(SPAMMER) not in simulator.world.blocklist


@pytest.mark.parametrize("argv", [["block"], ["unblock"], ["blocked"]])
def test_the_blocklist_commands_have_help(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["linq", *argv, "--help"])
    usage = " ".join(["usage: caresupport-transport linq", *argv])
    assert (0, usage) == (exit_info.value.code, capsys.readouterr().out[: len(usage)])
