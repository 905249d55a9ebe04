"""``caresupport-transport inbox ...``: each sub-command on a SQLite store, its errors and JSON.

The inbox is seeded through the public API (``Inbox.dispatch``, and an
``InboxWorker`` whose handler fails to make dead letters), then the command runs
as ``main([...])`` against the same file.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.cli._store import STORE_URL_ENV_VAR
from adapters.cli.main import main
from caresupport_transport import (
    DeliveryStatus,
    Direction,
    Handle,
    InboundEvent,
    Message,
    MessageReceived,
    Service,
    TextPart,
)
from caresupport_transport.inbound import (
    DispatchOutcome,
    Inbox,
    InboxEntry,
    InboxState,
    InboxWorker,
    RetrySchedule,
    by_conversation,
    open_event_store,
)

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+16515550101"
MASKED = "+1651•••0101"
TEXT = "Mum's sugar was 3.1 this morning"
"""Message content: shown only with --show-content, never in an error."""


def received(event_id: str, *, text: str = TEXT) -> MessageReceived:
    now = datetime.now(UTC)
    message = Message(
        id=f"msg-{event_id}",
        conversation_id=f"chat-{event_id}",
        direction=Direction.INBOUND,
        sender=Handle(PHONE),
        parts=(TextPart(text),),
        service=Service.IMESSAGE,
        status=DeliveryStatus.DELIVERED,
        created_at=now,
    )
    return MessageReceived(
        event_id=event_id, occurred_at=now, conversation_id=f"chat-{event_id}", message=message
    )


async def refuse(event: InboundEvent) -> None:
    """A failing care logic whose error message quotes the message (it must never show)."""
    assert isinstance(event, MessageReceived)
    raise RuntimeError(event.message.text)


async def _seed(
    url: str,
    pending: Sequence[str],
    dead: Sequence[str],
    ago: timedelta,
    order_key: Callable[[InboundEvent], str],
) -> None:
    store = await open_event_store(url)
    try:
        inbox = Inbox(store, clock=lambda: datetime.now(UTC) - ago, order_key=order_key)
        for event_id in dead:
            await inbox.dispatch(received(event_id))
        await InboxWorker(inbox, refuse, schedule=RetrySchedule(max_attempts=1)).drain()
        for event_id in pending:
            await inbox.dispatch(received(event_id))
    finally:
        await store.close()


def seed(
    url: str,
    *,
    pending: Sequence[str] = (),
    dead: Sequence[str] = (),
    ago: timedelta = timedelta(0),
    order_key: Callable[[InboundEvent], str] = by_conversation,
) -> None:
    """Dead letters first (each tried once, refused), then pending entries, accepted ``ago``."""
    asyncio.run(_seed(url, pending, dead, ago, order_key))


async def _entries(url: str) -> dict[str, InboxEntry]:
    store = await open_event_store(url)
    try:
        return {entry.id: entry for entry in await Inbox(store).entries()}
    finally:
        await store.close()


def entries(url: str) -> dict[str, InboxEntry]:
    return asyncio.run(_entries(url))


async def _dispatch(url: str, event: InboundEvent) -> DispatchOutcome:
    store = await open_event_store(url)
    try:
        return await Inbox(store).dispatch(event)
    finally:
        await store.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["inbox", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A SQLite store in a fresh file (absolute path: ``sqlite:////tmp/...``)."""
    return f"sqlite:///{tmp_path / 'events.sqlite'}"


# -- list ------------------------------------------------------------------------------


def test_list_prints_one_line_per_entry_with_no_message_content(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, dead=["evt-dead"], pending=["evt-new"])

    code, out, _ = run(capsys, "list", "--store", store)

    dead, pending = out.splitlines()
    assert 0 == code
    assert dead.startswith("evt-dead  dead     conversation:chat-evt-dead  attempts 1  received ")
    assert dead.endswith("  RuntimeError")
    assert pending.startswith("evt-new  pending  conversation:chat-evt-new  attempts 0  received ")
    assert " due " in pending
    assert "RuntimeError" not in pending
    assert TEXT not in out
    assert PHONE not in out


