"""parse_delivery / parse_envelope: bad input, forward compatibility and edge shapes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from adapters.linq.webhook_events import parse_delivery, parse_envelope, read_envelope
from caresupport_transport.capabilities import Service
from caresupport_transport.content import MediaPart, OutgoingMessage, TextPart
from caresupport_transport.errors import ProtocolError, ValidationError
from caresupport_transport.events import (
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
    UnknownEvent,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import DeliveryStatus, Direction

from .support import fixture

V25, V26 = "2025-01-01", "2026-02-03"


def refused(payload: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_envelope(payload)
    return caught.value


def kept_raw(payload: Any) -> str:
    """A verified known event whose data cannot be modelled is kept raw, with the reason."""
    event = parse_envelope(payload)
    assert isinstance(event, UnknownEvent)
    assert payload == event.payload
    assert event.problem is not None
    return f"{event.problem} (in a {event.event_type} event)"


def refused_body(body: bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_delivery(body)
    return caught.value


# --- bodies that are not envelopes ----------------------------------------------------


def test_an_empty_body_is_not_json() -> None:
    assert "not valid JSON" in str(refused_body(b""))


def test_invalid_utf8_is_refused_before_json() -> None:
    assert "UTF-8" in str(refused_body(b'{"event_type": "\xff"}'))


def test_utf16_json_is_refused_rather_than_guessed() -> None:
    assert "UTF-8" in str(refused_body('{"a": 1}'.encode("utf-16")))


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b"[]", "an array"), (b'"text"', "a string"), (b"42", "a number"), (b"null", "null")],
)
def test_json_that_is_not_an_object_is_refused(body: bytes, kind: str) -> None:
    assert f"must be a JSON object, not {kind}" in str(refused_body(body))


@pytest.mark.parametrize("body", [b"NaN", b'{"x": Infinity}', b"[" * 100_000, b"1" * 5000])
def test_json_python_would_accept_but_no_delivery_carries_is_refused(body: bytes) -> None:
    refused_body(body)


@pytest.mark.parametrize("field", ["event_type", "event_id", "created_at", "data"])
def test_an_envelope_missing_a_required_field_names_it(field: str) -> None:
    payload = fixture(V26, "message.received")
    del payload[field]
    error = refused(payload)
    assert f"{field}: is required" in str(error)
    assert payload["trace_id"] == error.trace_id


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("event_id", 42, "must be a string"),
        ("event_id", "", "is required"),
        ("event_type", ["message.received"], "must be a string"),
        ("created_at", "yesterday", "is not an ISO 8601 timestamp"),
    ],
)
def test_an_envelope_field_of_the_wrong_kind_names_field_and_rule(
    field: str, value: object, rule: str
) -> None:
    payload = fixture(V26, "message.received")
    payload[field] = value
    assert f"{field}: {rule}" in str(refused(payload))


def test_envelope_metadata_of_the_wrong_kind_is_ignored_not_fatal() -> None:
    payload = fixture(V26, "chat.typing_indicator.started")
    payload.update(trace_id=7, partner_id=None, api_version=["v3"], webhook_version=2026)
    envelope = read_envelope(payload)
    assert (None, None, None, None) == (
        envelope.trace_id,
        envelope.partner_id,
        envelope.api_version,
        envelope.webhook_version,
    )


def test_known_event_whose_data_is_not_an_object_is_kept_raw() -> None:
    payload = fixture(V26, "reaction.added")
    payload["data"] = ["not", "an", "object"]
    error = kept_raw(payload)
    assert "data: must be an object" in str(error)
    assert "reaction.added" in str(error)


# --- unknown and forward-compatible input ---------------------------------------------


def test_an_unknown_event_type_keeps_the_raw_payload() -> None:
    payload = fixture(V26, "chat.typing_indicator.started")
    payload["event_type"] = "survey.answered"
    payload["data"] = {"chat_id": "c-9", "survey": {"question": "Lunch?", "votes": 3}}
    event = parse_envelope(payload)
    expected = UnknownEvent(
        event_id=payload["event_id"],
        occurred_at=event.occurred_at,
        event_type="survey.answered",
        payload=payload,
        conversation_id="c-9",
    )
    assert expected == event


@pytest.mark.parametrize("data", [None, [], "text", 3, {"chat_id": 12}, {"chat": "x"}])
def test_an_unknown_event_type_never_raises_whatever_its_data(data: object) -> None:
    payload = fixture(V26, "chat.typing_indicator.started")
    payload["event_type"] = "payment.succeeded"
    payload["data"] = data
    event = parse_envelope(payload)
    assert (UnknownEvent, None) == (type(event), event.conversation_id)


def test_extra_keys_anywhere_are_ignored() -> None:
    plain = fixture(V26, "message.received")
    extended = copy.deepcopy(plain)
    extended["delivery_attempt"] = 2
    extended["data"]["chat"]["theme"] = {"name": "aurora"}
    extended["data"]["parts"][0]["reactions"] = []
    extended["data"]["sender_handle"]["nickname"] = "Jo"
    assert parse_envelope(plain) == parse_envelope(extended)


@pytest.mark.parametrize("version", [None, "2027-01-01"])
def test_message_shape_is_detected_when_the_version_label_is_missing_or_new(
    version: str | None,
) -> None:
    for source in (V25, V26):
        labelled = fixture(source, "message.received")
        unlabelled = copy.deepcopy(labelled)
        unlabelled["webhook_version"] = version
        assert parse_envelope(labelled) == parse_envelope(unlabelled)


def test_a_message_of_neither_shape_is_kept_raw() -> None:
    payload = fixture(V26, "message.received")
    payload["webhook_version"] = None
    payload["data"] = {"id": "m1", "parts": []}
    assert "not a message of either payload version" in str(kept_raw(payload))


def test_unknown_part_types_are_skipped() -> None:
    payload = fixture(V26, "message.received")
    payload["data"]["parts"].append({"type": "location", "lat": 44.9, "lon": -93.2})
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived)
    assert 1 == len(event.message.parts)


# --- message content edge cases -------------------------------------------------------


@pytest.mark.parametrize("version", [V25, V26])
def test_a_media_only_message_parses_with_no_text(version: str) -> None:
    payload = fixture(version, "message.received")
    media = {
        "type": "media",
        "id": "a1",
        "url": "https://cdn.linqapp.com/a1/rash.heic",
        "filename": "rash.heic",
        "mime_type": "image/heic",
        "size_bytes": 1_200_000,
    }
    body = payload["data"]["message"] if version == V25 else payload["data"]
    body["parts"] = [media]
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived)
    expected = (
        MediaPart(
            url="https://cdn.linqapp.com/a1/rash.heic",
            content_type="image/heic",
            size_bytes=1_200_000,
            filename="rash.heic",
        ),
    )
    assert (expected, "") == (event.message.parts, event.message.text)


def test_inbound_media_over_outbound_limits_keeps_its_url_type_and_size() -> None:
    payload = fixture(V26, "message.received")
    payload["data"]["parts"] = [
        {
            "type": "media",
            "id": "v1",
            "url": "https://cdn.linqapp.com/v1/visit.webp",
            "filename": "visit.webp",
            "mime_type": "image/webp",
            "size_bytes": 50_000_000,
        }
    ]
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived)
    [part] = event.message.parts
    assert isinstance(part, MediaPart)
    assert (
        "https://cdn.linqapp.com/v1/visit.webp",
        "image/webp",
        50_000_000,
        "visit.webp",
        True,
    ) == (part.url, part.content_type, part.size_bytes, part.filename, part.received)


def test_forwarding_received_media_that_carriers_refuse_fails_before_any_io() -> None:
    payload = fixture(V26, "message.received")
    payload["data"]["parts"] = [
        {"type": "media", "url": "https://cdn.linqapp.com/v1/a.webp", "mime_type": "image/webp"}
    ]
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived)

    with pytest.raises(ValidationError) as caught:
        OutgoingMessage(event.message.parts)
    assert "parts[0].content_type" == caught.value.field


def test_text_longer_than_one_part_is_split_not_lost() -> None:
    payload = fixture(V26, "message.received")
    long_text = "Medication list: " + "x" * 15_000
    payload["data"]["parts"] = [{"type": "text", "value": long_text}]
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived)
    assert long_text == "".join(p.text for p in event.message.parts if isinstance(p, TextPart))


def test_blank_text_parts_are_skipped() -> None:
    payload = fixture(V26, "message.received")
    payload["data"]["parts"] = [{"type": "text", "value": "   "}]
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived)
    assert () == event.message.parts


def test_an_email_sender_is_a_handle() -> None:
    payload = fixture(V26, "message.received")
    payload["data"]["sender_handle"]["handle"] = "Nurse.Kim@Example.ORG"
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived)
    assert Handle("Nurse.Kim@example.org") == event.message.sender


@pytest.mark.parametrize(
    ("version", "path"),
    [(V26, ("sender_handle", "handle")), (V25, ("from_handle", "handle"))],
)
@pytest.mark.parametrize("bad", ["12345", "not a handle", 12025559876, ""])
def test_an_invalid_sender_handle_is_kept_raw_naming_the_field(
    version: str, path: tuple[str, str], bad: object
) -> None:
    payload = fixture(version, "message.received")
    payload["data"][path[0]][path[1]] = bad
    error = kept_raw(payload)
    assert f"data.{path[0]}.handle" in str(error)


def test_an_invalid_participant_handle_is_kept_raw() -> None:
    payload = fixture(V26, "participant.added")
    payload["data"]["participant"]["handle"] = "+0"
    assert "data.participant.handle" in str(kept_raw(payload))


def test_the_2025_deprecated_from_field_is_read_when_from_handle_is_absent() -> None:
    payload = fixture(V25, "message.received")
    del payload["data"]["from_handle"]
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived)
    assert Handle("+12025559876") == event.message.sender


def test_a_2025_message_with_is_from_me_true_is_outbound() -> None:
    payload = fixture(V25, "message.received")
    payload["data"]["is_from_me"] = True
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived)
    assert Direction.OUTBOUND is event.message.direction


def test_an_unknown_direction_is_kept_raw() -> None:
    payload = fixture(V26, "message.received")
    payload["data"]["direction"] = "sideways"
    assert "data.direction" in str(kept_raw(payload))


@pytest.mark.parametrize(
    ("version", "remove"),
    [
        (V26, ("chat", "id")),
        (V26, ("id",)),
        (V25, ("chat_id",)),
        (V25, ("message", "id")),
    ],
)
def test_a_message_missing_its_ids_is_kept_raw_naming_the_field(
    version: str, remove: tuple[str, ...]
) -> None:
    payload = fixture(version, "message.received")
    holder = payload["data"]
    for key in remove[:-1]:
        holder = holder[key]
    del holder[remove[-1]]
    assert "data." + ".".join(remove) + ": is required" in str(kept_raw(payload))


def test_an_unknown_effect_or_service_does_not_cost_the_message() -> None:
    payload = fixture(V26, "message.received")
    payload["data"]["effect"] = {"type": "screen", "name": "aurora"}
    payload["data"]["service"] = "WhatsApp"
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived)
    assert (None, None) == (event.message.effect, event.message.service)


# --- status, failure and edit edge cases ----------------------------------------------


def test_a_failure_without_ids_is_kept_whole_rather_than_refused() -> None:
    payload = fixture(V26, "message.failed")
    payload["data"] = {"code": 4001, "reason": "expired", "failed_at": "2026-02-05T20:01:00Z"}
    event = parse_envelope(payload)
    assert (UnknownEvent, "message.failed", payload) == (
        type(event),
        event.event_type,
        event.payload,
    )


def test_a_status_event_missing_its_message_id_is_kept_raw() -> None:
    payload = fixture(V26, "message.delivered")
    del payload["data"]["id"]
    assert "data.message.id (or data.id): is required" in str(kept_raw(payload))


def test_a_status_event_carries_the_service_it_went_over() -> None:
    payload = fixture(V25, "message.read")
    payload["data"]["service"] = "SMS"
    event = parse_envelope(payload)
    assert isinstance(event, MessageStatusChanged)
    assert (DeliveryStatus.READ, Service.SMS) == (event.status, event.service)


def test_an_edit_carrying_the_whole_message_reads_every_part() -> None:
    payload = fixture(V25, "message.edited")
    payload["data"] = {
        "chat_id": "c-1",
        "message": {"id": "m-1", "parts": [{"type": "text", "value": "Pills at 9, not 8."}]},
    }
    event = parse_envelope(payload)
    expected = MessageEdited(
        event_id=payload["event_id"],
        occurred_at=event.occurred_at,
        conversation_id="c-1",
        message_id="m-1",
        parts=(TextPart("Pills at 9, not 8."),),
        part_index=None,
    )
    assert expected == event


def test_an_edit_with_a_negative_part_index_is_kept_raw() -> None:
    payload = fixture(V26, "message.edited")
    payload["data"]["part"]["index"] = -1
    assert "data.part.index" in str(kept_raw(payload))


# --- reactions, chats -----------------------------------------------------------------


def test_a_custom_reaction_without_an_emoji_is_kept_raw() -> None:
    payload = fixture(V26, "reaction.added")
    payload["data"].update(reaction_type="custom", custom_emoji=None)
    assert "custom reaction needs an emoji" in str(kept_raw(payload))


def test_an_unknown_reaction_type_is_kept_raw_naming_the_field() -> None:
    payload = fixture(V26, "reaction.added")
    payload["data"]["reaction_type"] = "wave"
    assert "data.reaction_type" in str(kept_raw(payload))


@pytest.mark.parametrize("part_index", [-1, "0", True, 1.5])
def test_a_reaction_part_index_that_is_not_a_non_negative_integer_is_kept_raw(
    part_index: object,
) -> None:
    payload = fixture(V26, "reaction.added")
    payload["data"]["part_index"] = part_index
    assert "data.part_index" in str(kept_raw(payload))


def test_a_reaction_missing_its_chat_is_kept_raw_naming_the_field() -> None:
    payload = fixture(V25, "reaction.removed")
    del payload["data"]["chat_id"]
    assert "data.chat_id" in str(kept_raw(payload))


def test_chat_created_without_handles_is_kept_raw() -> None:
    payload = fixture(V26, "chat.created")
    del payload["data"]["handles"]
    assert "data.handles: is required" in str(kept_raw(payload))


def test_a_typing_event_missing_its_chat_is_kept_raw() -> None:
    payload = fixture(V26, "chat.typing_indicator.stopped")
    payload["data"] = {}
    error = kept_raw(payload)
    assert "data.chat_id: is required" in str(error)
    assert "chat.typing_indicator.stopped" in str(error)


def test_parse_delivery_and_parse_envelope_agree() -> None:
    payload = fixture(V26, "message.sent")
    assert parse_envelope(payload) == parse_delivery(json.dumps(payload).encode())


@pytest.mark.parametrize(("direction", "ours"), [("outbound", True), ("inbound", False)])
def test_an_edit_says_whether_it_is_the_echo_of_our_own(direction: str, ours: bool) -> None:
    payload = fixture(V26, "message.edited")
    payload["data"]["direction"] = direction
    event = parse_envelope(payload)
    assert isinstance(event, MessageEdited)
    assert ours is event.is_from_me
