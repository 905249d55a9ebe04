"""The one reader: Linq's JSON (webhooks) and API answers (wire types) as domain values."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.linq._convert import decode
from adapters.linq._to_domain import (
    conversation_from_chat,
    direction_from_wire,
    effect_from_wire,
    handle_from_wire,
    message_from_wire,
    parts_from_wire,
    reaction_from_wire,
    reply_to_from_wire,
    service_from_wire,
    status_from_wire,
)
from adapters.linq.webhook_events import parse_envelope
from adapters.linq.wire_chats import Chat
from adapters.linq.wire_chats import Message as WireMessage
from caresupport_transport import limits
from caresupport_transport.capabilities import Service
from caresupport_transport.content import (
    Effect,
    MediaPart,
    Reaction,
    ReactionKind,
    ReplyTo,
    TextPart,
)
from caresupport_transport.errors import ProtocolError
from caresupport_transport.events import MessageReceived
from caresupport_transport.handles import Handle
from caresupport_transport.model import DeliveryStatus, Direction, Message


@pytest.mark.parametrize(
    ("wire", "service"),
    [
        ("iMessage", Service.IMESSAGE),
        ("imessage", Service.IMESSAGE),
        ("RCS", Service.RCS),
        ("SMS", Service.SMS),
        ("sms", Service.SMS),
        ("WhatsApp", None),
        ("auto", None),
        (None, None),
        (3, None),
    ],
)
def test_service_from_wire(wire: object, service: Service | None) -> None:
    assert service is service_from_wire(wire)


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        ("pending", DeliveryStatus.PENDING),
        ("queued", DeliveryStatus.QUEUED),
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("received", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
        ("failed", DeliveryStatus.FAILED),
        ("FAILED", DeliveryStatus.FAILED),
    ],
)
def test_status_from_wire(wire: str, status: DeliveryStatus) -> None:
    assert status is status_from_wire(wire)


@pytest.mark.parametrize("wire", ["lost", "", None, 1])
def test_an_unknown_status_is_a_protocol_error_naming_the_field(wire: object) -> None:
    with pytest.raises(ProtocolError, match="delivery_status"):
        status_from_wire(wire, field="delivery_status")


def test_direction_from_wire() -> None:
    assert Direction.INBOUND is direction_from_wire("inbound")
    assert Direction.OUTBOUND is direction_from_wire("Outbound")
    with pytest.raises(ProtocolError, match=r"data\.direction"):
        direction_from_wire("up", field="data.direction")


def test_handle_from_wire_reads_strings_and_chat_handle_objects() -> None:
    assert Handle("+12025559876") == handle_from_wire("+12025559876")
    chat_handle = {"handle": "care@example.org", "id": "h1", "is_me": False}
    assert Handle("care@example.org") == handle_from_wire(chat_handle, field="data.from_handle")


@pytest.mark.parametrize(
    ("wire", "named"),
    [
        ("555-1234", "data.from"),
        (None, "data.from"),
        ({"id": "h1"}, "data.from.handle"),
        ({"handle": 15551234}, "data.from.handle"),
    ],
)
def test_an_invalid_handle_is_a_protocol_error_naming_the_field(wire: object, named: str) -> None:
    with pytest.raises(ProtocolError, match=named.replace(".", r"\.")):
        handle_from_wire(wire, field="data.from")


def test_reaction_from_wire() -> None:
    assert Reaction(ReactionKind.LOVE) == reaction_from_wire("love")
    assert Reaction(ReactionKind.LIKE) == reaction_from_wire("like", "👍")
    assert Reaction(ReactionKind.CUSTOM, "🙏") == reaction_from_wire("custom", "🙏")
    assert Reaction(ReactionKind.STICKER) == reaction_from_wire("sticker")


@pytest.mark.parametrize(("kind", "emoji"), [("wave", None), ("custom", None), ("custom", " ")])
def test_an_unusable_reaction_is_a_protocol_error(kind: str, emoji: str | None) -> None:
    with pytest.raises(ProtocolError):
        reaction_from_wire(kind, emoji)


def test_effect_from_wire_keeps_known_effects_and_drops_the_rest() -> None:
    assert Effect.screen("confetti") == effect_from_wire({"type": "screen", "name": "confetti"})
    assert Effect.bubble("gentle") == effect_from_wire({"type": "bubble", "name": "gentle"})
    for unknown in [None, {"type": "screen", "name": "aurora"}, {"type": ["x"]}, "slam"]:
        assert effect_from_wire(unknown) is None


def test_reply_to_from_wire() -> None:
    assert ReplyTo("m1", 2) == reply_to_from_wire({"message_id": "m1", "part_index": 2})
    assert ReplyTo("m1", 0) == reply_to_from_wire({"message_id": "m1"})
    assert reply_to_from_wire({"part_index": 0}) is None
    assert reply_to_from_wire(None) is None
    with pytest.raises(ProtocolError, match="part_index"):
        reply_to_from_wire({"message_id": "m1", "part_index": -1})


def test_parts_from_wire_reads_text_and_media() -> None:
    wire = [
        {"type": "text", "value": "Her blood pressure was 130/85 this morning."},
        {
            "type": "media",
            "id": "att-1",
            "url": "https://cdn.linqapp.com/att-1/bp.jpg",
            "filename": "bp.jpg",
            "mime_type": "image/jpeg",
            "size_bytes": 1024,
        },
        {"type": "media", "id": "att-2"},
    ]
    expected = (
        TextPart("Her blood pressure was 130/85 this morning."),
        MediaPart(
            url="https://cdn.linqapp.com/att-1/bp.jpg",
            content_type="image/jpeg",
            size_bytes=1024,
            filename="bp.jpg",
        ),
        MediaPart(attachment_id="att-2"),
    )
    assert expected == parts_from_wire(wire)


@pytest.mark.parametrize(
    ("wire", "named"),
    [
        ("text", "parts: must be an array"),
        (["text"], r"parts\[0\]: must be an object"),
        ([{"type": "media"}], r"parts\[0\]: a media part needs"),
        ([{"type": "media", "url": "ftp://x/y"}], r"parts\[0\]: a media part needs"),
        ([{"type": "text", "value": 5}], r"parts\[0\]\.value: must be a string"),
        ([{"type": "media", "url": "https://x/y", "size_bytes": "big"}], r"size_bytes"),
    ],
)
def test_unusable_parts_are_protocol_errors_naming_the_part(wire: object, named: str) -> None:
    with pytest.raises(ProtocolError, match=named):
        parts_from_wire(wire)


# API answers: the client's wire types, read field by field ---------------------

_LINE = Handle("+12025551234")
_SENT_AT = "2026-02-05T19:31:13.074Z"


def _api_message(**changes: Any) -> WireMessage:
    """``GET /v3/messages/{id}`` of the message in ``message.received`` (2026-02-03)."""
    answer = {
        "id": "89e3566e-1d13-49e5-a8ee-48490d5bfeb7",
        "chat_id": "8f392755-6865-4b18-880a-227f9d8b458f",
        "service": "iMessage",
        "from": "+12025559876",
        "from_handle": {"id": "h2", "handle": "+12025559876", "is_me": False},
        "parts": [{"type": "text", "value": "Did Mom take her 8am pills?", "reactions": None}],
        "reply_to": {"message_id": "5b0b4f4e", "part_index": 0},
        "is_from_me": False,
        "is_delivered": True,
        "is_read": False,
        "created_at": _SENT_AT,
        "updated_at": _SENT_AT,
        "sent_at": _SENT_AT,
        "delivered_at": None,
        "read_at": None,
        "effect": {"type": "screen", "name": "confetti"},
        **changes,
    }
    return decode(answer, WireMessage, what="get_message", status=200, trace_id=None)


def _webhook_message(version: str) -> Message:
    body = {
        "id": "89e3566e-1d13-49e5-a8ee-48490d5bfeb7",
        "parts": [{"type": "text", "value": "Did Mom take her 8am pills?"}],
        "reply_to": {"message_id": "5b0b4f4e", "part_index": 0},
        "effect": {"type": "screen", "name": "confetti"},
        "sent_at": _SENT_AT,
        "delivered_at": None,
        "read_at": None,
    }
    sender = {"id": "h2", "handle": "+12025559876", "is_me": False}
    chat_id = "8f392755-6865-4b18-880a-227f9d8b458f"
    if version == "2025-01-01":
        data: dict[str, Any] = {
            "chat_id": chat_id,
            "from_handle": sender,
            "is_from_me": False,
            "message": body,
            "service": "iMessage",
        }
    else:
        data = {
            **body,
            "chat": {"id": chat_id, "is_group": False},
            "direction": "inbound",
            "sender_handle": sender,
            "service": "iMessage",
        }
    event = parse_envelope(
        {
            "webhook_version": version,
            "event_type": "message.received",
            "event_id": "evt-1",
            "created_at": "2026-02-05T19:31:14Z",
            "data": data,
        }
    )
    assert isinstance(event, MessageReceived)
    return event.message


@pytest.mark.parametrize("version", ["2025-01-01", "2026-02-03"])
def test_an_api_answer_and_a_webhook_about_one_message_give_one_domain_message(
    version: str,
) -> None:
    from_api = message_from_wire(_api_message(), _LINE)

    assert _webhook_message(version) == from_api
    assert (Effect.screen("confetti"), ReplyTo("5b0b4f4e", 0)) == (
        from_api.effect,
        from_api.reply_to,
    )


def test_an_api_answer_keeps_inbound_content_whole_and_skips_unknown_parts() -> None:
    long_text = "x" * (limits.MAX_TEXT_CHARS + 5)
    parts = [
        {"type": "text", "value": long_text},
        {"type": "text", "value": "   "},
        {"type": "app_clip", "value": "https://example.org"},
        {
            "type": "media",
            "id": "att-1",
            "url": "https://cdn.linqapp.com/att-1/a.webp",
            "mime_type": "image/webp",
            "size_bytes": -1,
        },
        {"type": "media", "id": "att-2", "url": ""},
    ]

    message = message_from_wire(_api_message(parts=parts), _LINE)

    assert (
        TextPart("x" * limits.MAX_TEXT_CHARS),
        TextPart("x" * 5),
        MediaPart(
            url="https://cdn.linqapp.com/att-1/a.webp", content_type="image/webp", received=True
        ),
        MediaPart(attachment_id="att-2"),
    ) == message.parts
    assert parts_from_wire(parts) == message.parts


def test_an_api_answer_with_an_unknown_service_or_effect_keeps_the_message() -> None:
    message = message_from_wire(
        _api_message(service="WhatsApp", effect={"type": "sparkle", "name": "x"}), _LINE
    )

    assert (None, None) == (message.service, message.effect)
    assert "Did Mom take her 8am pills?" == message.text


def test_an_api_answer_from_a_short_code_has_no_sender_but_still_counts() -> None:
    message = message_from_wire(_api_message(**{"from": "22395", "from_handle": None}), _LINE)
    assert message.sender is None
    message = message_from_wire(
        _api_message(**{"from": "22395", "from_handle": {"id": "h", "handle": "22395"}}), _LINE
    )
    assert message.sender is None


def test_our_own_message_in_an_api_answer_is_from_our_line_with_its_delivery_status() -> None:
    message = message_from_wire(
        _api_message(is_from_me=True, delivery_status="received", from_handle=None), _LINE
    )

    assert (Direction.OUTBOUND, _LINE, DeliveryStatus.DELIVERED) == (
        message.direction,
        message.sender,
        message.status,
    )


@pytest.mark.parametrize(
    ("flags", "status"),
    [
        ({"is_read": True}, DeliveryStatus.READ),
        ({"is_delivered": True}, DeliveryStatus.DELIVERED),
        ({}, DeliveryStatus.SENT),
        ({"sent_at": None}, DeliveryStatus.PENDING),
    ],
)
def test_our_message_without_a_status_word_reads_its_flags(
    flags: dict[str, Any], status: DeliveryStatus
) -> None:
    answer = {"is_from_me": True, "is_delivered": False, "is_read": False, **flags}
    assert status is message_from_wire(_api_message(**answer), _LINE).status


def test_a_negative_reply_part_index_in_an_api_answer_names_the_field() -> None:
    with pytest.raises(ProtocolError, match=r"reply_to\.part_index"):
        message_from_wire(_api_message(reply_to={"message_id": "m1", "part_index": -1}), _LINE)


def test_a_chat_is_a_conversation_of_the_others_still_in_it() -> None:
    chat = decode(
        {
            "id": "c1",
            "display_name": "Mom's care",
            "service": "sms",
            "handles": [
                {"id": "h0", "handle": "+12025551234", "is_me": True},
                {"id": "h1", "handle": "+12025559876", "status": "active"},
                {"id": "h2", "handle": "+12025550000", "status": "left"},
                {"id": "h3", "handle": "care@example.org", "status": "removed"},
                {"id": "h4", "handle": "+12025559876"},
                {"id": "h5", "handle": "+12025551111"},
            ],
            "is_group": True,
            "created_at": _SENT_AT,
            "updated_at": _SENT_AT,
        },
        Chat,
        what="get_chat",
        status=200,
        trace_id=None,
    )

    conversation = conversation_from_chat(chat, _LINE)

    assert (
        (Handle("+12025559876"), Handle("+12025551111")),
        Service.SMS,
        "Mom's care",
    ) == (conversation.participants, conversation.service, conversation.display_name)