def test_list_shows_only_the_state_asked_for_and_at_most_the_limit(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, dead=["evt-d1", "evt-d2"], pending=["evt-p1"])

    _, dead_only, _ = run(capsys, "list", "--store", store, "--state", "dead")
    _, limited, _ = run(capsys, "list", "--store", store, "--limit", "1")

    assert ["evt-d1", "evt-d2"] == [line.split()[0] for line in dead_only.splitlines()]
    first, note = limited.splitlines()
    assert first.startswith("evt-d1  ")
    assert "(more entries than --limit 1: raise it to see them)" == note


def test_list_json_is_one_object_per_entry(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(store, dead=["evt-dead"], pending=["evt-new"])

    code, out, _ = run(capsys, "list", "--store", store, "--json")

    listed = json.loads(out)
    assert 0 == code
    assert [
        ("evt-dead", "dead", "conversation:chat-evt-dead", 1, "RuntimeError"),
        ("evt-new", "pending", "conversation:chat-evt-new", 0, None),
    ] == [(e["id"], e["state"], e["order_key"], e["attempts"], e["error"]) for e in listed]
    assert {"id", "state", "order_key", "attempts", "received_at", "due_at", "error"} == set(
        listed[0]
    )
    assert datetime.fromisoformat(listed[1]["due_at"]) <= datetime.now(UTC)


def test_list_of_an_empty_inbox_says_so(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(store)

    assert (0, "(no entries)\n", "") == run(capsys, "list", "--store", store)
    assert (0, "(no dead entries)\n", "") == run(
        capsys, "list", "--store", store, "--state", "dead"
    )
    assert (0, "[]\n", "") == run(capsys, "list", "--store", store, "--json")


def test_an_order_key_holding_a_phone_number_is_shown_masked(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, dead=["evt-1"], order_key=lambda event: f"family-of:{PHONE}")

    _, listed, _ = run(capsys, "list", "--store", store)
    _, listed_json, _ = run(capsys, "list", "--store", store, "--json")
    _, shown, _ = run(capsys, "show", "evt-1", "--store", store, "--json")

    assert f"family-of:{MASKED}" in listed
    assert f"family-of:{MASKED}" == json.loads(listed_json)[0]["order_key"]
    assert f"family-of:{MASKED}" == json.loads(shown)["order_key"]
    assert PHONE not in listed + listed_json + shown


# -- show ------------------------------------------------------------------------------


def test_show_describes_the_event_with_the_phone_masked_and_no_text(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, pending=["evt-1"])

    code, out, _ = run(capsys, "show", "evt-1", "--store", store)

    assert 0 == code
    assert "entry evt-1 (pending)" == out.splitlines()[0]
    assert "keys: event:evt-1, message:msg-evt-1" in out.splitlines()
    assert "attempts: 0" in out.splitlines()
    assert "last error: -" in out.splitlines()
    assert "event: MessageReceived: " in out
    assert f"message msg-evt-1 from {MASKED} in chat-evt-1" in out
    assert "(text hidden; --show-content shows it)" in out
    assert TEXT not in out
    assert PHONE not in out


def test_show_content_adds_the_text_and_the_phone_stays_masked(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, pending=["evt-1"])

    _, out, _ = run(capsys, "show", "evt-1", "--store", store, "--show-content")

    assert json.dumps(TEXT) in out
    assert MASKED in out
    assert PHONE not in out


def test_show_prints_the_whole_last_error_its_class_and_frames_never_its_message(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, dead=["evt-dead"])

    _, out, _ = run(capsys, "show", "evt-dead", "--store", store)

    error = out.split("last error:\n", 1)[1]
    assert error.startswith("  RuntimeError, raised at:\n")
    assert "in refuse" in error
    assert "raise RuntimeError(event.message.text)" in error
    assert TEXT not in out


def test_show_json_has_the_entry_the_described_event_and_the_last_error(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, dead=["evt-dead"])

    code, out, _ = run(capsys, "show", "evt-dead", "--store", store, "--json")

    shown = json.loads(out)
    varying = {key: shown.pop(key) for key in ("received_at", "due_at", "event", "last_error")}
    assert 0 == code
    assert {
        "id": "evt-dead",
        "state": "dead",
        "order_key": "conversation:chat-evt-dead",
        "attempts": 1,
        "error": "RuntimeError",
        "keys": ["event:evt-dead", "message:msg-evt-dead"],
        "event_type": "MessageReceived",
    } == shown
    assert MASKED in varying["event"]
    assert varying["last_error"].startswith("RuntimeError, raised at:\n")
    assert TEXT not in out


@pytest.mark.parametrize("as_json", [False, True])
def test_show_of_an_unknown_id_exits_1_saying_so(
    store: str, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    seed(store, pending=["evt-1"])

    code, out, err = run(capsys, "show", "evt-404", "--store", store, *(["--json"] * as_json))

    assert (1, "") == (code, out)
    if as_json:
        error = json.loads(err)["error"]
        assert ("not_found", "no entry 'evt-404' in the inbox") == (error["kind"], error["message"])
    else:
        assert "error: no entry 'evt-404' in the inbox\n" == err


# -- replay ----------------------------------------------------------------------------


def test_replay_makes_a_dead_letter_due_now_with_its_attempts_counted_from_zero(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, dead=["evt-dead"], ago=timedelta(hours=2))

    code, out, _ = run(capsys, "replay", "evt-dead", "--store", store)

    entry = entries(store)["evt-dead"]
    assert 0 == code
    assert "replayed evt-dead (was dead, 1 attempt): due now\n" == out
    assert (InboxState.PENDING, 0) == (entry.state, entry.attempts)
    assert datetime.now(UTC) - timedelta(minutes=1) < entry.due_at <= datetime.now(UTC)


def test_replay_all_dead_replays_every_dead_letter_and_leaves_pending_ones(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, dead=["evt-d1", "evt-d2", "evt-d3"], pending=["evt-p1"])

    code, out, _ = run(capsys, "replay", "--all-dead", "--store", store, "--json")

    assert 0 == code
    assert {
        "replayed": [
            {"id": "evt-d1", "was": "dead", "attempts": 1},
            {"id": "evt-d2", "was": "dead", "attempts": 1},
            {"id": "evt-d3", "was": "dead", "attempts": 1},
        ]
    } == json.loads(out)
    assert {InboxState.PENDING} == {entry.state for entry in entries(store).values()}


def test_replay_all_dead_with_none_says_so(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(store, pending=["evt-p1"])

    assert (0, "(no dead entries to replay)\n", "") == run(
        capsys, "replay", "--all-dead", "--store", store
    )


@pytest.mark.parametrize("argv", [[], ["evt-1", "--all-dead"]])
def test_replay_needs_an_id_or_all_dead_but_not_both(
    store: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _, err = run(capsys, "replay", *argv, "--store", store)

    assert 2 == code
    assert "give an entry's ID or --all-dead" in err


def test_replay_of_an_unknown_id_exits_1(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(store)

    assert (1, "", "error: no entry 'evt-404' in the inbox\n") == run(
        capsys, "replay", "evt-404", "--store", store
    )


# -- discard ---------------------------------------------------------------------------


def test_discard_without_yes_refuses_and_keeps_the_entry(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, dead=["evt-dead"])

    code, out, err = run(capsys, "discard", "evt-dead", "--store", store)

    assert (2, "") == (code, out)
    assert "loses its event for good" in err
    assert "pass --yes" in err
    assert ["evt-dead"] == list(entries(store))


def test_discard_without_yes_is_refused_before_the_store_is_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "absent.sqlite"

    code, _, err = run(capsys, "discard", "evt-1", "--store", f"sqlite:///{path}", "--json")

    assert 2 == code
    assert "usage" == json.loads(err)["error"]["kind"]
    assert not path.exists()


def test_discard_with_yes_drops_the_entry_and_a_redelivery_stays_a_duplicate(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, dead=["evt-dead"])

    code, out, _ = run(capsys, "discard", "evt-dead", "--yes", "--store", store)

    assert 0 == code
    assert out.startswith("discarded evt-dead (was dead, 1 attempt): it will not be handled")
    assert {} == entries(store)
    assert DispatchOutcome.DUPLICATE == asyncio.run(_dispatch(store, received("evt-dead")))


def test_discard_json_and_an_unknown_id(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(store, pending=["evt-1"])

    code, out, _ = run(capsys, "discard", "evt-1", "--yes", "--store", store, "--json")
    again, _, err = run(capsys, "discard", "evt-1", "--yes", "--store", store)

    assert (0, {"discarded": [{"id": "evt-1", "was": "pending", "attempts": 0}]}) == (
        code,
        json.loads(out),
    )
    assert (1, "error: no entry 'evt-1' in the inbox\n") == (again, err)


# -- stats -----------------------------------------------------------------------------


def test_stats_counts_each_state_and_the_oldest_pending_age(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, dead=["evt-dead"], pending=["evt-1", "evt-2"], ago=timedelta(hours=2))

    code, out, _ = run(capsys, "stats", "--store", store)

    lines = out.splitlines()
    assert 0 == code
    assert ["pending: 2", "due now: 2", "leased: 0", "dead: 1"] == lines[:4]
    assert lines[4].startswith("oldest pending: 2 h 0 min old (received ")


def test_stats_json(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(store, pending=["evt-1"], ago=timedelta(minutes=5))
    _, out, _ = run(capsys, "stats", "--store", store, "--json")

    stats = json.loads(out)

    assert {"pending": 1, "due": 1, "leased": 0, "dead": 0} == {
        key: stats[key] for key in ("pending", "due", "leased", "dead")
    }
    assert 300 <= stats["oldest_pending_age_seconds"] < 360
    assert datetime.fromisoformat(stats["oldest_pending"]) < datetime.now(UTC)


def test_stats_of_an_empty_inbox(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(store)

    _, text, _ = run(capsys, "stats", "--store", store)
    _, data, _ = run(capsys, "stats", "--store", store, "--json")

    assert "oldest pending: -" == text.splitlines()[-1]
    assert (None, None) == (
        json.loads(data)["oldest_pending"],
        json.loads(data)["oldest_pending_age_seconds"],
    )


# -- the store -------------------------------------------------------------------------


def test_the_store_comes_from_the_environment_without_store(
    store: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(store, pending=["evt-1"])
    monkeypatch.setenv(STORE_URL_ENV_VAR, store)

    code, out, _ = run(capsys, "list")

    assert 0 == code
    assert out.startswith("evt-1  pending")


def test_without_store_or_environment_it_is_events_sqlite_in_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STORE_URL_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    seed(f"sqlite:///{tmp_path / 'events.sqlite'}", pending=["evt-1"])

    code, out, _ = run(capsys, "list")

    assert 0 == code
    assert out.startswith("evt-1  pending")


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("mysql://care:s3cret@db.internal/care", "unknown scheme 'mysql'"),
        ("memory://care:s3cret@db.internal", "memory://care:***@db.internal"),
        ("sqlite://care:s3cret@db.internal/events.db", "sqlite://care:***@db.internal/events.db"),
        ("care:s3cret@db.internal", "expected scheme://"),
    ],
)
@pytest.mark.parametrize("command", [["list"], ["stats"], ["work", "--handler", "json:dumps"]])
def test_a_malformed_store_url_exits_2_with_the_rule_and_never_the_password(
    capsys: pytest.CaptureFixture[str], url: str, rule: str, command: list[str]
) -> None:
    code, out, err = run(capsys, *command, "--store", url)

    assert (2, "") == (code, out)
    assert err.startswith("error: store url: ")
    assert rule in err
    assert "s3cret" not in err


def test_a_malformed_store_url_from_the_environment_is_refused_in_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORE_URL_ENV_VAR, "mongodb://care:s3cret@db.internal/care")

    code, _, err = run(capsys, "stats", "--json")

    error = json.loads(err)["error"]
    assert (2, "configuration") == (code, error["kind"])
    assert "unknown scheme 'mongodb'" in error["message"]
    assert "s3cret" not in err


def test_a_missing_sqlite_file_is_refused_and_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "elsewhere.sqlite"

    code, _, err = run(capsys, "list", "--store", f"sqlite:///{path}")

    assert 2 == code
    assert f"error: no event store at {path}" in err
    assert not path.exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("as_json", [False, True])
def test_an_unreachable_store_exits_1_without_the_password(
    capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"

    code, out, err = run(capsys, "stats", "--store", url, *(["--json"] * as_json))

    assert (1, "") == (code, out)
    assert "redis://:***@127.0.0.1:" in err
    assert "s3cret" not in err
    if as_json:
        assert "unreachable" == json.loads(err)["error"]["kind"]


def test_a_usage_error_with_json_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["inbox", "list", "--limit", "0", "--json"])

    error = json.loads(capsys.readouterr().err)["error"]
    assert 2 == exited.value.code
    assert "usage" == error["kind"]
    assert "--limit" in error["message"]


def test_inbox_without_a_sub_command_prints_help_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 2 == main(["inbox"])
    out = capsys.readouterr().out
    for command in ("list", "show", "replay", "discard", "stats", "work"):
        assert command in out


# -- work ------------------------------------------------------------------------------


@pytest.fixture
def handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A handler module on ``sys.path`` (a fresh name, so no test sees another's)."""
    name = f"care_handlers_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import asyncio
            import os
            import signal

            NOT_CALLABLE = 42
            handled = []


            def sync_handle(event):
                pass


            async def handle_two_then_stop(event):
                handled.append(event.event_id)
                if len(handled) == 2:
                    os.kill(os.getpid(), signal.SIGTERM)
                    await asyncio.sleep(0.3)  # still at work when the stop comes
                if event.event_id == "evt-fails":
                    raise RuntimeError("care logic is down")


            async def handle_turn_then_stop(turn):
                handled.append([event.event_id for event in turn.events])
                if sum(len(ids) for ids in handled) == 3:
                    os.kill(os.getpid(), signal.SIGTERM)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


@pytest.mark.parametrize(
    ("attribute", "rule"),
    [
        (None, "expected MODULE:FUNCTION"),
        ("absent", "has no 'absent'"),
        ("NOT_CALLABLE", "is a int, not a function"),
        ("sync_handle", "must be an async function"),
    ],
)
def test_work_refuses_a_handler_it_cannot_use_naming_the_path(
    store: str, handlers: str, capsys: pytest.CaptureFixture[str], attribute: str | None, rule: str
) -> None:
    path = handlers if attribute is None else f"{handlers}:{attribute}"

    code, _, err = run(capsys, "work", "--handler", path, "--store", store)

    assert 2 == code
    assert f"--handler {path!r}: " in err
    assert rule in err


def test_work_refuses_a_handler_module_it_cannot_import(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "work", "--handler", "no_such_care_module:handle", "--store", store)

    assert 2 == code
    assert "--handler 'no_such_care_module:handle': cannot import 'no_such_care_module'" in err
    assert "PYTHONPATH" in err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--lease", "0"), ("--poll-interval", "-1"), ("--first-delay", "nan"), ("--concurrency", "0")],
)
def test_work_refuses_settings_out_of_range(
    handlers: str, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["inbox", "work", "--handler", f"{handlers}:handle_two_then_stop", option, value])

    assert 2 == exited.value.code
    assert f"argument {option}: must be" in capsys.readouterr().err


def test_work_handles_what_is_queued_until_sigterm_and_prints_its_summary(
    store: str, handlers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The handler sends SIGTERM to this process once it saw both events, and finishes."""
    seed(store, pending=["evt-ok", "evt-fails"])

    code, out, err = run(
        capsys,
        "work",
        "--handler",
        f"{handlers}:handle_two_then_stop",
        "--store",
        store,
        "--max-attempts",
        "1",
        "--poll-interval",
        "0.05",
        "--json",
    )

    assert 0 == code
    assert {"handled": 1, "retried": 0, "buried": 1, "fenced": 0} == json.loads(out)
    assert "SIGTERM or Ctrl+C stops" in err
    assert {"evt-fails": InboxState.DEAD} == {
        entry_id: entry.state for entry_id, entry in entries(store).items()
    }


def test_work_with_turns_hands_the_handler_a_keys_waiting_texts_as_one_turn(
    store: str, handlers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(store, pending=["evt-hi", "evt-pills", "evt-other"], ago=timedelta(seconds=10))

    code, out, _ = run(
        capsys,
        "work",
        "--handler",
        f"{handlers}:handle_turn_then_stop",
        "--store",
        store,
        "--turns",
        "--quiet",
        "0.2",
        "--max-wait",
        "1",
        "--poll-interval",
        "0.05",
        "--json",
    )

    assert 0 == code
    assert {"handled": 3, "retried": 0, "buried": 0, "fenced": 0} == json.loads(out)
    assert {} == entries(store)
    handled = sys.modules[handlers].handled
    assert ["evt-hi", "evt-pills", "evt-other"] == [i for turn in handled for i in turn]


def test_work_refuses_a_max_wait_shorter_than_the_quiet_window_before_any_io(
    store: str, handlers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        "work",
        "--handler",
        f"{handlers}:handle_turn_then_stop",
        "--store",
        store,
        "--turns",
        "--quiet",
        "5",
        "--max-wait",
        "1",
    )

    assert 2 == code
    assert "max_wait: must be at least quiet" in err


def test_work_as_a_process_handles_events_queued_before_and_while_it_runs_then_stops_on_sigterm(
    tmp_path: Path, store: str
) -> None:
    handled = tmp_path / "handled.txt"
    (tmp_path / "care_worker.py").write_text(
        textwrap.dedent(
            f"""
            async def handle(event):
                with open({str(handled)!r}, "a", encoding="utf-8") as file:
                    file.write(event.event_id + "\\n")
            """
        )
    )
    seed(store, pending=["evt-before"])
    paths = [str(tmp_path), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env: dict[str, Any] = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    env.pop(STORE_URL_ENV_VAR, None)
    argv = ["inbox", "work", "--handler", "care_worker:handle", "--store", store]
    worker = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", *argv, "--poll-interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        wait_for_lines(handled, 1)
        assert DispatchOutcome.QUEUED == asyncio.run(_dispatch(store, received("evt-while")))
        wait_for_lines(handled, 2)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        worker.kill()
        worker.wait(timeout=30)

    assert (0, "") == (worker.returncode, err)
    banner, summary = out.splitlines()
    assert banner.startswith(f"Working the inbox in {store} with care_worker:handle")
    assert "stopped: handled 2, retried 0, buried 0, fenced 0" == summary
    assert ["evt-before", "evt-while"] == handled.read_text().split()
    assert {} == entries(store)


def wait_for_lines(path: Path, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().split()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {count} lines in {timeout} s")


@pytest.mark.parametrize("command", [["list"], ["stats"], ["discard", "x", "--yes"]])
def test_a_store_that_holds_an_outbox_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    from caresupport_transport import Handle, OutgoingMessage
    from caresupport_transport.outbound import Outbox

    url = f"sqlite:///{tmp_path / 'outbox.sqlite'}"

    async def seed() -> None:
        store = await open_event_store(url)
        try:
            await Outbox(store).start_conversation(
                [Handle("+16515550101")], OutgoingMessage.of_text("Pills at 9")
            )
        finally:
            await store.close()

    asyncio.run(seed())
    code, out, err = run(capsys, *command, "--store", url)

    assert (2, "") == (code, out)
    assert "holds an outbox, not an inbox" in err
