"""``caresupport-transport demo``: the scripted care conversation and its transcript."""

from __future__ import annotations

import pytest

from adapters.cli.demo import DEMO_SETUPS, run_scenario
from adapters.cli.main import main


def run_demo(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["demo"]) == 0
    return capsys.readouterr().out


def section(transcript: str, title: str) -> str:
    """The transcript lines under the heading that starts with ``title``."""
    start = transcript.index(f"== {title}")
    end = transcript.find("\n== ", start + 1)
    return transcript[start : end if end != -1 else None]


def test_demo_exits_zero_and_prints_the_three_scenes(capsys: pytest.CaptureFixture[str]) -> None:
    transcript = run_demo(capsys)
    assert [f"== {title}" in transcript for title in ("Ingrid", "Erik", "The old landline")] == [
        True,
        True,
        True,
    ]


def test_the_imessage_caregiver_gets_everything_undegraded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ingrid = section(run_demo(capsys), "Ingrid")
    assert "-> Ingrid via iMessage" in ingrid
    assert "typing indicator: done" in ingrid
    assert "tapback 'love': done" in ingrid
    assert "degradation" not in ingrid
    assert "status read" in ingrid


def test_the_sms_only_grandson_gets_every_degradation_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    erik = section(run_demo(capsys), "Erik")
    expected = [
        "degradation: typing indicator skipped: SMS has no typing indicators",
        "degradation: effect dropped: SMS has no effects",
        "degradation: long text split:",
        "degradation: voice memo converted: sent as a media attachment",
        "degradation: tapback converted: sent as text: SMS has no tapbacks",
    ]
    assert [line for line in expected if line not in erik] == []
    assert '-> Erik via SMS: Loved "Did gran take her pill?"' in erik
    assert "via iMessage" not in erik
    assert "status read" not in erik


def test_the_disconnected_number_shows_a_failed_delivery(
    capsys: pytest.CaptureFixture[str],
) -> None:
    landline = section(run_demo(capsys), "The old landline")
    assert "status failed" in landline
    assert "unreachable" in landline


def test_the_inbound_replies_are_handled_and_answered(capsys: pytest.CaptureFixture[str]) -> None:
    transcript = run_demo(capsys)
    assert transcript.count("care handler: answering and acknowledging") == 2
    assert "<- Ingrid via iMessage: Wonderful! Did she take the 2pm pill?" in transcript
    assert "<- Erik via SMS: Did gran take her pill?" in transcript


async def test_the_scenario_is_deterministic() -> None:
    async def play() -> list[str]:
        lines: list[str] = []
        async with DEMO_SETUPS["memory"]() as (transport, world):
            await run_scenario(transport, world, lines.append)
        return lines

    first = await play()
    assert first == await play()


def test_demo_help_names_the_transport_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    assert "--transport {memory}" in capsys.readouterr().out
