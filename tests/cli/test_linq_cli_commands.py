"""``caresupport-transport linq ...`` against the Linq simulator: the commands beyond the basics.

Each test runs ``main(["linq", ...])`` in-process inside ``wired(...)``, with the
simulator's ASGI app as the HTTP transport, and reads the outcome from the
simulator's World (what a person's phone would show), not from mocks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.cli.linq import wired
from adapters.cli.main import build_parser, main
from adapters.linq.event_types import ALL_EVENT_TYPES
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.memory import InMemoryTransport, RecipientKind, World
from caresupport_transport import Effect, MediaPart, OutgoingMessage, ReplyTo
from caresupport_transport.handles import Handle

GRANDMA = "+16515550101"
ERIK = "+16515550102"
SOFIA = "+16515550103"
NILS = "+16515550104"
ASTRID = "+16515550105"
PNG = b"\x89PNG\r\n\x1a\n care plan scan"


async def no_sleep(seconds: float) -> None:
    pass


@pytest.fixture
def simulator() -> Simulator:
    simulator = Simulator()
    simulator.add_recipient(GRANDMA, RecipientKind.IMESSAGE)
    simulator.add_recipient(ERIK, RecipientKind.SMS_ONLY)
    simulator.add_recipient(SOFIA, RecipientKind.RCS)
    simulator.add_recipient(NILS, RecipientKind.IMESSAGE)
    return simulator


def linq(simulator: Simulator, *argv: str, base_url: str = IN_PROCESS_BASE_URL) -> int:
    environ = {
        "LINQ_API_TOKEN": simulator.token,
        "LINQ_PHONE_NUMBER": simulator.phone,
        "LINQ_BASE_URL": base_url,
    }
    with wired(environ=environ, transport=simulator.transport(), sleep=no_sleep):
        return main(["linq", *argv])


def linq_json(
    simulator: Simulator, capsys: pytest.CaptureFixture[str], *argv: str, **kwargs: str
) -> Any:
    capsys.readouterr()
    assert 0 == linq(simulator, *argv, "--json", **kwargs)
    return json.loads(capsys.readouterr().out)


def start_chat(
    simulator: Simulator, capsys: pytest.CaptureFixture[str], *to: str
) -> tuple[str, str]:
    """A chat with ``to`` and the id of its first message."""
    created = linq_json(
        simulator, capsys, "create", *(f"--to={h}" for h in to), "--body", "Hello from care"
    )
    return created["id"], created["message"]["id"]


def requests_made(simulator: Simulator) -> int:
    return simulator.counters.total_requests


# -- send: attachments, loopback media, degradations ----------------------------------


def test_send_attachment_id_sends_the_uploaded_file(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chat_id, _ = start_chat(simulator, capsys, GRANDMA)
    scan = tmp_path / "scan.png"
    scan.write_bytes(PNG)
    uploaded = linq_json(simulator, capsys, "upload", str(scan))
    sent = linq_json(
        simulator, capsys, "send", "--chat-id", chat_id, "--body", "The scan",
        "--attachment-id", uploaded["id"],
    )  # fmt: skip
    message = simulator.world.message(sent["message"]["id"])
    assert ["The scan", uploaded["id"]] == [
        getattr(p, "text", None) or getattr(p, "attachment_id", None) for p in message.parts
    ]
    assert PNG == simulator.world.attachment_data[uploaded["id"]]


def test_media_url_accepts_the_simulators_loopback_http_download_url(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = "http://127.0.0.1:8790/api/partner"
    scan = tmp_path / "scan.png"
    scan.write_bytes(PNG)
    capsys.readouterr()
    assert 0 == linq(simulator, "create", "--to", GRANDMA, "--body", "Hi", "--json", base_url=local)
    chat_id = json.loads(capsys.readouterr().out)["id"]
    assert 0 == linq(simulator, "upload", str(scan), "--json", base_url=local)
    download_url = json.loads(capsys.readouterr().out)["download_url"]
    assert download_url.startswith("http://127.0.0.1:8790/")
    assert 0 == linq(
        simulator, "send", "--chat-id", chat_id, "--media-url", download_url, "--json",
        base_url=local,
    )  # fmt: skip
    sent = json.loads(capsys.readouterr().out)
    [part] = simulator.world.message(sent["message"]["id"]).parts
    assert MediaPart(url=download_url) == part


@pytest.mark.parametrize(
    "url", ["http://files.example.org/chart.png", "http://10.0.0.7/chart.png", "ftp://x/a.png"]
)
def test_media_url_refuses_plain_http_off_this_machine_before_any_request(
    simulator: Simulator, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    assert 2 == linq(simulator, "send", "--chat-id", "chat-1", "--media-url", url)
    assert 0 == requests_made(simulator)
    assert capsys.readouterr().err.startswith("error: --media-url: ")


def test_effect_and_reply_into_an_sms_chat_are_dropped_and_reported_as_the_transport_does(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    chat_id, first_id = start_chat(simulator, capsys, ERIK)
    capsys.readouterr()
    code = linq(
        simulator, "send", "--chat-id", chat_id, "--body", "She walked today!",
        "--effect", "confetti", "--reply-to", first_id,
    )  # fmt: skip
    out = capsys.readouterr().out
    # The same message through the Transport to an SMS-only person, for its words.
    transport = InMemoryTransport(World())
    transport.world.add_recipient(ERIK, RecipientKind.SMS_ONLY)

    async def transport_degradations() -> list[str]:
        started = await transport.start_conversation([Handle(ERIK)], OutgoingMessage.of_text("Hi"))
        message = OutgoingMessage.of_text(
            "She walked today!",
            effect=Effect.screen("confetti"),
            reply_to=ReplyTo(started.receipt.message_ids[0]),
        )
        receipt = await transport.send_message(started.conversation.id, message)
        return [str(d) for d in receipt.degradations]

    expected = asyncio.run(transport_degradations())
    assert 0 == code
    assert [
        "effect dropped: SMS has no effects",
        "reply thread dropped: SMS has no reply threads",
    ] == expected
    assert [f"degradation: {d}" for d in expected] == [
        line for line in out.splitlines() if line.startswith("degradation:")
    ]
    [sent] = [m for m in simulator.world.history(chat_id) if m.text == "She walked today!"]
    assert (None, None) == (sent.effect, sent.reply_to)


def test_effect_and_reply_into_an_imessage_chat_are_sent(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    chat_id, first_id = start_chat(simulator, capsys, GRANDMA)
    sent = linq_json(
        simulator, capsys, "send", "--chat-id", chat_id, "--body", "She walked today!",
        "--effect", "confetti", "--reply-to", first_id,
    )  # fmt: skip
    message = simulator.world.message(sent["message"]["id"])
    assert ([], Effect.screen("confetti"), first_id) == (
        sent["degradations"],
        message.effect,
        message.reply_to.message_id if message.reply_to else None,
    )


def test_a_pinned_sms_send_drops_the_effect_without_asking_for_the_chat(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    chat_id, _ = start_chat(simulator, capsys, GRANDMA)
    before = dict(simulator.counters.requests)
    sent = linq_json(
        simulator, capsys, "send", "--chat-id", chat_id, "--body", "Hi",
        "--effect", "confetti", "--service", "sms",
    )  # fmt: skip
    assert ["effect dropped: SMS has no effects"] == sent["degradations"]
    assert before.get("GET /v3/chats/{chatId}") == simulator.counters.requests.get(
        "GET /v3/chats/{chatId}"
    )


# -- create: created or reused ---------------------------------------------------------------


def test_create_says_whether_it_created_or_reused_the_chat(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == linq(simulator, "create", "--to", GRANDMA, "--body", "Hello")
    first = capsys.readouterr().out.splitlines()[0]
    assert 0 == linq(simulator, "create", "--to", GRANDMA, "--body", "Hello again")
    second = capsys.readouterr().out.splitlines()[0]
    again = linq_json(simulator, capsys, "create", "--to", GRANDMA, "--body", "And again")
    [chat_id] = simulator.world.conversations
    assert f"chat {chat_id} created (iMessage, 1:1)" == first
    assert second.startswith(f"chat {chat_id} reused: a chat with these people existed")
    assert (chat_id, True) == (again["id"], again["reused_existing_chat"])
    assert 3 == len(simulator.world.history(chat_id))


def test_create_with_a_subset_of_a_groups_people_makes_a_new_chat(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    group_id, _ = start_chat(simulator, capsys, GRANDMA, NILS)
    created = linq_json(simulator, capsys, "create", "--to", GRANDMA, "--body", "Just you")
    assert (False, True) == (created["reused_existing_chat"], created["id"] != group_id)


# -- voice memos, edits, deletes, groups, leaving ------------------------------------------


def test_voice_memo_sends_an_uploaded_recording(
    simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chat_id, _ = start_chat(simulator, capsys, GRANDMA)
    memo = tmp_path / "goodnight.m4a"
    memo.write_bytes(b"\x00\x00\x00\x18ftypM4A goodnight")
    uploaded = linq_json(simulator, capsys, "upload", str(memo))
    sent = linq_json(
        simulator, capsys, "voice-memo", "--chat-id", chat_id, "--attachment-id", uploaded["id"]
    )
    assert sent["id"] in simulator.world.voice_memo_ids
    assert ("goodnight.m4a", chat_id) == (sent["voice_memo"]["filename"], sent["chat"]["id"])


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--url", "https://files.example.org/goodnight.ogg"], "--url"),
        (["--url", "http://files.example.org/goodnight.m4a"], "--url"),
        (["--attachment-id", " "], "--attachment-id"),
    ],
)
def test_voice_memo_refuses_bad_audio_before_any_request(
    simulator: Simulator, capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    assert 2 == linq(simulator, "voice-memo", "--chat-id", "chat-1", *argv)
    assert (0, f"error: {field}: ") == (
        requests_made(simulator),
        capsys.readouterr().err[: len(f"error: {field}: ")],
    )


def test_edit_replaces_the_text_and_delete_removes_the_message(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _, message_id = start_chat(simulator, capsys, GRANDMA)
    assert 0 == linq(simulator, "edit", "--message-id", message_id, "--body", "Hello, Astrid")
    edited_text = simulator.world.message(message_id).text
    assert capsys.readouterr().out.startswith(f"message {message_id} edited\n")
    assert 0 == linq(simulator, "delete", "--message-id", message_id)
    assert ("Hello, Astrid", True) == (edited_text, simulator.world.is_deleted(message_id))


def test_group_add_remove_and_leave(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    group_id, _ = start_chat(simulator, capsys, GRANDMA, NILS, SOFIA)
    assert 0 == linq(simulator, "group", "add", "--chat-id", group_id, "--handle", ERIK)
    after_add = set(simulator.world.conversation(group_id).participants)
    assert 0 == linq(simulator, "group", "remove", "--chat-id", group_id, "--handle", NILS)
    after_remove = set(simulator.world.conversation(group_id).participants)
    out = capsys.readouterr().out
    # Linq lets a line leave only an iMessage group of 4 or more (the line included).
    simulator.add_recipient(ASTRID, RecipientKind.IMESSAGE)
    family_id, _ = start_chat(simulator, capsys, GRANDMA, NILS, ASTRID)
    assert 0 == linq(simulator, "leave", "--chat-id", family_id)
    assert {Handle(h) for h in (GRANDMA, NILS, SOFIA, ERIK)} == after_add
    assert {Handle(h) for h in (GRANDMA, SOFIA, ERIK)} == after_remove
    assert simulator.world.has_left(family_id)
    assert f"{ERIK} added to chat {group_id}: done" in out
    assert f"left chat {family_id}: done" in capsys.readouterr().out


def test_group_add_refuses_a_bad_handle_before_any_request(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == linq(simulator, "group", "add", "--chat-id", "chat-1", "--handle", "555-0101")
    assert 0 == requests_made(simulator)
    assert capsys.readouterr().err.startswith("error: --handle: '555-0101'")


# -- contact cards and event types --------------------------------------------------------------


def test_contact_card_create_get_update_and_share(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    chat_id, _ = start_chat(simulator, capsys, GRANDMA)
    del simulator.backend.contact_cards[simulator.phone]
    assert 0 == linq(simulator, "contact-card", "create", "--first-name", "Astrid's care team")
    assert 0 == linq(simulator, "contact-card", "update", "--last-name", "CareSupport")
    cards = linq_json(simulator, capsys, "contact-card", "get")
    assert 0 == linq(simulator, "contact-card", "share", "--chat-id", chat_id)
    assert [(simulator.phone, "Astrid's care team", "CareSupport")] == [
        (c["phone_number"], c["first_name"], c["last_name"]) for c in cards
    ]
    assert [chat_id] == simulator.world.contact_cards_shared


def test_contact_card_create_when_one_exists_reports_the_conflict(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 1 == linq(simulator, "contact-card", "create", "--first-name", "Care")
    err = capsys.readouterr().err
    assert ("status: 409" in err, "trace id: " in err) == (True, True)


def test_events_lists_the_webhook_event_types(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == linq(simulator, "events")
    assert list(ALL_EVENT_TYPES) == capsys.readouterr().out.splitlines()


# -- upload content types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "argv", "rule"),
    [
        ("notes.carenote", [], "cannot be guessed from 'notes.carenote'"),
        ("notes.xyz", [], "cannot be guessed from 'notes.xyz'"),
        ("scan.png", ["--content-type", "png"], "'png' is not a known MIME type"),
        ("scan.png", ["--content-type", "chemical/x-xyz"], "is not a known MIME type"),
        ("scan.webp", [], "image/webp is not supported"),
    ],
)
def test_upload_refuses_an_unknown_content_type_before_any_request(
    simulator: Simulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    argv: list[str],
    rule: str,
) -> None:
    file = tmp_path / name
    file.write_bytes(PNG)
    assert 2 == linq(simulator, "upload", str(file), *argv)
    err = capsys.readouterr().err
    assert (0, True) == (requests_made(simulator), err.startswith("error: --content-type: "))
    assert rule in err


# -- webhooks create: --events on either side of the URL -------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["http://127.0.0.1:8000/linq", "--events", "message.received", "message.failed"],
        ["--events", "message.received", "message.failed", "http://127.0.0.1:8000/linq"],
        ["--events", "message.received,message.failed", "--", "http://127.0.0.1:8000/linq"],
        [
            "--events",
            "message.received",
            "http://127.0.0.1:8000/linq",
            "--events",
            "message.failed",
        ],
    ],
)
def test_webhooks_create_takes_events_before_or_after_the_url(
    simulator: Simulator, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert 0 == linq(simulator, "webhooks", "create", *argv)
    [subscription] = simulator.backend.subscriptions.values()
    assert ("http://127.0.0.1:8000/linq", ("message.received", "message.failed")) == (
        subscription.target_url,
        subscription.events,
    )


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--events", "message.received"], "url"),
        (["https://a.example/x", "--events", "message.received", "https://b.example/y"], "url"),
        (["https://a.example/x", "--events", ","], "--events"),
    ],
)
def test_webhooks_create_needs_exactly_one_url_and_an_event(
    simulator: Simulator, capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    assert 2 == linq(simulator, "webhooks", "create", *argv)
    assert (0, f"error: {field}: ") == (
        requests_made(simulator),
        capsys.readouterr().err[: len(f"error: {field}: ")],
    )


# -- errors as JSON ------------------------------------------------------------------------------


def test_json_errors_carry_status_code_and_trace_id_on_stderr(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 1 == linq(simulator, "messages", "--chat-id", "no-such-chat", "--json")
    captured = capsys.readouterr()
    error = json.loads(captured.err)["error"]
    assert ("", "refused", 404) == (captured.out, error["kind"], error["status"])
    assert isinstance(error["code"], int)
    assert error["trace_id"]


def test_json_validation_errors_name_the_field(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == linq(simulator, "create", "--to", "555-0101", "--body", "Hi", "--json")
    error = json.loads(capsys.readouterr().err)["error"]
    assert ("validation", "to[0]", None, None) == (
        error["kind"],
        error["field"],
        error["code"],
        error["trace_id"],
    )


def test_json_usage_errors_are_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["linq", "react", "--message-id", "m-1", "--type", "hug", "--json"])
    error = json.loads(capsys.readouterr().err)["error"]
    assert (2, "usage") == (exit_info.value.code, error["kind"])
    assert "--type" in error["message"]


def test_without_json_usage_errors_stay_argparse_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["linq", "react", "--message-id", "m-1", "--type", "hug"])
    assert capsys.readouterr().err.startswith("usage: caresupport-transport linq react")


# -- help ----------------------------------------------------------------------------------


def linq_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """Every parser under ``linq``, with its command line."""

    def walk(
        name: str, parser: argparse.ArgumentParser
    ) -> list[tuple[str, argparse.ArgumentParser]]:
        found = [(name, parser)]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    found.extend(walk(f"{name} {sub_name}", sub))
        return found

    top = build_parser()
    [commands] = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return walk("linq", commands.choices["linq"])


def test_help_describes_every_option_of_every_linq_command() -> None:
    parsers = linq_parsers()
    undescribed = [
        f"{name} {action.dest}"
        for name, parser in parsers
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)
        and not action.help
    ]
    assert len(parsers) > 25
    assert [] == undescribed


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["chats"], "(default: 50)"),
        (["messages"], "(default: 20)"),
        (["edit"], "(default: 0)"),
    ],
)
def test_help_shows_the_defaults(
    argv: list[str], shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["linq", *argv, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert shown in out
    assert "(default: None)" not in out
    assert "(default: False)" not in out


# -- 0.65 read commands: available number, reputation, locations ---------------------------------


def test_available_number_prints_the_suggested_line(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == linq(simulator, "available-number", "--to", GRANDMA, "--type", "imessage")
    assert [simulator.phone] == capsys.readouterr().out.splitlines()
    assert 1 == linq(simulator, "available-number", "--exclude-from", simulator.phone)
    assert "status: 400" in capsys.readouterr().err


async def start_audit(simulator: Simulator) -> str:
    """Start an audit through the API (the CLI only reads them)."""
    async with simulator.client() as api:
        started = await api.post(f"/v3/phone_numbers/{simulator.phone}/reputation_audit")
    audit_id: str = started.json()["audit_id"]
    return audit_id


def test_reputation_lists_lines_then_reads_an_audit(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 0 == linq(simulator, "reputation")
    assert [f"{simulator.phone}  HEALTHY  (iMessage)"] == capsys.readouterr().out.splitlines()
    audit_id = asyncio.run(start_audit(simulator))
    assert 0 == linq(simulator, "reputation", "--audit-id", audit_id)
    assert f"audit {audit_id}: pending" == capsys.readouterr().out.splitlines()[0]


def test_locations_prints_where_sharers_are(
    simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    chat_id, _ = start_chat(simulator, capsys, GRANDMA)
    assert 0 == linq(simulator, "locations", "--chat-id", chat_id)
    empty = capsys.readouterr().out.splitlines()
    simulator.share_location(GRANDMA, 44.95, -93.09, locality="Saint Paul")
    assert 0 == linq(simulator, "locations", "--chat-id", chat_id)
    assert ["(nobody shares a location in this chat)"] == empty
    assert capsys.readouterr().out.startswith(f"{GRANDMA}  44.95000, -93.09000  Saint Paul")
