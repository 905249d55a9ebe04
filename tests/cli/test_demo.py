"""``caresupport-transport demo``: the scripted care conversation and its transcript.

Every transcript test runs twice: over the real ``LinqTransport`` into the
in-process Linq simulator (the default), and over ``InMemoryTransport``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta

import pytest

from adapters.cli._demo_worlds import LinqDemoWorld
from adapters.cli.demo import DEMO_SETUPS, ERIK, INGRID, SOFIA, Transcript, run_scenario
from adapters.cli.main import main
from adapters.memory import InMemoryTransport
from caresupport_transport import Direction, Service

MODES = ["linq", "memory"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


def run_demo(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["demo", *argv]) == 0
    return capsys.readouterr().out


def section(transcript: str, title: str) -> str:
    """The transcript lines under the heading that starts with ``title``."""
    start = transcript.index(f"== {title}")
    end = transcript.find("\n== ", start + 1)
    return transcript[start : end if end != -1 else None]


async def play(mode: str) -> list[str]:
    lines: list[str] = []
    async with DEMO_SETUPS[mode]() as (transport, world):
        await run_scenario(transport, world, lines.append)
    return lines


def test_demo_exits_zero_and_prints_the_three_scenes(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript = run_demo(capsys, "--transport", mode)
    assert [f"== {title}" in transcript for title in ("Ingrid", "Erik", "The old landline")] == [
        True,
        True,
        True,
    ]


def test_by_default_the_demo_goes_over_http_into_the_linq_simulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    transcript = run_demo(capsys)
    assert "Carried by LinqTransport over HTTP into the Linq simulator" in transcript
    assert "API requests from LinqTransport to the Linq simulator" in transcript


def test_the_imessage_caregiver_gets_everything_undegraded(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ingrid = section(run_demo(capsys, "--transport", mode), "Ingrid")
    assert "-> Ingrid via iMessage" in ingrid
    assert "typing indicator: done" in ingrid
    assert "tapback 'love': done" in ingrid
    assert "degradation" not in ingrid
    assert "fallback" not in ingrid
    assert "status read" in ingrid


def test_the_sms_only_grandson_is_reached_by_fallback_with_every_degradation_reported(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    erik = section(run_demo(capsys, "--transport", mode), "Erik")
    expected = [
        "fallback: no iMessage or RCS for Erik, so SMS",
        "degradation: typing indicator skipped: SMS has no typing indicators",
        "degradation: effect dropped: SMS has no effects",
        "degradation: long text split:",
        "degradation: voice memo converted: sent as a media attachment",
        "degradation: tapback converted: sent as text: SMS has no tapbacks",
    ]
    assert [line for line in expected if line not in erik] == []
    assert 1 == erik.count("fallback:")
    assert '-> Erik via SMS: Loved "Did gran take her pill?"' in erik
    assert "via iMessage" not in erik
    assert "status delivered" in erik
    assert "status read" not in erik


def test_every_scene_is_played_in_the_order_of_the_fallback_chain(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript = run_demo(capsys, "--transport", mode)
    titles = ["Ingrid", "Sofia", "Erik", "The family group", "The old landline"]
    starts = [transcript.index(f"== {title}") for title in titles]
    assert sorted(starts) == starts
    first_sends = [section(transcript, t).splitlines()[1] for t in titles[:3]]
    assert [
        "-> Ingrid via iMessage",
        "-> Sofia via RCS",
        "-> Erik via SMS",
    ] == [line[: line.index(" [")] for line in first_sends]


def test_the_rcs_granddaughter_gets_rcs_and_only_rcs_degradations(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sofia = section(run_demo(capsys, "--transport", mode), "Sofia")
    expected = [
        "fallback: no iMessage for Sofia, so RCS",
        "degradation: typing indicator skipped: RCS has no typing indicators",
        "degradation: effect dropped: RCS has no effects",
        "degradation: reply thread dropped: RCS has no reply threads",
    ]
    assert [line for line in expected if line not in sofia] == []
    assert ("via iMessage" in sofia, "via SMS" in sofia) == (False, False)
    assert "status read" in sofia  # RCS has read receipts; SMS has none
    assert "threaded:" not in sofia


def test_the_caregiver_is_answered_in_her_reply_thread_and_erik_without_one(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript = run_demo(capsys, "--transport", mode)
    ingrid, erik = section(transcript, "Ingrid"), section(transcript, "Erik")
    assert 'threaded: shown as a reply to "Wonderful! Did she take…"' in ingrid
    assert "degradation: reply thread dropped: SMS has no reply threads" in erik
    assert "threaded:" not in erik


def test_the_family_group_is_carried_by_the_one_service_all_share(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    family = section(run_demo(capsys, "--transport", mode), "The family group")
    assert "-> the family group via SMS" in family
    assert "fallback: not everyone in the family group has iMessage or RCS, so SMS for all" in (
        family
    )
    assert "status delivered the family group: Family update" in family


async def test_the_linq_demo_threads_the_reply_and_opens_the_group_in_the_simulator() -> None:
    async with DEMO_SETUPS["linq"]() as (transport, world):
        await run_scenario(transport, world, lambda line: None)
        assert isinstance(world, LinqDemoWorld)
        state = world.simulator.world
    [question] = [m for m in state.messages.values() if m.text.startswith("Wonderful!")]
    answers = [m for m in state.messages.values() if m.text.startswith("Yes, she took it")]
    threaded = [
        (m.service, m.reply_to.message_id if m.reply_to else None)
        for m in answers
        if m.conversation_id == question.conversation_id
    ]
    [group] = [c for c in state.conversations.values() if c.is_group]
    [news] = [m for m in state.history(group.id) if m.direction is Direction.OUTBOUND]
    assert [(Service.IMESSAGE, question.id)] == threaded
    assert ({INGRID, SOFIA, ERIK}, Service.SMS) == (set(group.participants), news.service)


def test_the_disconnected_number_shows_a_failed_delivery(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    landline = section(run_demo(capsys, "--transport", mode), "The old landline")
    assert "status failed" in landline
    assert "unreachable" in landline


def test_the_undelivered_medication_reminder_escalates_to_the_coordinator_once(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reminder = section(run_demo(capsys, "--transport", mode), "A medication reminder")
    recorded = reminder.index("outbox: recorded reminder-astrid-2100 before sending")
    escalated = reminder.index("watchdog: reminder-astrid-2100 not delivered within 15 minutes")
    assert recorded < reminder.index("(15 minutes later)") < escalated
    assert 1 == reminder.count("watchdog:")
    assert "-> Ingrid via iMessage" in reminder[escalated:]


def test_the_inbound_replies_are_handled_and_answered(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript = run_demo(capsys, "--transport", mode)
    assert transcript.count("care handler: answering and acknowledging") == 2
    assert "<- Ingrid via iMessage: Wonderful! Did she take the 2pm pill?" in transcript
    assert "<- Erik via SMS: Did gran take her pill?" in transcript


def test_a_three_text_burst_is_one_turn_answered_once(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    burst = section(run_demo(capsys, "--transport", mode), "Ingrid texts in a burst")
    lines = burst.splitlines()
    texts = [line for line in lines if line.startswith("<- Ingrid")]
    answers = [line for line in lines if line.startswith("-> Ingrid")]

    assert [
        "<- Ingrid via iMessage: Hi",
        "<- Ingrid via iMessage: Mum's pills",
        "<- Ingrid via iMessage: The blue ones, did she take them?",
    ] == texts
    assert 1 == len(answers)
    assert 1 == burst.count("care handler: 3 texts in one turn, answering once")
    assert "status delivered Ingrid: Yes, the blue ones" in burst


def test_both_transports_tell_the_same_conversation(capsys: pytest.CaptureFixture[str]) -> None:
    """Only the carrier lines at the top and the traffic lines at the end differ."""

    def body(transcript: str) -> str:
        return transcript[transcript.index("  Ingrid") : transcript.index("Done:")]

    assert body(run_demo(capsys, "--transport", "memory")) == body(
        run_demo(capsys, "--transport", "linq")
    )


async def test_the_linq_demo_counts_the_http_requests_the_simulator_saw() -> None:
    lines: list[str] = []
    async with DEMO_SETUPS["linq"]() as (transport, world):
        await run_scenario(transport, world, lines.append)
    assert isinstance(world, LinqDemoWorld)
    counters = world.simulator.counters
    api = counters.total_requests
    deliveries = sum(counters.deliveries_by_event_id.values())
    assert (api > 0, deliveries > 0) == (True, True)
    assert f"HTTP requests: {api + deliveries} in all" in lines
    assert f"  {api:>3} API requests from LinqTransport to the Linq simulator:" in lines
    assert any(re.fullmatch(rf"\s+{deliveries} signed webhook deliveries .*", x) for x in lines)
    # One chat each for Ingrid, Sofia, Erik, the landline, and the family group.
    assert counters.requests["POST /v3/chats"] == 5


async def test_the_linq_demo_statuses_arrive_as_signed_webhooks_the_receiver_accepted() -> None:
    async with DEMO_SETUPS["linq"]() as (transport, world):
        await run_scenario(transport, world, lambda line: None)
        assert isinstance(world, LinqDemoWorld)
        outcomes = world.simulator.deliveries
    delivered_types = {o.delivery.event_type for o in outcomes if o.delivered}
    assert [o for o in outcomes if not o.delivered] == []
    assert {"message.sent", "message.delivered", "message.read", "message.failed"} <= (
        delivered_types
    )
    assert "message.received" in delivered_types


def test_the_memory_demo_says_it_made_no_http_requests(capsys: pytest.CaptureFixture[str]) -> None:
    transcript = run_demo(capsys, "--transport", "memory")
    assert "Carried by InMemoryTransport" in transcript
    assert "HTTP requests: none" in transcript


async def test_the_scenario_is_deterministic(mode: str) -> None:
    first = await play(mode)
    assert first == await play(mode)


def test_demo_help_explains_both_transports(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "--transport {linq,memory}" in out
    assert "--transport linq (the default)" in out
    assert "--transport memory" in out
    assert "(default: linq)" in " ".join(out.split())


_BASE_INSTALL_ONLY = """
import sys

