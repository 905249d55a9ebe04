"""The shared input checks: each refusal names its field and rule, each boundary is where it says.

The transport runs these before any I/O (the contract suite proves that per
adapter); here each rule is pinned at its edges. Written for the changes that
the mutation script (``tools/mutate.py checks``) showed the suite did not notice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from caresupport_transport import (
    Conversation,
    DeliveryStatus,
    Direction,
    Effect,
    EffectKind,
    Handle,
    InvalidHandleError,
    MediaPart,
    Message,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    ReplyTo,
    Service,
    ServicePreference,
    TextPart,
    ValidationError,
    VoiceMemo,
    checks,
    limits,
)

OWNER = Handle("+16515550100")
MUM = Handle("+16515550101")
SON = Handle("+16515550102")
NURSE = Handle("+16515550103")
AUNT = Handle("+16515550104")
HELLO = OutgoingMessage.of_text("Hello")


def refused(check: Any, *args: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        check(*args)
    return caught.value


# --- ids ---------------------------------------------------------------------------


def test_an_id_is_returned_as_given() -> None:
    assert "6f1c0d1e-5b7a-4c1e-9d55" == checks.check_id("6f1c0d1e-5b7a-4c1e-9d55", "chat_id")
    assert "x" * checks.MAX_ID_CHARS == checks.check_id("x" * checks.MAX_ID_CHARS, "chat_id")


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (None, "must be a non-empty string, not NoneType"),
        (42, "must be a non-empty string, not int"),
        ("", "must be a non-empty string"),
        ("x" * 201, "has 201 characters; an id has at most 200"),
    ],
)
def test_an_id_that_is_missing_or_too_long_is_refused(value: object, rule: str) -> None:
    error = refused(checks.check_id, value, "message_id")
    assert ("message_id", rule) == (error.field, error.rule)


@pytest.mark.parametrize(
    "value",
    ["a b", "a/b", "a?b", "a#b", "a%2Fb", "a\\b", "a\x00b", "a\x1fb", "a\x7fb", "a\tb", "a\ud800"],
)
def test_an_id_that_cannot_stand_in_a_url_path_is_refused(value: str) -> None:
    error = refused(checks.check_id, value, "chat_id")
    assert "chat_id" == error.field
    assert error.rule.startswith("is not an id (no spaces, '/'")


# --- handles and participants --------------------------------------------------------


def test_a_handle_passes_through_and_a_string_is_read_strictly() -> None:
    assert MUM is checks.check_handle(MUM)
    assert MUM == checks.check_handle("+16515550101")
    assert Handle("mum@example.com") == checks.check_handle("mum@example.com", "to")


def test_a_bad_handle_string_names_the_field_and_the_rule_once() -> None:
    with pytest.raises(InvalidHandleError) as caught:
        checks.check_handle("651-555-0101", "participants[2]")
    error = caught.value
    assert ("participants[2]", "651-555-0101") == (error.field, error.value)
    assert error.rule.startswith("'651-555-0101' ")
    assert "'651-555-0101' '651-555-0101'" not in error.rule
    assert "E.164" in error.rule  # Handle's own reason, not a generic "is not a Handle"


@pytest.mark.parametrize("value", [None, 16515550101, b"+16515550101"])
def test_something_that_is_not_a_handle_is_refused(value: object) -> None:
    with pytest.raises(InvalidHandleError) as caught:
        checks.check_handle(value)
    assert ("handle", f"{value!r} is not a Handle") == (caught.value.field, caught.value.rule)


def test_participants_become_a_tuple_of_handles() -> None:
    assert (MUM, SON) == checks.check_participants([MUM, "+16515550102"], OWNER)  # type: ignore[list-item]
    assert (MUM,) == checks.check_participants((MUM,), None)


@pytest.mark.parametrize("value", ["+16515550101", b"x", {MUM}, None])
def test_participants_that_are_not_a_sequence_are_refused(value: Any) -> None:
    error = refused(checks.check_participants, value, None)
    assert ("participants", "must be a sequence of handles") == (error.field, error.rule)


def test_a_bad_participant_is_named_by_its_index() -> None:
    with pytest.raises(InvalidHandleError) as caught:
        checks.check_participants([MUM, "nobody"], None)
    assert "participants[1]" == caught.value.field


def test_one_to_thirty_one_participants_are_taken() -> None:
    crowd = [Handle(f"+165155509{n:02d}") for n in range(limits.MAX_RECIPIENTS)]
    assert 31 == len(checks.check_participants(crowd, None))

    too_many = refused(checks.check_participants, [*crowd, MUM], None)
    none = refused(checks.check_participants, [], None)
    assert "has 32 handles; a conversation takes 1 to 31" == too_many.rule
    assert "has 0 handles; a conversation takes 1 to 31" == none.rule


def test_a_repeated_participant_or_our_own_line_is_refused() -> None:
    repeated = refused(checks.check_participants, [MUM, SON, MUM], None)
    ours = refused(checks.check_participants, [MUM, OWNER], OWNER)

    assert ("participants", "must not repeat a handle") == (repeated.field, repeated.rule)
    assert ("participants", f"must not include our own line {OWNER}") == (ours.field, ours.rule)


# --- messages -------------------------------------------------------------------------


def test_a_message_is_returned_and_anything_else_is_refused_by_field() -> None:
    assert HELLO is checks.check_message(HELLO)
    assert "message" == refused(checks.check_message, "Hello").field
    assert ("reply", "must be an OutgoingMessage") == (
        refused(checks.check_message, "Hello", "reply").field,
        refused(checks.check_message, "Hello", "reply").rule,
    )


def test_a_plain_first_message_is_taken() -> None:
    assert HELLO is checks.check_first_message(HELLO)


@pytest.mark.parametrize(
    ("message", "field", "rule"),
    [
        (
            OutgoingMessage.of_text("Hi", effect=Effect(EffectKind.SCREEN, "confetti")),
            "first_message.effect",
            "the first message of a new chat may not carry an effect",
        ),
        (
            OutgoingMessage.of_text("Hi", reply_to=ReplyTo("m1")),
            "first_message.reply_to",
            "the first message of a new chat may not be a reply",
        ),
        (
            OutgoingMessage.of_text("See https://example.com/rota"),
            "first_message.parts",
            "the first message of a new chat may not contain a URL",
        ),
        ("Hi", "first_message", "must be an OutgoingMessage"),
    ],
)
def test_a_first_message_with_an_effect_a_reply_or_a_url_is_refused(
    message: object, field: str, rule: str
) -> None:
    error = refused(checks.check_first_message, message)
    assert (field, rule) == (error.field, error.rule)


# --- idempotency keys ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["!", "~", "reminder-2pm", "k" * limits.MAX_IDEMPOTENCY_KEY_LENGTH])
def test_a_header_safe_key_is_returned_as_given(key: str) -> None:
    assert key == checks.check_idempotency_key(key)


def test_no_key_means_the_transport_makes_one() -> None:
    assert checks.check_idempotency_key(None) is None


@pytest.mark.parametrize("key", ["", " ", "   ", "\t", 0, 12, b"key", False])
def test_an_empty_blank_or_non_string_key_is_refused_not_replaced(key: object) -> None:
    error = refused(checks.check_idempotency_key, key)
    assert ("idempotency_key", "must be a non-empty string") == (error.field, error.rule)


def test_a_key_over_255_characters_is_refused() -> None:
    error = refused(checks.check_idempotency_key, "k" * 256)
    assert ("idempotency_key", "has 256 characters; at most 255") == (error.field, error.rule)


@pytest.mark.parametrize("key", ["a b", " padded", "tab\t", "nul\x00", "del\x7f", "Zoë", "\x80"])
def test_a_key_that_cannot_go_in_a_header_is_refused(key: str) -> None:
    error = refused(checks.check_idempotency_key, key)
    assert "idempotency_key" == error.field
    assert error.rule.startswith("must be printable ASCII without spaces or control characters")


# --- small values ------------------------------------------------------------------------


def test_a_preference_must_be_a_service_preference() -> None:
    assert ServicePreference.SMS is checks.check_preference(ServicePreference.SMS)
    error = refused(checks.check_preference, "sms")
    assert ("preference", "must be a ServicePreference") == (error.field, error.rule)


@pytest.mark.parametrize("size", [1, 50, checks.MAX_PAGE_SIZE])
def test_a_page_size_from_1_to_100_is_taken(size: int) -> None:
    assert size == checks.check_page_size(size)


@pytest.mark.parametrize(
    ("size", "rule"),
    [
        (0, "0 is not between 1 and 100"),
        (101, "101 is not between 1 and 100"),
        (-1, "-1 is not between 1 and 100"),
        (True, "must be an integer"),
        (10.0, "must be an integer"),
        ("10", "must be an integer"),
    ],
)
def test_a_page_size_out_of_range_or_not_an_integer_is_refused(size: object, rule: str) -> None:
    error = refused(checks.check_page_size, size)
    assert ("page_size", rule) == (error.field, error.rule)


def test_a_part_index_is_a_non_negative_integer() -> None:
    assert (0, 3) == (checks.check_part_index(0), checks.check_part_index(3))
    for bad in (-1, True, 1.0, "0"):
        error = refused(checks.check_part_index, bad)
        assert ("part_index", "must be a non-negative integer") == (error.field, error.rule)


def test_a_reaction_must_be_one_that_can_be_sent() -> None:
    love = Reaction(ReactionKind.LOVE)
    assert love is checks.check_reaction(love)
    assert ("reaction", "must be a Reaction") == (
        refused(checks.check_reaction, "love").field,
        refused(checks.check_reaction, "love").rule,
    )
    refused(checks.check_reaction, Reaction(ReactionKind.STICKER))


def _message(conversation: str, parts: int) -> Message:
    return Message(
        id="m1",
        conversation_id=conversation,
        direction=Direction.INBOUND,
        sender=MUM,
        parts=[TextPart(f"part {n}") if n % 2 == 0 else _photo() for n in range(parts)],
        service=Service.IMESSAGE,
        status=DeliveryStatus.DELIVERED,
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def _photo() -> MediaPart:
    return MediaPart(url="https://example.com/p.png", content_type="image/png")


def test_a_reply_names_a_part_of_a_message_of_the_same_conversation() -> None:
    target = _message("chat-1", parts=2)

    checks.check_reply_target(ReplyTo("m1", part_index=1), target, "chat-1")
    last = refused(checks.check_reply_target, ReplyTo("m1", part_index=2), target, "chat-1")
    elsewhere = refused(checks.check_reply_target, ReplyTo("m1"), target, "chat-2")

    assert ("reply_to.part_index", "2 is not a part of the replied-to message") == (
        last.field,
        last.rule,
    )
    assert ("reply_to.message_id", "must name a message of the same conversation") == (
        elsewhere.field,
        elsewhere.rule,
    )


def test_a_voice_memo_must_be_a_voice_memo() -> None:
    memo = VoiceMemo(MediaPart(url="https://example.com/m.m4a", content_type="audio/x-m4a"))
    assert memo is checks.check_voice_memo(memo)
    error = refused(checks.check_voice_memo, memo.audio)
    assert ("memo", "must be a VoiceMemo") == (error.field, error.rule)


# --- uploads -------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"\x89PNG", bytearray(b"\x89PNG"), memoryview(b"\x89PNG")])
def test_an_upload_comes_back_as_bytes(data: bytes) -> None:
    raw = checks.check_upload(data, "photo.png", "image/png")
    assert (bytes, b"\x89PNG") == (type(raw), raw)


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "field", "rule"),
    [
        ("text", "a.png", "image/png", "data", "must be bytes"),
        (b"x", "", "image/png", "filename", "must be a non-empty name"),
        (b"x", "  ", "image/png", "filename", "must be a non-empty name"),
        (b"x", None, "image/png", "filename", "must be a non-empty name"),
        (b"x", "a/b.png", "image/png", "filename", "'a/b.png' must be a bare name, not a path"),
        (b"x", "a\\b.png", "image/png", "filename", "'a\\\\b.png' must be a bare name, not a path"),
        (b"x", "a.png", None, "content_type", "must be a MIME type like 'image/png'"),
        (b"", "a.png", "image/png", "data", "must not be empty"),
    ],
)
def test_a_bad_upload_is_refused_naming_the_field(
    data: object, filename: object, content_type: object, field: str, rule: str
) -> None:
    error = refused(checks.check_upload, data, filename, content_type)
    assert (field, rule) == (error.field, error.rule)


def test_an_upload_of_a_type_carriers_reject_is_refused() -> None:
    error = refused(checks.check_upload, b"RIFF", "a.webp", "image/webp")
    assert "content_type" == error.field


def test_an_upload_over_100_mb_is_refused_and_100_mb_is_taken() -> None:
    at_limit = bytes(limits.MAX_UPLOAD_BYTES)
    assert limits.MAX_UPLOAD_BYTES == len(checks.check_upload(at_limit, "a.pdf", "application/pdf"))
    del at_limit
    over = bytearray(limits.MAX_UPLOAD_BYTES + 1)
    error = refused(checks.check_upload, over, "a.pdf", "application/pdf")
    assert ("data", "104857601 bytes is over the 100 MB upload limit") == (error.field, error.rule)


def test_attachment_ids_lists_only_uploaded_attachments_in_order() -> None:
    message = OutgoingMessage(
        (
            MediaPart(attachment_id="att-1", content_type="image/png"),
            _photo(),
            TextPart("Rota attached"),
            MediaPart(attachment_id="att-2", content_type="application/pdf"),
        )
    )
    assert ["att-1", "att-2"] == checks.attachment_ids(message)


# --- group membership ----------------------------------------------------------------------


def _chat(*people: Handle, group: bool = True) -> Conversation:
    return Conversation(id="chat-1", participants=people, is_group=group)


def test_adding_to_a_group_of_three_is_allowed() -> None:
    checks.check_can_add(_chat(MUM, SON, NURSE), AUNT, OWNER)
    checks.check_can_add(_chat(MUM, SON, NURSE), AUNT, None)


@pytest.mark.parametrize(
    "chat",
    [_chat(MUM, SON), _chat(MUM, SON, NURSE, group=False)],
    ids=["group-of-two", "not-a-group"],
)
def test_adding_needs_a_group_of_three(chat: Conversation) -> None:
    error = refused(checks.check_can_add, chat, AUNT, OWNER)
    assert "conversation_id" == error.field
    assert (
        f"adding needs a group with 3+ participants; this one has {len(chat.participants)}"
        == error.rule
    )


@pytest.mark.parametrize("handle", [SON, OWNER], ids=["a-member", "our-own-line"])
def test_adding_someone_already_in_the_group_is_refused(handle: Handle) -> None:
    error = refused(checks.check_can_add, _chat(MUM, SON, NURSE), handle, OWNER)
    assert ("handle", f"{handle} is already in the conversation") == (error.field, error.rule)


def test_removing_leaves_a_group_of_three() -> None:
    checks.check_can_remove(_chat(MUM, SON, NURSE, AUNT), AUNT)

    error = refused(checks.check_can_remove, _chat(MUM, SON, NURSE), NURSE)
    assert (
        "conversation_id",
        "removing must leave 3+ participants in a group; it would leave 2",
    ) == (
        error.field,
        error.rule,
    )


def test_removing_from_a_chat_that_is_not_a_group_is_refused() -> None:
    error = refused(checks.check_can_remove, _chat(MUM, SON, NURSE, AUNT, group=False), AUNT)
    assert "conversation_id" == error.field


def test_removing_someone_not_in_the_conversation_is_refused() -> None:
    error = refused(checks.check_can_remove, _chat(MUM, SON, NURSE, AUNT), OWNER)
    assert ("handle", f"{OWNER} is not in the conversation") == (error.field, error.rule)
