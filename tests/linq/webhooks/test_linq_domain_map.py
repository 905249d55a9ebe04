"""Linq wire words to domain values (shared by webhooks and API responses)."""

from __future__ import annotations

import pytest

from adapters.linq._domain_map import (
    direction_from_wire,
    effect_from_wire,
    handle_from_wire,
    parts_from_wire,
    reaction_from_wire,
    reply_to_from_wire,
    service_from_wire,
    service_to_wire,
    status_from_wire,
)
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
from caresupport_transport.handles import Handle
from caresupport_transport.model import DeliveryStatus, Direction


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


@pytest.mark.parametrize("service", list(Service))
def test_service_to_wire_round_trips(service: Service) -> None:
    assert service is service_from_wire(service_to_wire(service))
    assert service.label == service_to_wire(service)


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
