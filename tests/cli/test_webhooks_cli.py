"""``caresupport-transport webhooks``: verify one captured delivery; wire and run the receiver."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.cli.main import main
from adapters.cli.webhooks import (
    SECRET_ENV_VAR,
    SECRET_FILE_ENV_VAR,
    describe_event,
    make_server,
    open_serve_app,
    secrets_from,
    serve_store_url,
)
from adapters.linq.webhooks import sign_legacy, sign_standard
from caresupport_transport import (
    ConfigurationError,
    ContactCardReceived,
    DeliveryStatus,
    Direction,
    Handle,
    LineReputation,
    LineStatus,
    LineStatusChanged,
    LinkPart,
    Message,
    MessageReceived,
    MessageStatusChanged,
    UnknownEvent,
    WebhookSubscriptionChanged,
)

SECRET = "whsec_Y2xpLXRlc3RzLXdlYmhvb2stc2VjcmV0"
WHEN = 1_770_000_000


def delivery(event_id: str = "evt-1", text: str = "Is the pharmacy open today?") -> bytes:
    return json.dumps(
        {
            "api_version": "v3",
            "webhook_version": "2026-02-03",
            "event_type": "message.received",
            "event_id": event_id,
            "created_at": "2026-02-05T19:31:13Z",
            "data": {
                "chat": {"id": "chat-9", "is_group": False},
                "id": f"msg-{event_id}",
                "direction": "inbound",
                "sender_handle": {"handle": "+12025559876"},
                "parts": [{"type": "text", "value": text}],
                "service": "iMessage",
            },
        }
    ).encode()


def header_args(headers: dict[str, str]) -> list[str]:
    return [arg for name, value in headers.items() for arg in ("--header", f"{name}: {value}")]


def run_verify(
    tmp_path: Path, body: bytes, headers: dict[str, str], *extra: str
) -> tuple[int, str]:
    path = tmp_path / "body.json"
    path.write_bytes(body)
    code = main(["webhooks", "verify", "--body", str(path), *header_args(headers), *extra])
    return code, path.name


def test_verify_accepts_a_standard_delivery_and_prints_its_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = delivery()
    headers = sign_standard(body, SECRET, msg_id="msg_1", timestamp=WHEN)

    code, _ = run_verify(
        tmp_path, body, headers, "--secret", SECRET, "--at", str(WHEN + 60), "--show-content"
    )

    out = capsys.readouterr().out
    assert 0 == code
    assert out.startswith("OK: message.received -> MessageReceived (event evt-1)")
    assert '"Is the pharmacy open today?"' in out


def test_verify_accepts_a_legacy_delivery_with_the_secret_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV_VAR, SECRET)
    body = delivery()
    headers = sign_legacy(body, SECRET, timestamp=WHEN)

    code, _ = run_verify(tmp_path, body, headers, "--at", str(WHEN))

    assert 0 == code
    assert capsys.readouterr().out.startswith("OK: message.received")


def test_verify_refuses_a_body_that_was_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = sign_standard(delivery(), SECRET, msg_id="msg_1", timestamp=WHEN)

    code, _ = run_verify(
        tmp_path, delivery(text="Double the dose"), headers, "--secret", SECRET, "--at", str(WHEN)
    )

    assert 1 == code
    assert capsys.readouterr().out.startswith("FAILED: signature mismatch")


def test_verify_refuses_the_wrong_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = delivery()
    headers = sign_standard(body, SECRET, msg_id="msg_1", timestamp=WHEN)
    other = "whsec_b3RoZXItc2VjcmV0LWZvci10ZXN0cw=="

    code, _ = run_verify(tmp_path, body, headers, "--secret", other, "--at", str(WHEN))

    out = capsys.readouterr().out
    assert 1 == code
    assert out.startswith("FAILED: signature mismatch")
    assert SECRET not in out
    assert other not in out


def test_verify_of_an_old_capture_says_it_is_stale_and_how_to_check_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = delivery()
    headers = sign_standard(body, SECRET, msg_id="msg_1", timestamp=WHEN)

    code, _ = run_verify(tmp_path, body, headers, "--secret", SECRET)

    out = capsys.readouterr().out
    assert 1 == code
    assert out.startswith("FAILED: stale")
    assert "--at" in out


def test_verify_reports_a_missing_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = delivery()
    headers = sign_standard(body, SECRET, msg_id="msg_1", timestamp=WHEN)
    del headers["webhook-timestamp"]

    code, _ = run_verify(tmp_path, body, headers, "--secret", SECRET, "--at", str(WHEN))

    assert 1 == code
    assert capsys.readouterr().out.startswith("FAILED: missing header: webhook-timestamp")


def test_verify_without_any_secret_fails_closed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV_VAR, raising=False)
    body = delivery()
    headers = sign_standard(body, SECRET, msg_id="msg_1", timestamp=WHEN)

    code, _ = run_verify(tmp_path, body, headers, "--at", str(WHEN))

    assert 1 == code
    assert SECRET_ENV_VAR in capsys.readouterr().out


def test_verify_of_a_signed_body_that_is_not_a_delivery_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = b'["not", "an", "envelope"]'
    headers = sign_standard(body, SECRET, msg_id="msg_1", timestamp=WHEN)

    code, _ = run_verify(tmp_path, body, headers, "--secret", SECRET, "--at", str(WHEN))

    out = capsys.readouterr().out
    assert 1 == code
    assert out.startswith("FAILED: the signature is valid, but the body is not a delivery")


def test_verify_refuses_a_header_without_a_colon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "body.json"
    path.write_bytes(delivery())

    code = main(
        ["webhooks", "verify", "--secret", SECRET, "--body", str(path), "--header", "webhook-id"]
    )

    assert 1 == code
    assert "'Name: value'" in capsys.readouterr().err


def test_verify_reports_a_missing_body_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["webhooks", "verify", "--secret", SECRET, "--body", str(tmp_path / "nope")])

    assert 1 == code
    assert "cannot read --body" in capsys.readouterr().err


def test_webhooks_without_a_subcommand_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == main(["webhooks"])
    assert "serve" in capsys.readouterr().out


def test_secrets_come_from_flags_before_the_environment() -> None:
    environ = {SECRET_ENV_VAR: "whsec_ZW52 whsec_cm90YXRlZA=="}

    assert ["whsec_ZmxhZw=="] == secrets_from(["whsec_ZmxhZw=="], environ)
    assert ["whsec_ZW52", "whsec_cm90YXRlZA=="] == secrets_from(None, environ)
    assert [] == secrets_from(None, {})


def test_describe_event_writes_one_readable_line() -> None:
    when = datetime(2026, 2, 5, 19, 31, tzinfo=UTC)
    status = MessageStatusChanged(
        event_id="e1",
        occurred_at=when,
        conversation_id="chat-9",
        message_id="m1",
        status=DeliveryStatus.READ,
    )
    unknown = UnknownEvent(event_id="e2", occurred_at=when, event_type="poll.voted", payload={})

    assert "2026-02-05 19:31:00 message m1 in chat-9 is read" == describe_event(status)
    assert "2026-02-05 19:31:00 poll.voted (not modelled; event e2)" == describe_event(unknown)


# serve


async def test_serve_app_verifies_stores_prints_and_remembers(tmp_path: Path) -> None:
    out = io.StringIO()
    db = tmp_path / "events.sqlite"
    app = await open_serve_app(
        [SECRET], f"sqlite:///{db}", out=out, clock=lambda: float(WHEN), show_content=True
    )
    body = delivery()
    headers = sign_standard(body, SECRET, msg_id="msg_1", timestamp=WHEN)
    transport = httpx.ASGITransport(app=app.receiver)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            first = await client.post("/", content=body, headers=headers)
            again = await client.post("/", content=body, headers=headers)
            unsigned = await client.post("/", content=body)
        for _ in range(200):
            if out.getvalue():
                break
            await asyncio.sleep(0.01)
    finally:
        await app.aclose()

    assert (200, 200, 401) == (first.status_code, again.status_code, unsigned.status_code)
    assert ("queued", "duplicate") == (first.json()["status"], again.json()["status"])
    lines = out.getvalue().splitlines()
    assert 1 == len(lines)
    # Phone numbers are masked even with show_content (issue 10, part 2).
    assert (
        'message msg-evt-1 from +1202•••9876 in chat-9 via imessage: "Is the pharmacy' in lines[0]
    )
    assert "+12025559876" not in out.getvalue()
    assert db.exists()


async def test_serve_app_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=SECRET_ENV_VAR):
        await open_serve_app([], f"sqlite:///{tmp_path / 'e.sqlite'}", out=io.StringIO())
    assert not (tmp_path / "e.sqlite").exists(), "nothing is opened before the checks"


async def test_serve_app_can_answer_after_the_handler_instead(tmp_path: Path) -> None:
    out = io.StringIO()
    app = await open_serve_app(
        [SECRET],
        f"sqlite:///{tmp_path / 'e.sqlite'}",
        out=out,
        clock=lambda: float(WHEN),
        ack_after_handler=True,
    )
    body = delivery()
    headers = sign_standard(body, SECRET, msg_id="msg_1", timestamp=WHEN)
    try:
        transport = httpx.ASGITransport(app=app.receiver)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/", content=body, headers=headers)
    finally:
        await app.aclose()

    assert "handled" == response.json()["status"]
    assert 1 == len(out.getvalue().splitlines()), "printed before the answer"
    assert app.receiver.worker is None


def test_the_store_comes_from_store_then_db_then_the_environment_then_the_default(
    tmp_path: Path,
) -> None:
    env = {"CARESUPPORT_STORE_URL": "redis://127.0.0.1:1/0"}

    assert "memory://" == serve_store_url("memory://", None, env)
    assert f"sqlite:///{tmp_path}/x.db" == serve_store_url(None, tmp_path / "x.db", env)
    assert "redis://127.0.0.1:1/0" == serve_store_url(None, None, env)
    assert "sqlite:///events.sqlite" == serve_store_url(None, None, {})


def test_serve_command_refuses_a_malformed_store_url_naming_the_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["webhooks", "serve", "--secret", SECRET, "--store", "mysql://u:hunter2@h/db"])

    err = capsys.readouterr().err
    assert 1 == code
    assert "unknown scheme 'mysql'" in err
    assert "hunter2" not in err


def test_serve_command_without_a_secret_exits_1_before_listening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV_VAR, raising=False)

    code = main(["webhooks", "serve", "--db", str(tmp_path / "events.sqlite")])

    assert 1 == code
    assert "no signing secret" in capsys.readouterr().err


def test_serve_command_without_uvicorn_names_the_extra_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # makes `import uvicorn` fail

    code = main(["webhooks", "serve", "--secret", SECRET, "--db", str(tmp_path / "e.sqlite")])

    assert 1 == code
    assert 'pip install "caresupport-transport[server]"' in capsys.readouterr().err


async def test_uvicorn_serves_the_receiver_on_localhost(tmp_path: Path) -> None:
    out = io.StringIO()
    app = await open_serve_app(
        [SECRET], f"sqlite:///{tmp_path / 'events.sqlite'}", out=out, show_content=True
    )
    # Bind and listen first: the client's connection waits in the backlog until
    # uvicorn accepts it, so no sleeping or polling for start-up is needed.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    server: Any = make_server(app.receiver, "127.0.0.1", port, quiet=True)
    body = delivery()
    now = int(datetime.now(UTC).timestamp())
    headers = sign_standard(body, SECRET, msg_id="msg_1", timestamp=now)

    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(10), httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{port}/linq/webhooks"
            response = await client.post(url, content=body, headers=headers)
            refused = await client.get(url)
            while "Is the pharmacy" not in out.getvalue():  # noqa: ASYNC110 (another task writes)
                await asyncio.sleep(0.01)
    finally:
        server.should_exit = True
        await serving
        await app.aclose()
        listener.close()

    assert 200 == response.status_code
    assert {"status": "queued", "event_id": "evt-1"} == response.json()
    assert app.receiver.worker is not None
    assert not app.receiver.worker.started, "the lifespan shutdown stopped the worker"
    assert 405 == refused.status_code
    assert "Is the pharmacy open today?" in out.getvalue()


# secrets from a file, output without content, --help


def test_secret_file_holds_one_secret_per_line_with_comments_and_blanks(tmp_path: Path) -> None:
    path = tmp_path / "secrets"
    path.write_text(f"# current, then the one being rotated out\n{SECRET}\n\n  whsec_b2xk  \n")

    assert [SECRET, "whsec_b2xk"] == secrets_from(None, {}, file=path)


def test_secret_file_from_the_environment_is_used_when_nothing_else_is_given(
    tmp_path: Path,
) -> None:
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")

    assert [SECRET] == secrets_from(None, {SECRET_FILE_ENV_VAR: str(path)})
    # The secret itself in the environment comes first.
    both = {SECRET_ENV_VAR: "whsec_ZW52", SECRET_FILE_ENV_VAR: str(path)}
    assert ["whsec_ZW52"] == secrets_from(None, both)


def test_an_unreadable_secret_file_is_named_and_its_content_never_shown(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"--secret-file: cannot read .*nope"):
        secrets_from(None, {}, file=tmp_path / "nope")
    binary = tmp_path / "binary"
    binary.write_bytes(b"whsec_\xff\xfe")
    with pytest.raises(ConfigurationError, match="not UTF-8 text") as raised:
        secrets_from(None, {}, file=binary)
    assert "whsec_" not in str(raised.value)


def test_verify_reads_the_secret_from_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    body = delivery()
    headers = sign_standard(body, SECRET, msg_id="msg_1", timestamp=WHEN)

    code, _ = run_verify(
        tmp_path, body, headers, "--secret-file", str(secret_file), "--at", str(WHEN)
    )

    out = capsys.readouterr().out
    assert 0 == code
    assert "(text hidden; --show-content shows it)" in out
    assert "Is the pharmacy" not in out
    assert "+12025559876" not in out


def test_secret_and_secret_file_cannot_both_be_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["webhooks", "serve", "--secret", SECRET, "--secret-file", str(tmp_path / "s")])

    assert 2 == exited.value.code
    assert "not allowed with argument" in capsys.readouterr().err


def test_serve_without_a_secret_file_that_exists_exits_1_before_listening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["webhooks", "serve", "--secret-file", str(tmp_path / "missing"), "--db", str(tmp_path)]
    )

    assert 1 == code
    assert "--secret-file: cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--body-timeout", "0"),
        ("--max-concurrent", "0"),
        ("--header-timeout", "-1"),
        ("--max-unverified-bytes", "10"),
        ("--log-interval", "0"),
    ],
)
def test_serve_refuses_a_bad_limit_naming_it_before_listening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    db = tmp_path / "events.sqlite"
    code = main(["webhooks", "serve", "--secret", SECRET, "--db", str(db), option, value])

    err = capsys.readouterr().err
    assert 1 == code
    named = option.removeprefix("--").replace("-", "_").removeprefix("log_")
    assert named in err


def test_serve_help_describes_every_option_with_its_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["webhooks", "serve", "--help"])

    out = " ".join(capsys.readouterr().out.split())
    for shown in (
        "--header-timeout SECONDS a connection that has not sent a complete request head",
        "(default: 10.0)",
        "--max-connections MAX_CONNECTIONS",
        "(default: 1000)",
        "--max-concurrent MAX_CONCURRENT",
        "(default: 64)",
        "--max-unverified-bytes MAX_UNVERIFIED_BYTES",
        "(default: 16777216)",
        "--keep-alive-timeout SECONDS",
        "(default: 5.0)",
        "--access-log",
        "--show-content",
        "--secret-file PATH",
    ):
        assert shown in out


def test_describe_event_hides_text_by_default_and_masks_handles_always() -> None:
    when = datetime(2026, 2, 5, 19, 31, tzinfo=UTC)
    status = MessageStatusChanged(
        event_id="e1",
        occurred_at=when,
        conversation_id="chat-9",
        message_id="m1",
        status=DeliveryStatus.FAILED,
        error_code=3007,
        reason="+16515557981 cannot receive SMS",
    )

    assert (
        "2026-02-05 19:31:00 message m1 in chat-9 failed: +1651•••7981 cannot receive SMS "
        "(error 3007)"
    ) == describe_event(status)


def test_describe_event_names_late_and_account_events_without_personal_data() -> None:
    when = datetime(2026, 2, 5, 19, 31, tzinfo=UTC)
    card = ContactCardReceived("e3", when, Handle("+16515557981"), "Rose", "Okafor")
    line = LineStatusChanged(
        "e4", when, Handle("+16515550000"), LineStatus.FLAGGED, LineReputation.CRITICAL
    )
    off = WebhookSubscriptionChanged("e5", when, "sub-1", enabled=False, change="disabled")
    failed = MessageStatusChanged(
        "e6", when, "chat-9", "m1", DeliveryStatus.FAILED, error_code=4001, detail_code=12
    )

    assert "2026-02-05 19:31:00 +1651•••7981 shared a contact card" == describe_event(card)
    assert 'shared a contact card: "Rose Okafor"' in describe_event(card, show_content=True)
    assert "2026-02-05 19:31:00 line +1651•••0000 is FLAGGED, reputation CRITICAL" == (
        describe_event(line)
    )
    assert "2026-02-05 19:31:00 webhook subscription sub-1 disabled" == describe_event(off)
    assert describe_event(failed).endswith("(error 4001, detail 12)")


def test_describe_event_counts_a_link_without_showing_it() -> None:
    when = datetime(2026, 2, 5, 19, 31, tzinfo=UTC)
    message = Message(
        "m1",
        "chat-9",
        Direction.INBOUND,
        Handle("+16515557981"),
        (LinkPart("https://pharmacy.example.org/warfarin"),),
        None,
        DeliveryStatus.DELIVERED,
        when,
    )
    line = describe_event(MessageReceived("e1", when, "chat-9", message))
    assert line.endswith("+1 link(s)")
    assert "warfarin" not in line
