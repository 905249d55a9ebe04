"""``caresupport-transport outbox ...``: each sub-command on a SQLite store, its errors and JSON.

The outbox is seeded through the public API: ``Outbox.start_conversation`` to
Mum, sent by an ``OutboxWorker`` over the in-memory adapter; a send into a
conversation that does not exist, refused for good (its undelivered rule fires
at once); and a send recorded after the worker stopped, still queued. Then the
command runs as ``main([...])`` against the same file.
"""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.cli._store import OUTBOX_STORE_URL_ENV_VAR, STORE_URL_ENV_VAR
from adapters.cli.main import build_parser, main
from adapters.memory import InMemoryTransport
from caresupport_transport import Handle, MediaPart, OutgoingMessage, TextPart
from caresupport_transport.inbound import Inbox, open_event_store
from caresupport_transport.outbound import DeliveryState, IntentStatus, Outbox, OutboxWorker, Watch
from tests.unit.inbound.builders import received

MUM = "+16515550101"
MUM_MASKED = "+1651•••0101"
DAD = "+16515550199"
DAD_MASKED = "+1651•••0199"
TEXT = f"Pills at 9: the blue ones. Dizzy? Call Dad on {DAD}"
"""Message content: shown only with --show-content, and even then Dad's number masked."""
FILE_URL = "https://files.example/mum-rash.png?signature=s3cret-sig"
FILENAME = "mum-rash.png"
SENT, REFUSED, QUEUED = "pills-0900", "refused-0910", "photo-0920"


def pills() -> OutgoingMessage:
    return OutgoingMessage.of_text(TEXT)


def photo() -> OutgoingMessage:
    return OutgoingMessage(
        (
            TextPart(TEXT),
            MediaPart(url=FILE_URL, content_type="image/png", size_bytes=2048, filename=FILENAME),
        )
    )


async def _seed(url: str) -> InMemoryTransport:
    store = await open_event_store(url)
    transport = InMemoryTransport(seed=7)
    transport.world.add_recipient(Handle(MUM))
    try:
        outbox = Outbox(store, watch=Watch(undelivered_after=timedelta(hours=1)))
        await outbox.start_conversation(
            [Handle(MUM)], pills(), idempotency_key=SENT, kind="medication-reminder"
        )
        await outbox.send_message("no-such-conversation", pills(), idempotency_key=REFUSED)
        await OutboxWorker(outbox, transport).drain()
        await outbox.send_message("chat-later", photo(), idempotency_key=QUEUED)
    finally:
        await store.close()
    return transport


def seed(url: str) -> InMemoryTransport:
    """One intent sent, one refused for good, one still queued; returns the transport used."""
    return asyncio.run(_seed(url))


async def _empty(url: str) -> None:
    store = await open_event_store(url)
    await store.close()


async def _statuses(url: str) -> dict[str, IntentStatus]:
    store = await open_event_store(url)
    try:
        return {status.intent.id: status for status in await Outbox(store).intents()}
    finally:
        await store.close()


def statuses(url: str) -> dict[str, IntentStatus]:
    return asyncio.run(_statuses(url))


