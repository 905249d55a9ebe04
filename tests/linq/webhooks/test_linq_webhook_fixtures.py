"""Every event type, in both payload versions, parses into the right domain event.

The fixtures under ``tests/fixtures/webhooks/<version>/<event_type>.json`` are our
own files built from the reference YAML's examples and schemas. When the YAML is
present, they are also checked against its schemas, and the YAML's own examples
are parsed.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from adapters.linq.webhook_events import KNOWN_EVENT_TYPES, parse_delivery, parse_envelope
from caresupport_transport.capabilities import Service
from caresupport_transport.content import MediaPart, Reaction, ReactionKind, ReplyTo, TextPart
from caresupport_transport.events import (
    ContactCardReceived,
    ConversationCreated,
    ConversationUpdated,
    LineReputation,
    LineStatus,
    LineStatusChanged,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
    ParticipantAdded,
    ParticipantRemoved,
    PollOptionsAdded,
    PollReceived,
    PollVoteAdded,
    PollVoteRemoved,
    ReactionAdded,
    ReactionRemoved,
    TypingStarted,
    TypingStopped,
    WebhookSubscriptionChanged,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, DeliveryStatus, Direction, Message

from .support import (
    EVENT_TYPES,
    REFERENCE_YAML,
    VERSIONS,
    fixture,
    fixture_bytes,
    fixture_path,
)

CHAT = "8f392755-6865-4b18-880a-227f9d8b458f"
GROUP = "0c961e93-e7bf-4db2-bf7b-ea06826bcab4"
MSG_IN = "89e3566e-1d13-49e5-a8ee-48490d5bfeb7"
MSG_OUT = "347d62c2-2170-4754-8d30-c76d0c727d96"
LINE = Handle("+12025551234")
DAUGHTER = Handle("+12025559876")
NURSE = Handle("nurse.kim@example.org")
OCCURRED = datetime(2026, 2, 5, 19, 31, 13, 736444, tzinfo=UTC)
ALL_FIXTURES = [(version, event_type) for version in VERSIONS for event_type in EVENT_TYPES]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def parsed(version: str, event_type: str) -> Any:
    return parse_delivery(fixture_bytes(version, event_type))


def test_there_is_a_fixture_for_every_documented_event_type_in_both_versions() -> None:
    assert set(EVENT_TYPES) == KNOWN_EVENT_TYPES
    missing = [str(fixture_path(v, e)) for v, e in ALL_FIXTURES if not fixture_path(v, e).exists()]
    assert [] == missing


EXPECTED_CLASSES = {
    "message.sent": MessageReceived,
    "message.received": MessageReceived,
    "message.read": MessageStatusChanged,
    "message.delivered": MessageStatusChanged,
    "message.failed": MessageStatusChanged,
    "message.edited": MessageEdited,
    "reaction.added": ReactionAdded,
    "reaction.removed": ReactionRemoved,
    "participant.added": ParticipantAdded,
    "participant.removed": ParticipantRemoved,
    "chat.created": ConversationCreated,
    "chat.group_name_updated": ConversationUpdated,
    "chat.group_icon_updated": ConversationUpdated,
    "chat.group_name_update_failed": ConversationUpdated,
    "chat.group_icon_update_failed": ConversationUpdated,
    "chat.typing_indicator.started": TypingStarted,
    "chat.typing_indicator.stopped": TypingStopped,
    "poll.received": PollReceived,
    "poll.failed": MessageStatusChanged,
    "poll.sent": MessageStatusChanged,
    "poll.delivered": MessageStatusChanged,
    "poll.read": MessageStatusChanged,
    "poll.updated": PollOptionsAdded,
    "poll.vote.added": PollVoteAdded,
    "poll.vote.removed": PollVoteRemoved,
    "poll.reaction.added": ReactionAdded,
    "phone_number.status_updated": LineStatusChanged,
    "contact_card.received": ContactCardReceived,
    "webhook_subscription.deleted": WebhookSubscriptionChanged,
    "webhook_subscription.enabled": WebhookSubscriptionChanged,
    "webhook_subscription.disabled": WebhookSubscriptionChanged,
}


@pytest.mark.parametrize(("version", "event_type"), ALL_FIXTURES)
def test_every_fixture_parses_into_its_domain_event_with_the_envelope_ids(
    version: str, event_type: str
) -> None:
    payload = fixture(version, event_type)
    event = parsed(version, event_type)
    assert EXPECTED_CLASSES[event_type] is type(event)
    assert (payload["event_id"], OCCURRED) == (event.event_id, event.occurred_at)


# --- message events -------------------------------------------------------------------

INBOUND = Message(
    id=MSG_IN,
    conversation_id=CHAT,
    direction=Direction.INBOUND,
    sender=DAUGHTER,
    parts=(TextPart("Did Mom take her 8am pills? She sounded tired on the phone."),),
    service=Service.IMESSAGE,
    status=DeliveryStatus.DELIVERED,
    created_at=at("2026-02-05T19:31:12.892Z"),
    sent_at=at("2026-02-05T19:31:13.074Z"),
    reply_to=ReplyTo("5b0b4f4e-2f2c-4c1e-9d55-0a4c7b7e9a10", 0),
)

OUTBOUND_ECHO = Message(
    id=MSG_OUT,
    conversation_id=CHAT,
    direction=Direction.OUTBOUND,
    sender=LINE,
    parts=(
        TextPart("Yes, the 8am pills are marked as taken. Here is the pill box."),
        MediaPart(
            url="https://cdn.linqapp.com/attachments/f13dda7d/pillbox.jpg?signature=abc",
            content_type="image/jpeg",
            size_bytes=245678,
            filename="pillbox.jpg",
        ),
    ),
    service=Service.IMESSAGE,
    status=DeliveryStatus.SENT,
    created_at=at("2026-02-05T19:52:17.041183Z"),
    sent_at=at("2026-02-05T19:52:17.219Z"),
)

# 2026-02-03 payloads carry no created_at for the message: sent_at stands in.
CREATED_2026 = {MSG_IN: at("2026-02-05T19:31:13.074Z"), MSG_OUT: at("2026-02-05T19:52:17.219Z")}


def for_version(message: Message, version: str) -> Message:
    if version == "2026-02-03":
        return attrs.evolve(message, created_at=CREATED_2026[message.id])
    return message


@pytest.mark.parametrize("version", VERSIONS)
def test_message_received_carries_sender_text_service_timestamps_and_reply(version: str) -> None:
    event = parsed(version, "message.received")
    expected = MessageReceived(
        event_id=event.event_id,
        occurred_at=OCCURRED,
        conversation_id=CHAT,
        message=for_version(INBOUND, version),
    )
    assert expected == event


@pytest.mark.parametrize("version", VERSIONS)
def test_message_sent_is_an_outbound_echo_with_text_and_media(version: str) -> None:
    event = parsed(version, "message.sent")
    expected = MessageReceived(
        event_id=event.event_id,
        occurred_at=OCCURRED,
        conversation_id=CHAT,
        message=for_version(OUTBOUND_ECHO, version),
    )
    assert expected == event


@pytest.mark.parametrize(
    ("version", "event_type", "status"),
    [
        (version, event_type, status)
        for version in VERSIONS
        for event_type, status in [
            ("message.delivered", DeliveryStatus.DELIVERED),
            ("message.read", DeliveryStatus.READ),
        ]
    ],
)
def test_delivered_and_read_become_status_changes(
    version: str, event_type: str, status: DeliveryStatus
) -> None:
    event = parsed(version, event_type)
    expected = MessageStatusChanged(
        event_id=event.event_id,
        occurred_at=OCCURRED,
        conversation_id=CHAT,
        message_id=MSG_OUT,
        status=status,
        service=Service.IMESSAGE,
    )
    assert expected == event


@pytest.mark.parametrize("version", VERSIONS)
def test_message_failed_carries_the_error_code_and_reason(version: str) -> None:
    event = parsed(version, "message.failed")
    expected = MessageStatusChanged(
        event_id=event.event_id,
        occurred_at=OCCURRED,
        conversation_id=GROUP,
        message_id="b1e5c1a0-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        status=DeliveryStatus.FAILED,
        error_code=3007,
        reason="Request expired before being processed",
    )
    if version == "2026-02-03":
        # The newer fields: an opaque detail code and the services involved.
        expected = attrs.evolve(
            expected, service=Service.IMESSAGE, detail_code=17, preferred_service=None
        )
    assert expected == event


@pytest.mark.parametrize("version", VERSIONS)
def test_message_edited_names_the_part_and_its_new_text(version: str) -> None:
    event = parsed(version, "message.edited")
    expected = MessageEdited(
        event_id=event.event_id,
        occurred_at=OCCURRED,
        conversation_id=CHAT,
        message_id=MSG_IN,
        parts=(TextPart("Did Mom take her 8am AND noon pills?"),),
        part_index=0,
    )
    assert expected == event


# --- everything else ------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_reactions_carry_kind_actor_message_and_part(version: str) -> None:
    added = parsed(version, "reaction.added")
    removed = parsed(version, "reaction.removed")
    assert (CHAT, MSG_OUT, DAUGHTER, 1, False) == (
        added.conversation_id,
        added.message_id,
        added.actor,
        added.part_index,
        added.is_from_me,
    )
    assert Reaction(ReactionKind.LOVE) == added.reaction
    expected_removed = (
        Reaction(ReactionKind.CUSTOM, "🙏")
        if version == "2026-02-03"
        else Reaction(ReactionKind.LIKE)
    )
    assert (expected_removed, MSG_OUT) == (removed.reaction, removed.message_id)
    # 2026 deliveries name the reaction (a sticker can be moved by it later).
    reaction_id = "7c1f9a40-3d2e-4b8a-9f00-5e6d7c8b9a01" if version == "2026-02-03" else None
    assert (reaction_id, reaction_id) == (added.reaction_id, removed.reaction_id)


@pytest.mark.parametrize("version", VERSIONS)
def test_participant_events_name_the_group_and_the_handle(version: str) -> None:
    for event_type in ("participant.added", "participant.removed"):
        event = parsed(version, event_type)
        assert (GROUP, Handle("+14155550123")) == (event.conversation_id, event.handle)


def test_chat_created_lists_participants_other_than_our_line() -> None:
    one_to_one = parsed("2025-01-01", "chat.created")
    group = parsed("2026-02-03", "chat.created")
    assert (
        Conversation(
            id=CHAT,
            participants=(DAUGHTER,),
            is_group=False,
            service=Service.IMESSAGE,
            display_name="+12025559876",
        )
        == one_to_one.conversation
    )
    assert (
        Conversation(
            id=GROUP,
            participants=(DAUGHTER, NURSE),
            is_group=True,
            service=Service.IMESSAGE,
            display_name="Mom's care team",
        )
        == group.conversation
    )
    assert GROUP == group.conversation_id


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("event_type", "change", "value", "failed"),
    [
        ("chat.group_name_updated", "name", "Mom's care team", False),
        ("chat.group_icon_updated", "icon", "https://cdn.linqapp.com/icons/care-team.png", False),
        ("chat.group_name_update_failed", "name", None, True),
        ("chat.group_icon_update_failed", "icon", None, True),
    ],
)
def test_group_name_and_icon_changes_and_failures_are_conversation_updates(
    version: str, event_type: str, change: str, value: str | None, failed: bool
) -> None:
    event = parsed(version, event_type)
    assert (GROUP, change, value, failed) == (
        event.conversation_id,
        event.change,
        event.value,
        event.failed,
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_typing_indicators_name_the_conversation_and_who_types(version: str) -> None:
    started = parsed(version, "chat.typing_indicator.started")
    stopped = parsed(version, "chat.typing_indicator.stopped")
    assert (CHAT, CHAT) == (started.conversation_id, stopped.conversation_id)
    # ``actor_handle`` is new in 2026 deliveries; older ones do not say who types.
    who = DAUGHTER if version == "2026-02-03" else None
    assert (who, who) == (started.handle, stopped.handle)


@pytest.mark.parametrize("version", VERSIONS)
def test_phone_number_status_becomes_a_line_status_change_with_reputation(version: str) -> None:
    event = parsed(version, "phone_number.status_updated")
    assert (
        LineStatusChanged(
            event_id=event.event_id,
            occurred_at=OCCURRED,
            line=LINE,
            status=LineStatus.FLAGGED,
            reputation=LineReputation.AT_RISK,
            previous_status=LineStatus.ACTIVE,
            previous_reputation=LineReputation.HEALTHY,
        )
        == event
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_a_received_contact_card_names_the_person_and_our_line(version: str) -> None:
    event = parsed(version, "contact_card.received")
    assert (DAUGHTER, LINE, "Dana", "Rivera", None) == (
        event.person,
        event.line,
        event.first_name,
        event.last_name,
        event.conversation_id,
    )
    assert event.media_url is not None
    assert event.media_url.startswith("https://cdn.linqapp.com/")
    assert ("Dana", "Rivera", "cdn.linqapp") == tuple(
        word for word in ("Dana", "Rivera", "cdn.linqapp") if word not in repr(event)
    ), "names and photo stay out of repr (and so out of logs)"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("event_type", "enabled"),
    [
        ("webhook_subscription.disabled", False),
        ("webhook_subscription.enabled", True),
        ("webhook_subscription.deleted", False),
    ],
)
def test_a_subscription_switched_off_or_on_is_a_typed_event(
    version: str, event_type: str, enabled: bool
) -> None:
    event = parsed(version, event_type)
    assert (
        "b2f6c1d0-9a1e-4c3b-8f7a-2d4e6f8a0c11",
        enabled,
        event_type.split(".")[1],
        "https://care.example.org/linq/webhooks",
        None,
    ) == (
        event.subscription_id,
        event.enabled,
        event.change,
        event.target_url,
        event.conversation_id,
    )


# --- against the reference YAML -------------------------------------------------------


def _reference() -> dict[str, Any]:
    if not REFERENCE_YAML.exists():
        pytest.skip(f"reference YAML not found at {REFERENCE_YAML}")
    pytest.importorskip("yaml")
    return _load_reference()


@functools.cache
def _load_reference() -> dict[str, Any]:
    import yaml

    document: dict[str, Any] = yaml.safe_load(REFERENCE_YAML.read_text(encoding="utf-8"))
    return document


def _allow_null(node: Any) -> Any:
    """OpenAPI's ``nullable: true`` as JSON Schema (``type: [..., "null"]``)."""
    if isinstance(node, list):
        return [_allow_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _allow_null(value) for key, value in node.items() if key != "nullable"}
    if not node.get("nullable"):
        return converted
    if isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        return converted
    return {"anyOf": [converted, {"type": "null"}]}


