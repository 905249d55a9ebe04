"""Conversation resolution: finding the 1:1 chat with someone, and pending conversations."""

from __future__ import annotations

import pytest

from adapters.linq import LinqTransport
from caresupport_transport import (
    DegradationAction,
    Effect,
    Feature,
    Handle,
    MediaPart,
    OutgoingMessage,
    ValidationError,
    VoiceMemo,
)

from .support import (
    CHAT_ID,
    GRANDMA,
    LINE,
    SON,
    RoutedLinq,
    body_of,
    group_json,
    one_to_one_json,
    query_of,
    reply,
    sent_json,
    sent_message_json,
)

PENDING = f"pending:{GRANDMA}"
NEIGHBOUR = "+16515550109"
BY_HANDLE = {
    "chat_id": CHAT_ID,
    "created_new_chat": True,
    "from": LINE,
    "message": sent_message_json(),
    "is_group": False,
    "service": "iMessage",
}


def no_chats(linq: RoutedLinq) -> None:
    linq.on_json("GET", "/v3/chats", body={"chats": [], "next_cursor": None})


async def test_conversation_for_finds_the_one_to_one_chat_on_any_page(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on(
        "GET",
        "/v3/chats",
        reply(
            200,
            {"chats": [group_json("group-1", [GRANDMA, SON, "+16515550109"])], "next_cursor": "p2"},
        ),
        reply(200, {"chats": [one_to_one_json(CHAT_ID, GRANDMA)], "next_cursor": None}),
    )
    conversation = await transport.conversation_for(Handle(GRANDMA))
    assert (CHAT_ID, (Handle(GRANDMA),), False) == (
        conversation.id,
        conversation.participants,
        conversation.is_group,
    )
    first, second = linq.sent("GET", "/v3/chats")
    assert [("from", LINE), ("to", GRANDMA), ("limit", "100")] == query_of(first)
    assert ("cursor", "p2") in query_of(second)


async def test_conversation_for_someone_new_is_pending_and_sends_nothing(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    no_chats(linq)
    conversation = await transport.conversation_for(Handle(GRANDMA))
    history = [m async for m in transport.messages(conversation.id)]
    assert (PENDING, (Handle(GRANDMA),), []) == (
        conversation.id,
        conversation.participants,
        history,
    )
    assert {"GET"} == {r.method for r in linq.requests}


async def test_the_first_send_to_a_pending_conversation_opens_the_chat(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    no_chats(linq)
    linq.capable(GRANDMA, imessage=True)
    linq.on_json("POST", "/v3/messages", 202, BY_HANDLE)
    receipt = await transport.send_message(
        PENDING, OutgoingMessage.of_text("Hello"), idempotency_key="hello"
    )
    [request] = linq.sent("POST", "/v3/messages")
    body = body_of(request)
    assert ([GRANDMA], LINE, "hello") == (
        body["to"],
        body["from"],
        request.headers["Idempotency-Key"],
    )
    assert CHAT_ID == receipt.conversation_id


async def test_a_pending_conversation_remembers_its_chat_once_opened(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    no_chats(linq)
    linq.capable(GRANDMA, imessage=True)
    linq.on_json("POST", "/v3/messages", 202, BY_HANDLE)
    linq.on_json("GET", f"/v3/chats/{CHAT_ID}", body=one_to_one_json(CHAT_ID, GRANDMA))
    linq.on_json("POST", f"/v3/chats/{CHAT_ID}/messages", 202, sent_json())
    await transport.send_message(PENDING, OutgoingMessage.of_text("Hello"))
    listed = len(linq.sent("GET", "/v3/chats"))
    await transport.send_message(PENDING, OutgoingMessage.of_text("Again"))
    assert (listed, 1, 1) == (
        len(linq.sent("GET", "/v3/chats")),
        len(linq.sent("POST", "/v3/messages")),
        len(linq.sent("POST", f"/v3/chats/{CHAT_ID}/messages")),
    )


async def test_a_pending_conversation_uses_a_chat_that_appeared_meanwhile(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", "/v3/chats", body={"chats": [one_to_one_json(CHAT_ID, GRANDMA)]})
    linq.capable(GRANDMA, imessage=True)
    linq.on_json("POST", f"/v3/chats/{CHAT_ID}/messages", 202, sent_json())
    receipt = await transport.send_message(PENDING, OutgoingMessage.of_text("Hello"))
    assert (CHAT_ID, []) == (receipt.conversation_id, linq.sent("POST", "/v3/messages"))


async def test_a_link_in_the_first_message_to_someone_new_is_refused(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    no_chats(linq)
    with pytest.raises(ValidationError) as info:
        await transport.send_message(PENDING, OutgoingMessage.of_text("See https://care.example"))
    assert "message.parts" == info.value.field
    assert [] == linq.sent("POST", "/v3/messages")


async def test_an_effect_on_the_first_message_to_someone_new_is_dropped_and_reported(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    no_chats(linq)
    linq.capable(GRANDMA, imessage=True)
    linq.on_json("POST", "/v3/messages", 202, BY_HANDLE)
    message = OutgoingMessage.of_text("Welcome!", effect=Effect.screen("balloons"))
    receipt = await transport.send_message(PENDING, message)
    [body] = linq.bodies("POST", "/v3/messages")
    assert "effect" not in body["message"]
    assert [(Feature.EFFECT, DegradationAction.DROPPED)] == [
        (d.feature, d.action) for d in receipt.degradations
    ]


async def test_typing_in_a_pending_conversation_is_skipped_and_reported(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    no_chats(linq)
    result = await transport.start_typing(PENDING)
    assert (False, [(Feature.TYPING, DegradationAction.SKIPPED)]) == (
        result.performed,
        [(d.feature, d.action) for d in result.degradations],
    )


async def test_a_voice_memo_cannot_open_a_chat(linq: RoutedLinq, transport: LinqTransport) -> None:
    no_chats(linq)
    memo = VoiceMemo(MediaPart(url="https://files.example.org/hi.m4a", content_type="audio/m4a"))
    with pytest.raises(ValidationError) as info:
        await transport.send_voice_memo(PENDING, memo)
    assert "conversation_id" == info.value.field


async def test_a_pending_id_that_names_no_handle_is_refused(transport: LinqTransport) -> None:
    with pytest.raises(ValidationError) as info:
        await transport.get_conversation("pending:not-a-number")
    assert "conversation_id" == info.value.field
