"""Reactions, typing, read receipts, contact cards, voice memos and group members."""

from __future__ import annotations

import pytest

from adapters.linq import LinqTransport
from caresupport_transport import (
    Degradation,
    DegradationAction,
    Feature,
    Handle,
    MediaPart,
    NotFoundError,
    ProviderError,
    Reaction,
    ReactionKind,
    ValidationError,
    VoiceMemo,
)

from .support import (
    CHAT_ID,
    GRANDMA,
    MESSAGE_ID,
    NURSE,
    SON,
    RoutedLinq,
    group_json,
    message_json,
    one_to_one_json,
    reply,
    sent_json,
)

CHAT = f"/v3/chats/{CHAT_ID}"
LOVE = Reaction(ReactionKind.LOVE)
MEMO = VoiceMemo(MediaPart(url="https://files.example.org/goodnight.m4a", content_type="audio/m4a"))
AUNT = "+16515550107"


def skipped(degradations: tuple[Degradation, ...]) -> list[tuple[Feature, DegradationAction]]:
    return [(d.feature, d.action) for d in degradations]


async def test_typing_in_a_one_to_one_imessage_chat_is_shown_and_hidden(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=one_to_one_json(CHAT_ID, GRANDMA))
    linq.on("POST", f"{CHAT}/typing", reply(204))
    linq.on("DELETE", f"{CHAT}/typing", reply(204))
    started = await transport.start_typing(CHAT_ID)
    stopped = await transport.stop_typing(CHAT_ID)
    assert (True, True) == (started.performed, stopped.performed)
    assert ["POST", "DELETE"] == [r.method for r in linq.requests if r.url.path.endswith("/typing")]


async def test_typing_in_a_group_is_skipped_and_reported_without_a_request(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=group_json(CHAT_ID, [GRANDMA, NURSE, SON]))
    result = await transport.start_typing(CHAT_ID)
    assert (False, [(Feature.TYPING, DegradationAction.SKIPPED)]) == (
        result.performed,
        skipped(result.degradations),
    )
    assert "group" in str(result.degradations[0])
    assert [] == linq.sent("POST", f"{CHAT}/typing")


async def test_a_read_receipt_on_sms_is_skipped_and_reported(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=one_to_one_json(CHAT_ID, SON, service="SMS"))
    result = await transport.mark_read(CHAT_ID)
    assert (False, [(Feature.READ_RECEIPT, DegradationAction.SKIPPED)]) == (
        result.performed,
        skipped(result.degradations),
    )
    assert [] == linq.sent("POST", f"{CHAT}/read")


async def test_a_read_receipt_on_imessage_is_sent(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=one_to_one_json(CHAT_ID, GRANDMA))
    linq.on("POST", f"{CHAT}/read", reply(204))
    assert (await transport.mark_read(CHAT_ID)).performed
    assert 1 == len(linq.sent("POST", f"{CHAT}/read"))


async def test_the_contact_card_is_shared_on_imessage(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=one_to_one_json(CHAT_ID, GRANDMA))
    linq.on("POST", f"{CHAT}/share_contact_card", reply(204))
    assert (await transport.share_contact_card(CHAT_ID)).performed
    assert 1 == len(linq.sent("POST", f"{CHAT}/share_contact_card"))


async def test_a_voice_memo_to_imessage_goes_as_a_voice_memo(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=one_to_one_json(CHAT_ID, GRANDMA))
    linq.capable(GRANDMA, imessage=True)
    chat = one_to_one_json(CHAT_ID, GRANDMA)
    linq.on_json(
        "POST",
        f"{CHAT}/voicememo",
        202,
        {
            "voice_memo": {
                "id": "memo-1",
                "to": [GRANDMA],
                "status": "queued",
                "service": "iMessage",
                "created_at": "2026-03-01T12:00:00Z",
                "voice_memo": {
                    "id": "file-1",
                    "url": "https://cdn.example/goodnight.m4a",
                    "filename": "goodnight.m4a",
                    "mime_type": "audio/x-m4a",
                    "size_bytes": 1234,
                },
                "chat": {"id": CHAT_ID, "handles": chat["handles"], "is_group": False},
            }
        },
    )
    receipt = await transport.send_voice_memo(CHAT_ID, MEMO, idempotency_key="memo")
    [body] = linq.bodies("POST", f"{CHAT}/voicememo")
    assert "https://files.example.org/goodnight.m4a" == body["voice_memo_url"]
    assert (("memo-1",), (), "memo") == (
        receipt.message_ids,
        receipt.degradations,
        receipt.idempotency_key,
    )


