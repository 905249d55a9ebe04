"""``caresupport-transport linq ...``: each command's request, output, errors and exit codes.

Every test runs ``main([...])`` inside ``wired(...)``, which hands the commands an
environment and an ``httpx.MockTransport`` standing in for Linq.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from adapters.cli.linq import wired
from adapters.cli.main import main
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.memory import RecipientKind

TOKEN = "lq_cli_SECRET_token_0123456789"
LINE = "+15550001111"
BASE = "https://linq.test/api/partner"
ENV = {"LINQ_API_TOKEN": TOKEN, "LINQ_PHONE_NUMBER": LINE, "LINQ_BASE_URL": BASE}
CHAT_ID = "6f1c0d1e-5b7a-4c1e-9d55-2f0a8d4b9c10"
MESSAGE_ID = "69a37c7d-af4f-4b5e-af42-e28e98ce873a"
WHEN = "2026-03-01T12:00:00Z"
GRANDMA = "+16515550101"

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


def handle(value: str, *, is_me: bool = False) -> dict[str, Any]:
    return {"id": f"h-{value}", "handle": value, "service": "iMessage", "is_me": is_me}


def chat(chat_id: str = CHAT_ID, other: str = GRANDMA) -> dict[str, Any]:
    return {
        "id": chat_id,
        "display_name": None,
        "service": "iMessage",
        "handles": [handle(LINE, is_me=True), handle(other)],
        "is_group": False,
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def sent_message(**changes: Any) -> dict[str, Any]:
    return {
        "id": MESSAGE_ID,
        "service": "iMessage",
        "parts": [{"type": "text", "value": "Hi"}],
        "sent_at": WHEN,
        "delivery_status": "queued",
        "is_read": False,
        **changes,
    }


def history_message(text: str, message_id: str) -> dict[str, Any]:
    return {
        "id": message_id,
        "chat_id": CHAT_ID,
        "service": "iMessage",
        "from": GRANDMA,
        "parts": [{"type": "text", "value": text}],
        "is_from_me": False,
        "is_delivered": True,
        "is_read": False,
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def error(status: int, code: int, message: str) -> httpx.Response:
    body = {"success": False, "error": {"status": status, "code": code, "message": message}}
    return httpx.Response(status, json={**body, "trace_id": "trace-cli-7"})


@attrs.define
class FakeLinq:
    """Answers by ``(method, path)``; a list of answers is used in turn, the last one repeated."""

    answers: dict[tuple[str, str], list[Answer]] = attrs.Factory(dict)
    requests: list[httpx.Request] = attrs.Factory(list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.answers[(method, path)] = list(answers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/api/partner")
        queue = self.answers.get((request.method, path))
        if queue is None:
            raise AssertionError(f"unexpected request {request.method} {path}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer

    def bodies(self, method: str, path: str) -> list[Any]:
        return [
            json.loads(r.content) if r.content else None
            for r in self.requests
            if r.method == method and r.url.path.removeprefix("/api/partner") == path
        ]


async def no_sleep(seconds: float) -> None:
    pass


def run(linq: FakeLinq, *argv: str, environ: dict[str, str] = ENV) -> int:
    with wired(environ=environ, transport=httpx.MockTransport(linq.handler), sleep=no_sleep):
        return main(["linq", *argv])


@pytest.fixture
def linq() -> FakeLinq:
    return FakeLinq()


def test_chats_lists_each_chat_with_its_people(
    linq: FakeLinq, capsys: pytest.CaptureFixture[str]
) -> None:
    linq.on("GET", "/v3/chats", httpx.Response(200, json={"chats": [chat()], "next_cursor": None}))
    assert 0 == run(linq, "chats")
    out = capsys.readouterr().out
    assert f"{CHAT_ID}  iMessage 1:1    {GRANDMA}\n" == out
    assert [("from", LINE), ("limit", "50")] == list(linq.requests[0].url.params.multi_items())


def test_json_output_is_linqs_own_shape(linq: FakeLinq, capsys: pytest.CaptureFixture[str]) -> None:
    linq.on("GET", "/v3/chats", httpx.Response(200, json={"chats": [chat()], "next_cursor": None}))
    assert 0 == run(linq, "chats", "--json")
    [listed] = json.loads(capsys.readouterr().out)
    assert (CHAT_ID, [LINE, GRANDMA]) == (listed["id"], [h["handle"] for h in listed["handles"]])


def test_create_sends_the_first_message_with_the_pinned_service(
    linq: FakeLinq, capsys: pytest.CaptureFixture[str]
) -> None:
    created = {**chat(), "message": sent_message()}
    del created["created_at"], created["updated_at"]
    linq.on("GET", "/v3/chats", httpx.Response(200, json={"chats": [], "next_cursor": None}))
    linq.on("POST", "/v3/chats", httpx.Response(201, json={"chat": created}))
    code = run(
        linq, "create", "--to", GRANDMA, "--to", "+16515550102", "--body", "Hello",
        "--service", "sms", "--idempotency-key", "intro-1",
    )  # fmt: skip
    [body] = linq.bodies("POST", "/v3/chats")
    assert 0 == code
    assert {
        "from": LINE,
        "to": [GRANDMA, "+16515550102"],
        "message": {
            "parts": [{"type": "text", "value": "Hello"}],
            "idempotency_key": "intro-1",
            "preferred_service": "SMS",
        },
    } == body
    assert f"chat {CHAT_ID} created" in capsys.readouterr().out


def test_create_does_not_send_an_effect_and_says_so(
    linq: FakeLinq, capsys: pytest.CaptureFixture[str]
) -> None:
    created = {**chat(), "message": sent_message()}
    linq.on("GET", "/v3/chats", httpx.Response(200, json={"chats": [], "next_cursor": None}))
    linq.on("POST", "/v3/chats", httpx.Response(201, json={"chat": created}))
    assert 0 == run(linq, "create", "--to", GRANDMA, "--body", "Welcome", "--effect", "confetti")
    [body] = linq.bodies("POST", "/v3/chats")
    assert "effect" not in body["message"]
    assert "note: effect 'confetti' not sent" in capsys.readouterr().out


def test_send_carries_text_media_and_the_reply(linq: FakeLinq) -> None:
    path = f"/v3/chats/{CHAT_ID}/messages"
    linq.on("GET", f"/v3/chats/{CHAT_ID}", httpx.Response(200, json=chat()))
    linq.on("POST", path, httpx.Response(202, json={"chat_id": CHAT_ID, "message": sent_message()}))
    code = run(
        linq, "send", "--chat-id", CHAT_ID, "--body", "The chart",
        "--media-url", "https://files.example.org/chart.png", "--reply-to", MESSAGE_ID,
    )  # fmt: skip
    [body] = linq.bodies("POST", path)
    assert 0 == code
    assert [
        {"type": "text", "value": "The chart"},
        {"type": "media", "url": "https://files.example.org/chart.png"},
    ] == body["message"]["parts"]
    assert {"message_id": MESSAGE_ID, "part_index": 0} == body["message"]["reply_to"]


def test_messages_shows_at_most_the_limit(
    linq: FakeLinq, capsys: pytest.CaptureFixture[str]
) -> None:
    page = {"messages": [history_message("newest", "m-2"), history_message("older", "m-1")]}
    linq.on("GET", f"/v3/chats/{CHAT_ID}/messages", httpx.Response(200, json=page))
    assert 0 == run(linq, "messages", "--chat-id", CHAT_ID, "--limit", "1")
    [line] = capsys.readouterr().out.splitlines()
    assert line.endswith(f"<- {GRANDMA}  [iMessage, delivered]  newest  (m-2)")


def test_phones_lists_the_lines(linq: FakeLinq, capsys: pytest.CaptureFixture[str]) -> None:
    numbers = {"phone_numbers": [{"id": "line-1", "phone_number": LINE}]}
    linq.on("GET", "/v3/phone_numbers", httpx.Response(200, json=numbers))
    assert 0 == run(linq, "phones")
    assert f"{LINE}  (line-1)\n" == capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "method", "path"),
    [
        (["typing", "--chat-id", CHAT_ID], "POST", f"/v3/chats/{CHAT_ID}/typing"),
        (["typing", "--chat-id", CHAT_ID, "--stop"], "DELETE", f"/v3/chats/{CHAT_ID}/typing"),
        (["read", "--chat-id", CHAT_ID], "POST", f"/v3/chats/{CHAT_ID}/read"),
    ],
)
def test_chat_actions_call_their_endpoint(
    linq: FakeLinq, argv: list[str], method: str, path: str
) -> None:
    linq.on(method, path, httpx.Response(204))
    assert 0 == run(linq, *argv)
    assert [(method, path)] == [
        (r.method, r.url.path.removeprefix("/api/partner")) for r in linq.requests
    ]


def test_react_sends_a_custom_emoji(linq: FakeLinq) -> None:
    path = f"/v3/messages/{MESSAGE_ID}/reactions"
    linq.on("POST", path, httpx.Response(202, json={"status": "accepted"}))
    assert 0 == run(linq, "react", "--message-id", MESSAGE_ID, "--type", "custom", "--emoji", "🙏")
    assert [{"operation": "add", "type": "custom", "custom_emoji": "🙏"}] == linq.bodies(
        "POST", path
    )


def test_capability_reports_unknown_when_apple_does_not_answer(
    linq: FakeLinq, capsys: pytest.CaptureFixture[str]
) -> None:
    linq.on("POST", "/v3/capability/check_imessage", error(503, 4004, "upstream unavailable"))
    linq.on(
        "POST",
        "/v3/capability/check_rcs",
        httpx.Response(200, json={"address": GRANDMA, "available": True}),
    )
    assert 0 == run(linq, "capability", "--to", GRANDMA)
    assert "iMessage: unknown\nRCS: available\nSMS: assumed (phone number)\n" == (
        capsys.readouterr().out
    )


def test_upload_requests_a_slot_and_puts_the_bytes(
    linq: FakeLinq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"\x89PNG care plan")
    ticket = {
        "attachment_id": "att-1",
        "upload_url": "https://uploads.linq.test/att-1?signature=abc",
        "download_url": "https://cdn.linq.test/att-1/scan.png",
        "http_method": "PUT",
        "expires_at": WHEN,
        "required_headers": {"Content-Type": "image/png"},
    }
    linq.on("POST", "/v3/attachments", httpx.Response(200, json=ticket))
    linq.on("PUT", "/att-1", httpx.Response(200))
    assert 0 == run(linq, "upload", str(scan))
    put = linq.requests[-1]
    assert (b"\x89PNG care plan", None) == (put.content, put.headers.get("Authorization"))
    assert "attachment att-1: scan.png (image/png, 14 bytes)" in capsys.readouterr().out


def test_webhooks_create_prints_the_signing_secret_once(
    linq: FakeLinq, capsys: pytest.CaptureFixture[str]
) -> None:
    created = {
        "id": "sub-1",
        "target_url": "https://care.example/linq",
        "signing_secret": "whsec_c2lnbmluZy1zZWNyZXQ=",
        "subscribed_events": ["message.received"],
        "is_active": True,
    }
    linq.on("POST", "/v3/webhook-subscriptions", httpx.Response(201, json=created))
    assert 0 == run(
        linq, "webhooks", "create", "https://care.example/linq", "--events", "message.received"
    )
    assert [
        {"target_url": "https://care.example/linq", "subscribed_events": ["message.received"]}
    ] == linq.bodies("POST", "/v3/webhook-subscriptions")
    assert "signing secret: whsec_c2lnbmluZy1zZWNyZXQ=" in capsys.readouterr().out


def test_webhooks_list_and_delete(linq: FakeLinq, capsys: pytest.CaptureFixture[str]) -> None:
    listed = {
        "subscriptions": [
            {
                "id": "sub-1",
                "target_url": "https://care.example/linq",
                "subscribed_events": ["message.received", "message.failed"],
                "is_active": False,
            }
        ]
    }
    linq.on("GET", "/v3/webhook-subscriptions", httpx.Response(200, json=listed))
    linq.on("DELETE", "/v3/webhook-subscriptions/sub-1", httpx.Response(204))
    assert (0, 0) == (run(linq, "webhooks", "list"), run(linq, "webhooks", "delete", "sub-1"))
    assert [
        "sub-1  paused  https://care.example/linq  message.received, message.failed",
        "webhook subscription sub-1 deleted: done",
    ] == capsys.readouterr().out.splitlines()


def test_a_refusal_prints_message_code_and_trace_id_and_exits_1(
    linq: FakeLinq, capsys: pytest.CaptureFixture[str]
) -> None:
    linq.on("GET", f"/v3/chats/{CHAT_ID}/messages", error(404, 2001, "Chat not found"))
    assert 1 == run(linq, "messages", "--chat-id", CHAT_ID)
    captured = capsys.readouterr()
    assert [
        "error: list_messages: Chat not found",
        "status: 404",
        "code: 2001",
        "trace id: trace-cli-7",
    ] == captured.err.splitlines()
    assert TOKEN not in captured.out + captured.err


def test_a_failed_send_prints_the_key_to_retry_under(
    linq: FakeLinq, capsys: pytest.CaptureFixture[str]
) -> None:
    linq.on("POST", f"/v3/chats/{CHAT_ID}/messages", error(400, 1001, "Invalid request"))
    code = run(linq, "send", "--chat-id", CHAT_ID, "--body", "Hi", "--idempotency-key", "pill-2pm")
    err = capsys.readouterr().err.splitlines()
    assert 1 == code
    assert "idempotency key: pill-2pm (retry under it, never a new one)" == err[-1]


def test_no_answer_exits_1(linq: FakeLinq, capsys: pytest.CaptureFixture[str]) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    linq.on("GET", "/v3/phone_numbers", drop)
    assert 1 == run(linq, "phones")
    assert capsys.readouterr().err.startswith("error: list_phone_numbers: no answer from Linq")


def test_bad_input_exits_2_before_any_request(
    linq: FakeLinq, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == run(linq, "create", "--to", "555-0101", "--body", "Hi")
    expected = "error: to[0]: '555-0101' is not an E.164 phone number"
    assert ([], expected) == (linq.requests, capsys.readouterr().err[: len(expected)])


def test_a_missing_token_names_the_variable_and_exits_2(
    linq: FakeLinq, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == run(linq, "phones", environ={"LINQ_PHONE_NUMBER": LINE})
    assert "LINQ_API_TOKEN" in capsys.readouterr().err


def test_the_configuration_can_come_from_a_json_file(
    linq: FakeLinq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "linq.json"
    settings.write_text(
        json.dumps({"linq_api_token": TOKEN, "linq_phone": LINE, "base_url": f"{BASE}/v3"})
    )
    linq.on("GET", "/v3/phone_numbers", httpx.Response(200, json={"phone_numbers": []}))
    assert 0 == run(linq, "phones", "--config", str(settings), environ={})
    assert f"Bearer {TOKEN}" == linq.requests[0].headers["Authorization"]
    assert "(no lines)\n" == capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["create"],
        ["send"],
        ["chats"],
        ["messages"],
        ["phones"],
        ["typing"],
        ["read"],
        ["react"],
        ["capability"],
        ["upload"],
        ["webhooks"],
        ["webhooks", "list"],
        ["webhooks", "create"],
        ["webhooks", "delete"],
        ["voice-memo"],
        ["edit"],
        ["delete"],
        ["group"],
        ["group", "add"],
        ["group", "remove"],
        ["leave"],
        ["contact-card"],
        ["contact-card", "get"],
        ["contact-card", "create"],
        ["contact-card", "update"],
        ["contact-card", "share"],
        ["events"],
    ],
)
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["linq", *argv, "--help"])
    usage = " ".join(["usage: caresupport-transport linq", *argv])
    out = capsys.readouterr().out
    assert (0, usage) == (exit_info.value.code, out[: len(usage)])


def test_the_commands_work_against_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    simulator = Simulator()
    simulator.add_recipient(GRANDMA, RecipientKind.IMESSAGE)
    environ = {
        "LINQ_API_TOKEN": simulator.token,
        "LINQ_PHONE_NUMBER": simulator.phone,
        "LINQ_BASE_URL": IN_PROCESS_BASE_URL,
    }
    with wired(environ=environ, transport=simulator.transport(), sleep=no_sleep):
        created = main(["linq", "create", "--to", GRANDMA, "--body", "Hello from the care team"])
        listed = main(["linq", "chats", "--json"])
    out = capsys.readouterr().out
    [chat_listed] = json.loads(out[out.index("[") :])
    assert (0, 0, [GRANDMA]) == (
        created,
        listed,
        [h["handle"] for h in chat_listed["handles"] if not h["is_me"]],
    )