def _webhook_schemas() -> list[tuple[str, str, str]]:
    if not REFERENCE_YAML.exists():
        return []
    return [(v, e, f"{e}.v{v[:4]}") for v, e in ALL_FIXTURES]


@pytest.mark.parametrize(("version", "event_type", "key"), _webhook_schemas())
def test_fixtures_follow_the_reference_schema(version: str, event_type: str, key: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = _reference()
    if key not in document["webhooks"]:
        pytest.skip(f"the reference YAML has no schema for {key} (newer than the YAML)")
    body = document["webhooks"][key]["post"]["requestBody"]["content"]["application/json"]
    schema = {
        "$ref": body["schema"]["$ref"],
        "components": {"schemas": _allow_null(document["components"]["schemas"])},
    }
    jsonschema.Draft202012Validator(schema).validate(fixture(version, event_type))


def test_every_example_in_the_reference_yaml_parses() -> None:
    document = _reference()
    examples = []
    for key, item in document["webhooks"].items():
        content = item["post"]["requestBody"]["content"]["application/json"]
        if "example" in content:
            examples.append((key, content["example"]))
    assert examples, "the reference YAML should carry webhook examples"
    for key, example in examples:
        event = parse_envelope(example)
        assert EXPECTED_CLASSES[example["event_type"]] is type(event), key