async def test_a_voice_memo_to_sms_goes_as_media_and_is_reported(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=one_to_one_json(CHAT_ID, SON))
    linq.capable(SON, imessage=False)
    linq.on_json("POST", f"{CHAT}/messages", 202, sent_json(service="SMS"))
    receipt = await transport.send_voice_memo(CHAT_ID, MEMO)
    [body] = linq.bodies("POST", f"{CHAT}/messages")
    assert [{"type": "media", "url": "https://files.example.org/goodnight.m4a"}] == body["message"][
        "parts"
    ]
    assert [(Feature.VOICE_MEMO, DegradationAction.CONVERTED)] == skipped(receipt.degradations)
    assert [] == linq.sent("POST", f"{CHAT}/voicememo")


async def test_a_tapback_on_imessage_is_a_reaction(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", f"/v3/messages/{MESSAGE_ID}", body=message_json())
    linq.on_json("POST", f"/v3/messages/{MESSAGE_ID}/reactions", 202, {"status": "accepted"})
    result = await transport.react(MESSAGE_ID, LOVE)
    assert (True, ()) == (result.performed, result.degradations)
    assert [{"operation": "add", "type": "love", "part_index": 0}] == linq.bodies(
        "POST", f"/v3/messages/{MESSAGE_ID}/reactions"
    )


async def test_a_tapback_on_sms_becomes_text_quoting_the_message_under_a_stable_key(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", f"/v3/messages/{MESSAGE_ID}", body=message_json(service="SMS"))
    linq.on_json("POST", f"{CHAT}/messages", 202, sent_json(message_id="text-1", service="SMS"))
    first = await transport.react(MESSAGE_ID, LOVE)
    again = await transport.react(MESSAGE_ID, LOVE)
    one, two = linq.bodies("POST", f"{CHAT}/messages")
    assert [{"type": "text", "value": 'Loved "Is the 2pm pill with food?"'}] == one["message"][
        "parts"
    ]
    assert ("SMS", one["message"]["idempotency_key"]) == (
        one["message"]["preferred_service"],
        two["message"]["idempotency_key"],
    )
    assert ("text-1", [(Feature.TAPBACK, DegradationAction.CONVERTED)]) == (
        first.message_id,
        skipped(again.degradations),
    )
    assert [] == linq.sent("POST", f"/v3/messages/{MESSAGE_ID}/reactions")


async def test_a_reaction_on_a_missing_part_is_refused(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", f"/v3/messages/{MESSAGE_ID}", body=message_json())
    with pytest.raises(ValidationError) as info:
        await transport.react(MESSAGE_ID, LOVE, part_index=3)
    assert "part_index" == info.value.field


async def test_adding_to_a_group_of_two_is_refused_without_a_request(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=group_json(CHAT_ID, [GRANDMA, NURSE]))
    with pytest.raises(ValidationError) as info:
        await transport.add_participant(CHAT_ID, Handle(AUNT))
    assert "conversation_id" == info.value.field
    assert [] == linq.sent("POST", f"{CHAT}/participants")


async def test_adding_to_a_group_of_three_asks_linq_and_returns_the_bigger_group(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=group_json(CHAT_ID, [GRANDMA, NURSE, SON]))
    linq.capable(AUNT, imessage=True)
    linq.on_json("POST", f"{CHAT}/participants", 202, {"status": "accepted"})
    grown = await transport.add_participant(CHAT_ID, Handle(AUNT))
    assert [{"handle": AUNT}] == linq.bodies("POST", f"{CHAT}/participants")
    assert {GRANDMA, NURSE, SON, AUNT} == {h.value for h in grown.participants}


async def test_adding_someone_who_cannot_use_the_groups_service_is_refused(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=group_json(CHAT_ID, [GRANDMA, NURSE, SON]))
    linq.capable(AUNT, imessage=False)
    with pytest.raises(ValidationError) as info:
        await transport.add_participant(CHAT_ID, Handle(AUNT))
    assert "handle" == info.value.field


async def test_removing_that_would_leave_two_is_refused_without_a_request(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=group_json(CHAT_ID, [GRANDMA, NURSE, SON]))
    with pytest.raises(ValidationError):
        await transport.remove_participant(CHAT_ID, Handle(SON))
    assert [] == linq.sent("DELETE", f"{CHAT}/participants")


async def test_a_403_2024_stays_a_provider_error_when_the_chat_cannot_be_read_after_it(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    refused = {"success": False, "error": {"status": 403, "code": 2024, "message": "opted out"}}
    linq.on_json("GET", f"/v3/messages/{MESSAGE_ID}", body=message_json(service="SMS"))
    linq.on_json("POST", f"{CHAT}/messages", 403, refused)
    linq.on_json("GET", CHAT, 404, {"success": False, "error": {"status": 404, "code": 1002}})

    with pytest.raises(ProviderError) as raised:
        await transport.react(MESSAGE_ID, LOVE)

    assert (ProviderError, 403, 2024, NotFoundError) == (
        type(raised.value),
        raised.value.status,
        raised.value.code,
        type(raised.value.__cause__),
    )
    assert 1 == len(linq.sent("GET", CHAT))
