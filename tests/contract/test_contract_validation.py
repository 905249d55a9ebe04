"""Contract: every bad input is refused before anything changes, naming field and rule."""

from __future__ import annotations

from typing import Any

import pytest

from caresupport_transport import (
    Effect,
    EffectKind,
    Handle,
    InvalidHandleError,
    MediaPart,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    ReplyTo,
    TextPart,
    Transport,
    ValidationError,
)

from .support import CAREGIVER, HELLO, collect_conversations, history, start


async def assert_nothing_started(transport: Transport) -> None:
    assert await collect_conversations(transport) == []


def test_a_bad_handle_is_refused_naming_the_rule() -> None:
    with pytest.raises(InvalidHandleError) as info:
        Handle("651-555-0101")
    assert "E.164" in info.value.rule


async def test_a_bad_handle_string_is_refused_by_the_transport(transport: Transport) -> None:
    raw: Any = "not a number"
    with pytest.raises(InvalidHandleError) as info:
        await transport.start_conversation([CAREGIVER, raw], HELLO)
    assert info.value.field == "participants[1]"
    await assert_nothing_started(transport)


def test_an_empty_message_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        OutgoingMessage.of_text("   ")
    assert info.value.field == "text"
    with pytest.raises(ValidationError) as no_parts:
        OutgoingMessage(())
    assert no_parts.value.field == "parts"


def test_two_text_parts_in_a_row_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        OutgoingMessage((TextPart("Hello"), TextPart("again")))
    assert (info.value.field, "in a row" in info.value.rule) == ("parts[1]", True)


async def test_more_than_31_recipients_are_refused(transport: Transport) -> None:
    crowd = [Handle(f"+165155509{n:02d}") for n in range(32)]
    with pytest.raises(ValidationError) as info:
        await transport.start_conversation(crowd, HELLO)
    assert (info.value.field, "31" in info.value.rule) == ("participants", True)
    await assert_nothing_started(transport)


async def test_no_recipients_are_refused(transport: Transport) -> None:
    with pytest.raises(ValidationError) as info:
        await transport.start_conversation([], HELLO)
    assert info.value.field == "participants"


def test_an_unknown_effect_name_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Effect(EffectKind.SCREEN, "glitter")
    assert (info.value.field, "confetti" in info.value.rule) == ("effect.name", True)


async def test_an_effect_in_a_new_chats_first_message_is_refused(transport: Transport) -> None:
    first = OutgoingMessage.of_text("Welcome!", effect=Effect.screen("balloons"))
    with pytest.raises(ValidationError) as info:
        await transport.start_conversation([CAREGIVER], first)
    assert info.value.field == "first_message.effect"
    await assert_nothing_started(transport)


async def test_a_url_in_a_new_chats_first_message_is_refused(transport: Transport) -> None:
    first = OutgoingMessage.of_text("See https://care.example.org/plan")
    with pytest.raises(ValidationError) as info:
        await transport.start_conversation([CAREGIVER], first)
    assert info.value.field == "first_message.parts"
    await assert_nothing_started(transport)


async def test_a_reply_as_a_new_chats_first_message_is_refused(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    earlier = (await history(transport, conversation.id))[0]
    first = OutgoingMessage.of_text("Re:", reply_to=ReplyTo(earlier.id))
    with pytest.raises(ValidationError) as info:
        await transport.start_conversation([CAREGIVER], first)
    assert info.value.field == "first_message.reply_to"


def test_a_custom_reaction_without_an_emoji_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Reaction(ReactionKind.CUSTOM)
    assert info.value.field == "reaction.emoji"


async def test_a_sticker_reaction_cannot_be_sent(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    message_id = (await history(transport, conversation.id))[0].id
    with pytest.raises(ValidationError) as info:
        await transport.react(message_id, Reaction(ReactionKind.STICKER))
    assert info.value.field == "reaction.kind"


def test_media_over_the_size_limit_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        MediaPart(url="https://files.example.org/scan.pdf", size_bytes=11 * 1024 * 1024)
    assert (info.value.field, "10 MB" in info.value.rule) == ("media.size_bytes", True)


@pytest.mark.parametrize("content_type", ["image/webp", "image/svg+xml", "audio/flac", "audio/ogg"])
def test_an_unsupported_media_type_is_refused(content_type: str) -> None:
    with pytest.raises(ValidationError) as info:
        MediaPart(url="https://files.example.org/file", content_type=content_type)
    assert info.value.field == "media.content_type"


async def test_an_unsupported_upload_type_is_refused(transport: Transport) -> None:
    with pytest.raises(ValidationError) as info:
        await transport.upload_attachment(b"RIFF", filename="photo.webp", content_type="image/webp")
    assert info.value.field == "content_type"


async def test_an_empty_upload_is_refused(transport: Transport) -> None:
    with pytest.raises(ValidationError) as info:
        await transport.upload_attachment(b"", filename="empty.png", content_type="image/png")
    assert info.value.field == "data"


async def test_an_overlong_idempotency_key_is_refused(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    with pytest.raises(ValidationError) as info:
        await transport.send_message(conversation.id, HELLO, idempotency_key="k" * 256)
    assert info.value.field == "idempotency_key"
    assert len(await history(transport, conversation.id)) == 1


async def test_a_reaction_on_a_missing_part_is_refused(transport: Transport) -> None:
    conversation = await start(transport, CAREGIVER)
    message_id = (await history(transport, conversation.id))[0].id
    with pytest.raises(ValidationError) as info:
        await transport.react(message_id, Reaction(ReactionKind.LIKE), part_index=5)
    assert info.value.field == "part_index"
