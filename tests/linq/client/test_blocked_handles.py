"""The blocklist (``/v3/blocked_handles``), ``override_optout`` and chat ``health_status``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.linq import LinqClient, codes
from adapters.linq.wire_blocked import BlockedHandle
from caresupport_transport import Handle, OutgoingMessage, VoiceMemo
from caresupport_transport.content import MediaPart
from caresupport_transport.errors import ProviderError, ValidationError

from .support import (
    CHAT_ID,
    WHEN,
    FakeLinq,
    body_of,
    chat_json,
    error_json,
    path_of,
    sent_message_json,
)

SON = "+16515550103"
AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def test_list_blocked_handles_reads_the_list_newest_first(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(
        200,
        {
            "blocked_handles": [
                {"handle": SON, "blocked_at": WHEN, "reason": "spam"},
                {"handle": "mum@example.org", "blocked_at": "2026-02-01T09:00:00Z"},
            ]
        },
    )
    found = await client.list_blocked_handles()
    assert ("GET", "/v3/blocked_handles") == (linq.last.method, path_of(linq.last))
    assert (
        BlockedHandle(SON, AT, "spam"),
        BlockedHandle("mum@example.org", datetime(2026, 2, 1, 9, tzinfo=UTC)),
    ) == found


async def test_block_handle_posts_the_handle_and_reason_and_reads_the_entry(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, {"blocked_handle": {"handle": SON, "blocked_at": WHEN, "reason": "spam"}})
    entry = await client.block_handle(Handle(SON), reason="spam")
    assert ("POST", {"handle": SON, "reason": "spam"}) == (linq.last.method, body_of(linq.last))
    assert BlockedHandle(SON, AT, "spam") == entry


async def test_block_handle_leaves_out_a_reason_not_given(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, {"blocked_handle": {"handle": SON, "blocked_at": WHEN}})
    await client.block_handle(SON)
    assert {"handle": SON} == body_of(linq.last)


async def test_unblock_handle_sends_delete_with_a_json_body(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(204)
    await client.unblock_handle(SON)
    assert ("DELETE", "/v3/blocked_handles", {"handle": SON}) == (
        linq.last.method,
        path_of(linq.last),
        body_of(linq.last),
    )


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
async def test_a_bad_reason_or_handle_is_refused_before_any_request(
    client: LinqClient, linq: FakeLinq, reason: str
) -> None:
    with pytest.raises(ValidationError) as bad:
        await client.block_handle(SON, reason=reason)
    with pytest.raises(ValidationError):
        await client.unblock_handle("not a handle")
    assert ("reason", []) == (bad.value.field, linq.requests)


async def test_override_optout_is_a_top_level_body_field_of_every_send(
    client: LinqClient, linq: FakeLinq
) -> None:
    hello = OutgoingMessage.of_text("Goodbye for now")
    linq.answer(201, {"chat": {**chat_json(), "message": sent_message_json()}})
    await client.create_chat([SON], hello, override_optout=True)
    linq.answer(202, {"chat_id": CHAT_ID, "message": sent_message_json()})
    await client.send_message(CHAT_ID, hello, override_optout=True)
    linq.answer(202, {"chat_id": CHAT_ID, "message": sent_message_json()})
    await client.send_to_handles([SON], hello, override_optout=True)
    memo = VoiceMemo(MediaPart(url="https://example.org/memo.m4a"))
    linq.answer(403, error_json(403, codes.RECIPIENT_OPTED_OUT, "opted out"))
    with pytest.raises(ProviderError):
        await client.send_voice_memo(CHAT_ID, memo, override_optout=True)
    assert [True] * 4 == [body_of(r)["override_optout"] for r in linq.requests]


async def test_override_optout_is_left_out_unless_asked_for_and_must_be_a_bool(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(202, {"chat_id": CHAT_ID, "message": sent_message_json()})
    await client.send_message(CHAT_ID, OutgoingMessage.of_text("hi"))
    assert "override_optout" not in body_of(linq.last)
    with pytest.raises(ValidationError):
        await client.send_message(
            CHAT_ID,
            OutgoingMessage.of_text("hi"),
            override_optout="yes",  # type: ignore[arg-type]
        )


async def test_a_chat_reads_its_health_status(client: LinqClient, linq: FakeLinq) -> None:
    health = {"status": "AT_RISK", "doc_url": "https://docs.example/health", "updated_at": WHEN}
    linq.answer(200, chat_json(health_status=health))
    chat = await client.get_chat(CHAT_ID)
    assert chat.health_status is not None
    assert ("AT_RISK", AT) == (chat.health_status.status, chat.health_status.updated_at)