class OnlyTheBaseInstall:
    blocked = {"uvicorn", "jsonschema", "referencing", "yaml", "standardwebhooks", "hypothesis"}

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            raise ImportError(f"{name} is not part of the base install")
        return None

sys.meta_path.insert(0, OnlyTheBaseInstall())
from adapters.cli.main import main
sys.exit(main(["demo"]))
"""


def test_the_linq_demo_needs_only_the_base_install() -> None:
    """No uvicorn, no dev tools: attrs, cattrs and httpx carry the whole demo."""
    done = subprocess.run(
        [sys.executable, "-c", _BASE_INSTALL_ONLY],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (0, "") == (done.returncode, done.stderr)
    assert "API requests from LinqTransport" in done.stdout


def test_the_poll_is_native_for_ingrid_and_numbered_for_erik_whose_2_is_a_vote(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    poll = section(run_demo(capsys, "--transport", mode), "Who drives Astrid on Tuesday?")
    expected = [
        '-> Ingrid via iMessage [pending]: "Who can drive Astrid to the clinic on Tuesday?", '
        "then a native poll: Tue 9am / Tue 2pm / Can't this week",
        '-> Erik via SMS [pending]: "Who can drive Astrid to the clinic on Tuesday?" as numbered '
        "text: 1. Tue 9am / 2. Tue 2pm / 3. Can't this week",
        "   degradation: poll converted: asked as numbered text: SMS has no polls",
        '<- Ingrid voted "Tue 9am"',
        '<- Erik voted "Tue 2pm" by replying "2"',
        "   results of Ingrid's poll: Tue 9am 1, Tue 2pm 0, Can't this week 0",
        "   results of Erik's poll: Tue 9am 0, Tue 2pm 1, Can't this week 0",
    ]
    assert [line for line in expected if line not in poll.splitlines()] == []
    assert 1 == poll.count("degradation:")
    assert "status read      Ingrid: poll (Tue 9am / Tue 2pm / Can't this week)" in poll
    assert "care handler" not in poll


async def test_the_demo_care_handler_does_not_answer_a_message_recovered_late() -> None:
    """A reconciled message is history: no automatic tapback or answer goes out."""
    lines: list[str] = []
    transport = InMemoryTransport(seed=5)
    transcript = Transcript(transport, lines.append)
    transport.on_inbound(transcript.handle)
    transport.world.advance(3600)
    live = await transport.inject_message(INGRID, "Did she take her pill?")
    sent_after_live = len(transport.sent)
    await transport.inject_reconciled(
        INGRID, "Is she awake?", sent_at=transport.world.now - timedelta(minutes=40)
    )

    assert sent_after_live > 0, "a live question is answered"
    assert sent_after_live == len(transport.sent), "the late one is not"
    assert any("arrived late (reconciled)" in line for line in lines)
    assert live.reconciled_at is None