async def _drain(url: str) -> InMemoryTransport:
    store = await open_event_store(url)
    transport = InMemoryTransport(seed=7)
    try:
        await OutboxWorker(Outbox(store), transport).drain()
    finally:
        await store.close()
    return transport


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["outbox", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A SQLite store in a fresh file (absolute path: ``sqlite:////tmp/...``)."""
    return f"sqlite:///{tmp_path / 'outbox.sqlite'}"


@pytest.fixture
def seeded(store: str) -> str:
    seed(store)
    return store


def assert_private(out: str) -> None:
    """No message text, no phone number in full, no attachment URL or name."""
    for secret in (TEXT, "blue ones", MUM, DAD, FILE_URL, "s3cret-sig", FILENAME):
        assert secret not in out


# -- list ------------------------------------------------------------------------------


def test_list_prints_one_line_per_intent_masked_and_with_no_message_content(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "list", "--store", seeded)

    sent, refused, queued = out.splitlines()
    assert 0 == code
    assert sent.startswith(f"{SENT}  sent       medication-reminder  to {MUM_MASKED}  created ")
    assert sent.endswith("  attempts 1  resends 0  fired -")
    assert refused.startswith(f"{REFUSED}  failed     -  in no-such-conversation  created ")
    assert refused.endswith(
        "  attempts 1  resends 0  fired undelivered  NotFoundError (status 404, code 2001)"
    )
    assert queued.startswith(f"{QUEUED}  queued     -  in chat-later  created ")
    assert queued.endswith("  attempts 0  resends 0  fired -")
    assert_private(out)


def test_list_shows_only_the_state_asked_for_and_at_most_the_limit(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, failed, _ = run(capsys, "list", "--store", seeded, "--state", "failed")
    _, limited, _ = run(capsys, "list", "--store", seeded, "--limit", "2")

    assert [REFUSED] == [line.split()[0] for line in failed.splitlines()]
    first, second, note = limited.splitlines()
    assert [SENT, REFUSED] == [first.split()[0], second.split()[0]]
    assert "(more intents than --limit 2: raise it to see them)" == note


def test_list_json_is_one_object_per_intent(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "list", "--store", seeded, "--json")

    listed = json.loads(out)
    assert 0 == code
    assert {
        "id",
        "state",
        "kind",
        "recipients",
        "conversation_id",
        "created_at",
        "attempts",
        "resends",
        "fired",
        "error",
    } == set(listed[0])
    assert [
        (SENT, "sent", "medication-reminder", [MUM_MASKED], 1, []),
        (REFUSED, "failed", None, [], 1, ["undelivered"]),
        (QUEUED, "queued", None, [], 0, []),
    ] == [
        (i["id"], i["state"], i["kind"], i["recipients"], i["attempts"], i["fired"]) for i in listed
    ]
    assert ["no-such-conversation", "chat-later"] == [i["conversation_id"] for i in listed[1:]]
    assert listed[0]["conversation_id"]  # known once the conversation was started
    assert [None, "NotFoundError (status 404, code 2001)", None] == [i["error"] for i in listed]
    assert datetime.fromisoformat(listed[0]["created_at"]) <= datetime.now(UTC)
    assert_private(out)


def test_list_of_an_empty_outbox_says_so(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_empty(store))

    assert (0, "(no intents)\n", "") == run(capsys, "list", "--store", store)
    assert (0, "(no failed intents)\n", "") == run(
        capsys, "list", "--store", store, "--state", "failed"
    )
    assert (0, "[]\n", "") == run(capsys, "list", "--store", store, "--json")


# -- show ------------------------------------------------------------------------------


def test_show_prints_every_field_with_handles_masked_and_no_text(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "show", SENT, "--store", seeded)

    lines = out.splitlines()
    assert 0 == code
    assert f"intent {SENT} (sent)" == lines[0]
    for line in (
        "kind: medication-reminder",
        f"to: {MUM_MASKED}",
        "preference: auto",
        "message: (text hidden; --show-content shows it)",
        "service: imessage",
        "delivered: -",
        "read: -",
        "failed: -",
        "attempts: 1",
        "resends: 0",
        "fired: -",
        "error: -",
    ):
        assert line in lines
    for label in ("conversation: ", "created: ", "message ids: ", "sent: "):
        assert any(line.startswith(label) and line != f"{label}-" for line in lines), label
    assert_private(out)


def test_show_of_a_refused_intent_has_its_failure_and_the_rule_that_fired(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "show", REFUSED, "--store", seeded)

    lines = out.splitlines()
    assert f"intent {REFUSED} (failed)" == lines[0]
    assert "conversation: no-such-conversation" in lines
    assert "fired: undelivered" in lines
    assert "error: NotFoundError (status 404, code 2001)" in lines
    assert "sent: -" in lines
    assert any(line.startswith("failed: 20") for line in lines)


def test_show_describes_an_attachment_without_its_url_or_name(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "show", QUEUED, "--store", seeded)

    assert "  attachment: image/png (by URL, not shown, 2048 bytes)" in out.splitlines()
    assert_private(out)


def test_show_content_adds_the_text_and_attachment_name_with_handles_still_masked(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "show", QUEUED, "--store", seeded, "--show-content")

    masked_text = TEXT.replace(DAD, DAD_MASKED)
    assert f"message: {json.dumps(masked_text, ensure_ascii=False)}" in out.splitlines()
    assert f"  attachment: {FILENAME!r} image/png (by URL, not shown, 2048 bytes)" in out
    assert DAD not in out
    assert FILE_URL not in out
    assert "s3cret-sig" not in out


def test_show_json_has_every_field_of_the_status(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "show", SENT, "--store", seeded, "--json")

    shown = json.loads(out)
    varying = {
        key: shown.pop(key) for key in ("conversation_id", "created_at", "message_ids", "sent_at")
    }
    assert 0 == code
    assert {
        "id": SENT,
        "state": "sent",
        "kind": "medication-reminder",
        "recipients": [MUM_MASKED],
        "attempts": 1,
        "resends": 0,
        "fired": [],
        "error": None,
        "preference": "auto",
        "message": {
            "content_shown": False,
            "text": None,
            "attachments": [],
            "effect": None,
            "reply_to": None,
        },
        "service": "imessage",
        "delivered_at": None,
        "read_at": None,
        "failed_at": None,
    } == shown
    assert 1 == len(varying["message_ids"])
    assert datetime.fromisoformat(varying["sent_at"]) <= datetime.now(UTC)
    assert_private(out)


def test_show_json_with_content_has_the_text_masked_and_never_the_url(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "show", QUEUED, "--store", seeded, "--json", "--show-content")

    message = json.loads(out)["message"]
    assert {
        "content_shown": True,
        "text": TEXT.replace(DAD, DAD_MASKED),
        "attachments": [
            {
                "content_type": "image/png",
                "size_bytes": 2048,
                "by": "url",
                "attachment_id": None,
                "filename": FILENAME,
            }
        ],
        "effect": None,
        "reply_to": None,
    } == message
    assert FILE_URL not in out


@pytest.mark.parametrize("as_json", [False, True])
def test_show_of_an_unknown_id_exits_1_saying_so(
    seeded: str, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    code, out, err = run(capsys, "show", "nope-404", "--store", seeded, *(["--json"] * as_json))

    assert (1, "") == (code, out)
    if as_json:
        error = json.loads(err)["error"]
        assert ("not_found", "no intent 'nope-404' in the outbox") == (
            error["kind"],
            error["message"],
        )
    else:
        assert "error: no intent 'nope-404' in the outbox\n" == err


# -- retry -----------------------------------------------------------------------------


def test_retry_queues_a_failed_intent_again_and_a_worker_sends_it_under_its_own_key(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "retry", REFUSED, "--store", seeded)

    requeued = statuses(seeded)[REFUSED]
    transport = asyncio.run(_drain(seeded))
    assert 0 == code
    assert (
        f"retried {REFUSED} (was failed, 1 attempt): queued for a worker to send under its own "
        "key\n"
    ) == out
    assert (DeliveryState.QUEUED, None) == (requeued.state, requeued.error)
    # The conversation still does not exist: refused again, under the same key.
    again = statuses(seeded)[REFUSED]
    assert (DeliveryState.FAILED, 2) == (again.state, again.attempts)
    assert [] == transport.sent


def test_retry_json(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "retry", REFUSED, "--store", seeded, "--json")

    assert (0, {"retried": [{"id": REFUSED, "was": "failed", "attempts": 1}]}) == (
        code,
        json.loads(out),
    )


@pytest.mark.parametrize("as_json", [False, True])
def test_retry_of_a_sent_intent_exits_1_saying_why_and_changes_nothing(
    seeded: str, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    before = statuses(seeded)[SENT]

    code, out, err = run(capsys, "retry", SENT, "--store", seeded, *(["--json"] * as_json))

    message = (
        f"intent {SENT!r} is sent: the provider accepted it, so a retry would not send it "
        "again; only a failed or queued intent can be retried"
    )
    assert (1, "") == (code, out)
    if as_json:
        error = json.loads(err)["error"]
        assert ("wrong_state", message) == (error["kind"], error["message"])
    else:
        assert f"error: {message}\n" == err
    assert before == statuses(seeded)[SENT]


def test_retry_of_an_unknown_id_exits_1(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (1, "", "error: no intent 'nope-404' in the outbox\n") == run(
        capsys, "retry", "nope-404", "--store", seeded
    )


# -- cancel ----------------------------------------------------------------------------


def test_cancel_stops_a_queued_intent_and_no_worker_sends_it(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "cancel", QUEUED, "--store", seeded)

    transport = asyncio.run(_drain(seeded))
    assert 0 == code
    assert out.startswith(
        f"cancelled {QUEUED} (was queued, 0 attempts): no worker will send or re-send it"
    )
    assert DeliveryState.CANCELLED == statuses(seeded)[QUEUED].state
    assert [] == transport.sent


def test_cancel_json(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cancel", QUEUED, "--store", seeded, "--json")

    assert (0, {"cancelled": [{"id": QUEUED, "was": "queued", "attempts": 0}]}) == (
        code,
        json.loads(out),
    )


def test_cancel_of_a_sent_intent_exits_1_saying_why(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = statuses(seeded)

    code, out, err = run(capsys, "cancel", SENT, "--store", seeded)

    assert (1, "") == (code, out)
    why = "is sent: the provider accepted it already"
    assert f"error: intent {SENT!r} {why}; only a queued or failed intent can be cancelled\n" == err
    assert before == statuses(seeded)


def test_cancel_of_a_failed_intent_stops_its_re_sends(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "cancel", REFUSED, "--store", seeded)

    assert 0 == code
    assert f"cancelled {REFUSED} (was failed" in out
    assert DeliveryState.CANCELLED == statuses(seeded)[REFUSED].state


def test_cancel_twice_says_it_was_cancelled_already(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "cancel", QUEUED, "--store", seeded)

    code, _, err = run(capsys, "cancel", QUEUED, "--store", seeded, "--json")

    error = json.loads(err)["error"]
    assert (1, "wrong_state") == (code, error["kind"])
    assert "is cancelled: it was cancelled already" in error["message"]


def test_cancel_of_an_unknown_id_exits_1(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (1, "", "error: no intent 'nope-404' in the outbox\n") == run(
        capsys, "cancel", "nope-404", "--store", seeded
    )


# -- stats -----------------------------------------------------------------------------


def test_stats_counts_every_delivery_state(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = run(capsys, "stats", "--store", seeded)
    _, data, _ = run(capsys, "stats", "--store", seeded, "--json")

    assert 0 == code
    assert [
        "queued: 1",
        "sent: 1",
        "delivered: 0",
        "read: 0",
        "failed: 1",
        "cancelled: 0",
    ] == text.splitlines()
    assert {
        "queued": 1,
        "sent": 1,
        "delivered": 0,
        "read": 0,
        "failed": 1,
        "cancelled": 0,
    } == json.loads(data)


# -- the store -------------------------------------------------------------------------


def test_the_store_comes_from_the_outbox_environment_variable_not_the_inboxs(
    seeded: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(OUTBOX_STORE_URL_ENV_VAR, seeded)
    monkeypatch.setenv(STORE_URL_ENV_VAR, f"sqlite:///{tmp_path / 'events.sqlite'}")

    code, out, _ = run(capsys, "list")

    assert 0 == code
    assert out.startswith(f"{SENT}  sent")


def test_without_store_or_environment_it_is_outbox_sqlite_in_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(OUTBOX_STORE_URL_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    seed(f"sqlite:///{tmp_path / 'outbox.sqlite'}")

    code, out, _ = run(capsys, "stats", "--json")

    assert (0, 1) == (code, json.loads(out)["sent"])


def test_the_namespace_defaults_to_the_outboxs_own() -> None:
    args = build_parser().parse_args(["outbox", "stats"])

    assert "caresupport_outbox" == args.namespace


def test_a_missing_sqlite_file_is_refused_and_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "elsewhere.sqlite"

    code, _, err = run(capsys, "list", "--store", f"sqlite:///{path}")

    assert 2 == code
    assert f"error: no outbox store at {path}" in err
    assert OUTBOX_STORE_URL_ENV_VAR in err
    assert not path.exists()


async def _inbox_store(url: str) -> None:
    store = await open_event_store(url)
    try:
        await Inbox(store).dispatch(received("evt-1"))
    finally:
        await store.close()


@pytest.mark.parametrize("command", [["list"], ["cancel", "evt-1"], ["stats", "--json"]])
def test_a_store_that_holds_an_inbox_is_refused(
    store: str, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    asyncio.run(_inbox_store(store))

    code, out, err = run(capsys, *command, "--store", store)

    assert (2, "") == (code, out)
    assert "holds an inbox, not an outbox" in err


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("mysql://care:s3cret@db.internal/care", "unknown scheme 'mysql'"),
        ("sqlite://care:s3cret@db.internal/outbox.db", "sqlite://care:***@db.internal/outbox.db"),
        ("care:s3cret@db.internal", "expected scheme://"),
    ],
)
@pytest.mark.parametrize("command", [["list"], ["retry", "x"], ["stats"]])
def test_a_malformed_store_url_exits_2_with_the_rule_and_never_the_password(
    capsys: pytest.CaptureFixture[str], url: str, rule: str, command: list[str]
) -> None:
    code, out, err = run(capsys, *command, "--store", url)

    assert (2, "") == (code, out)
    assert err.startswith("error: store url: ")
    assert rule in err
    assert "s3cret" not in err


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
        main(["outbox", "list", "--state", "lost", "--json"])

    error = json.loads(capsys.readouterr().err)["error"]
    assert 2 == exited.value.code
    assert "usage" == error["kind"]
    assert "--state" in error["message"]


def test_outbox_without_a_sub_command_prints_help_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert 2 == main(["outbox"])
    out = capsys.readouterr().out
    for command in ("list", "show", "retry", "cancel", "stats"):
        assert command in out
