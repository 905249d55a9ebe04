"""Content validates itself: every bad input is a ValidationError naming the field and rule."""

from __future__ import annotations

import attrs
import pytest

from caresupport_transport import (
    Effect,
    EffectKind,
    InvalidHandleError,
    MediaPart,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    ReplyTo,
    TextPart,
    ValidationError,
    VoiceMemo,
)
from caresupport_transport.content import BUBBLE_EFFECTS, SCREEN_EFFECTS
from caresupport_transport.handles import Handle
from caresupport_transport.limits import MB

PHOTO = MediaPart(url="https://example.org/photo.jpg", content_type="image/jpeg")


def test_bad_handle_names_the_handle_field_and_the_rule() -> None:
    with pytest.raises(ValidationError) as caught:
        Handle("651-703-7981")

    assert isinstance(caught.value, InvalidHandleError)
    assert "handle" == caught.value.field
    assert "E.164" in str(caught.value)


def test_a_message_without_parts_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        OutgoingMessage(())

    assert "parts" == caught.value.field
    assert "at least one part" in str(caught.value)


@pytest.mark.parametrize("blank", ["", " ", "\n\t "])
def test_blank_text_is_refused(blank: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TextPart(blank)

    assert "text" == caught.value.field
    assert "must not be empty" in str(caught.value)


def test_two_text_parts_in_a_row_are_refused_naming_the_second() -> None:
    with pytest.raises(ValidationError) as caught:
        OutgoingMessage((PHOTO, TextPart("Hello"), TextPart("again")))

    assert "parts[2]" == caught.value.field
    assert "two text parts in a row" in str(caught.value)


def test_text_parts_separated_by_media_are_accepted() -> None:
    message = OutgoingMessage((TextPart("Before"), PHOTO, TextPart("After")))

    assert "Before\n\nAfter" == message.text


def test_more_than_100_parts_are_refused() -> None:
    parts = [MediaPart(attachment_id=f"att-{i}") for i in range(101)]
    with pytest.raises(ValidationError) as caught:
        OutgoingMessage(parts)

    assert "parts" == caught.value.field
    assert "has 101 parts; at most 100" in str(caught.value)


def test_exactly_100_parts_are_accepted() -> None:
    parts = [MediaPart(attachment_id=f"att-{i}") for i in range(100)]

    assert 100 == len(OutgoingMessage(parts).parts)


def test_text_over_10000_characters_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        TextPart("x" * 10_001)

    assert "text" == caught.value.field
    assert "has 10001 characters; at most 10000" in str(caught.value)


def test_text_of_exactly_10000_characters_is_accepted() -> None:
    assert 10_000 == len(TextPart("x" * 10_000).text)


def test_an_unknown_screen_effect_is_refused_listing_the_known_names() -> None:
    with pytest.raises(ValidationError) as caught:
        Effect.screen("slam")

    assert "effect.name" == caught.value.field
    assert "'slam' is not a screen effect" in str(caught.value)
    assert "confetti" in str(caught.value)


def test_an_unknown_bubble_effect_is_refused_listing_the_known_names() -> None:
    with pytest.raises(ValidationError) as caught:
        Effect.bubble("confetti")

    assert "effect.name" == caught.value.field
    assert "'confetti' is not a bubble effect" in str(caught.value)
    assert "gentle, invisible, loud, slam" in str(caught.value)


@pytest.mark.parametrize("name", sorted(SCREEN_EFFECTS))
def test_every_documented_screen_effect_is_accepted(name: str) -> None:
    assert EffectKind.SCREEN is Effect.screen(name).kind


@pytest.mark.parametrize("name", sorted(BUBBLE_EFFECTS))
def test_every_documented_bubble_effect_is_accepted(name: str) -> None:
    assert EffectKind.BUBBLE is Effect.bubble(name).kind


@pytest.mark.parametrize("emoji", [None, "", "  "])
def test_a_custom_reaction_without_an_emoji_is_refused(emoji: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        Reaction(ReactionKind.CUSTOM, emoji)

    assert "reaction.emoji" == caught.value.field
    assert "a custom reaction needs an emoji" in str(caught.value)


def test_an_emoji_on_a_non_custom_reaction_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Reaction(ReactionKind.LOVE, "❤️")

    assert "reaction.emoji" == caught.value.field
    assert "only a custom reaction takes an emoji, not love" in str(caught.value)


def test_a_sticker_reaction_can_be_received_but_not_sent() -> None:
    sticker = Reaction(ReactionKind.STICKER)
    with pytest.raises(ValidationError) as caught:
        sticker.check_sendable()

    assert "reaction.kind" == caught.value.field
    assert "cannot be sent" in str(caught.value)


def test_media_by_url_over_10_mb_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        MediaPart(url="https://example.org/scan.pdf", size_bytes=10 * MB + 1)

    assert "media.size_bytes" == caught.value.field
    assert "over the 10 MB limit for media sent by URL" in str(caught.value)


def test_media_by_url_of_exactly_10_mb_is_accepted() -> None:
    assert 10 * MB == MediaPart(url="https://example.org/a.pdf", size_bytes=10 * MB).size_bytes


def test_an_uploaded_attachment_over_100_mb_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        MediaPart(attachment_id="att-1", size_bytes=100 * MB + 1)

    assert "media.size_bytes" == caught.value.field
    assert "over the 100 MB limit for media sent as an uploaded attachment" in str(caught.value)


def test_an_uploaded_attachment_between_10_and_100_mb_is_accepted() -> None:
    assert 50 * MB == MediaPart(attachment_id="att-1", size_bytes=50 * MB).size_bytes


def test_a_negative_media_size_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        MediaPart(attachment_id="att-1", size_bytes=-1)

    assert "media.size_bytes" == caught.value.field
    assert "must not be negative" in str(caught.value)


@pytest.mark.parametrize(
    ("content_type", "base"),
    [
        ("image/webp", "image/webp"),
        ("image/svg+xml", "image/svg+xml"),
        ("audio/flac", "audio/flac"),
        ("audio/ogg", "audio/ogg"),
        ("video/ogg", "video/ogg"),
        ("Audio/OGG; codecs=opus", "audio/ogg"),
    ],
)
def test_an_unsupported_content_type_is_refused(content_type: str, base: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MediaPart(url="https://example.org/file", content_type=content_type)

    assert "media.content_type" == caught.value.field
    assert f"{base} is not supported" in str(caught.value)
    assert "WebP, SVG, FLAC and OGG are rejected" in str(caught.value)


def test_a_content_type_that_is_not_a_mime_type_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        MediaPart(url="https://example.org/file", content_type="jpeg")

    assert "media.content_type" == caught.value.field
    assert "is not a MIME type" in str(caught.value)


def test_media_with_both_url_and_attachment_id_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        MediaPart(url="https://example.org/a.png", attachment_id="att-1")

    assert "media" == caught.value.field
    assert "exactly one of url and attachment_id" in str(caught.value)


def test_media_with_neither_url_nor_attachment_id_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        MediaPart(content_type="image/png")

    assert "media" == caught.value.field
    assert "exactly one of url and attachment_id" in str(caught.value)


def test_media_with_a_non_http_url_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        MediaPart(url="file:///etc/passwd")

    assert "media.url" == caught.value.field
    assert "is not an http(s) URL" in str(caught.value)


def test_media_with_a_blank_attachment_id_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        MediaPart(attachment_id=" ")

    assert "media.attachment_id" == caught.value.field
    assert "must not be empty" in str(caught.value)


def test_a_voice_memo_in_a_non_audio_format_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        VoiceMemo(MediaPart(url="https://example.org/memo.png", content_type="image/png"))

    assert "voice_memo.content_type" == caught.value.field
    assert "image/png is not a voice memo format" in str(caught.value)


def test_a_voice_memo_over_10_mb_is_refused() -> None:
    audio = MediaPart(attachment_id="att-1", content_type="audio/mp4", size_bytes=10 * MB + 1)
    with pytest.raises(ValidationError) as caught:
        VoiceMemo(audio)

    assert "voice_memo.size_bytes" == caught.value.field
    assert "over the 10 MB voice memo limit" in str(caught.value)


@pytest.mark.parametrize(
    "content_type", ["audio/mpeg", "audio/x-m4a", "audio/aac", "audio/x-caf", "audio/amr", None]
)
def test_a_voice_memo_in_a_documented_format_is_accepted(content_type: str | None) -> None:
    audio = MediaPart(url="https://example.org/memo", content_type=content_type)

    assert audio == VoiceMemo(audio).audio


def test_more_than_40_media_parts_by_url_are_refused() -> None:
    parts = [MediaPart(url=f"https://example.org/{i}.jpg") for i in range(41)]
    with pytest.raises(ValidationError) as caught:
        OutgoingMessage(parts)

    assert "parts" == caught.value.field
    assert "has 41 media parts by URL; at most 40" in str(caught.value)


def test_40_media_by_url_plus_uploaded_attachments_are_accepted() -> None:
    by_url = [MediaPart(url=f"https://example.org/{i}.jpg") for i in range(40)]
    uploaded = [MediaPart(attachment_id=f"att-{i}") for i in range(10)]

    assert 50 == len(OutgoingMessage(by_url + uploaded).parts)


def test_a_part_that_is_neither_text_nor_media_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        OutgoingMessage(["just a string"])  # type: ignore[list-item]

    assert "parts[0]" == caught.value.field
    assert "must be a TextPart, a MediaPart or a LinkPart" in str(caught.value)


def test_a_reply_to_an_empty_message_id_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        ReplyTo("")

    assert "reply_to.message_id" == caught.value.field


def test_a_reply_to_a_negative_part_index_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        ReplyTo("msg-1", -1)

    assert "reply_to.part_index" == caught.value.field
    assert "must not be negative" in str(caught.value)


def test_a_validation_error_is_a_value_error_reading_field_colon_rule() -> None:
    error = ValidationError("to", "at most 31 recipients")

    assert isinstance(error, ValueError)
    assert "to: at most 31 recipients" == str(error)


def test_has_url_sees_media_by_url_and_links_in_text() -> None:
    assert OutgoingMessage((PHOTO,)).has_url
    assert OutgoingMessage.of_text("see https://example.org").has_url
    assert not OutgoingMessage.of_text("see you at 3").has_url
    assert not OutgoingMessage((MediaPart(attachment_id="att-1"),)).has_url


def test_of_text_carries_the_effect_and_the_reply() -> None:
    message = OutgoingMessage.of_text(
        "Happy birthday!", effect=Effect.screen("balloons"), reply_to=ReplyTo("msg-1", 0)
    )

    assert (TextPart("Happy birthday!"),) == message.parts
    assert Effect.screen("balloons") == message.effect
    assert ReplyTo("msg-1") == message.reply_to


def test_received_media_keeps_what_the_sender_reported_and_compares_by_content() -> None:
    received = MediaPart(
        url="https://cdn.example.org/x.webp",
        content_type="image/webp",
        size_bytes=50 * 1024 * 1024,
        received=True,
    )
    same = MediaPart(url="https://cdn.example.org/x.webp")

    assert ("image/webp", 50 * 1024 * 1024) == (received.content_type, received.size_bytes)
    assert attrs.evolve(received, content_type=None, size_bytes=None) == same
    with pytest.raises(ValidationError) as caught:
        OutgoingMessage((received,))
    assert "parts[0].content_type" == caught.value.field


def test_received_media_still_needs_exactly_one_of_url_and_attachment_id() -> None:
    with pytest.raises(ValidationError) as caught:
        MediaPart(received=True)
    assert "media" == caught.value.field
