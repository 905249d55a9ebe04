"""``health_status`` on ``chat.created`` becomes ``Conversation.health``, on 2026 message
events ``conversation_health``; unknown words are None."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.linq._to_domain import health_from_wire
from adapters.linq.webhook_events import parse_envelope
from caresupport_transport.events import (
    ConversationCreated,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
)
from caresupport_transport.model import ConversationHealth

from .support import fixture


@pytest.mark.parametrize("version", ["2025-01-01", "2026-02-03"])
@pytest.mark.parametrize("status", ["HEALTHY", "AT_RISK", "CRITICAL", "OPTED_OUT"])
def test_chat_created_carries_the_chat_health(version: str, status: str) -> None:
    payload = fixture(version, "chat.created")
    payload["data"]["health_status"] = {
        "status": status,
        "doc_url": "https://docs.example/health",
        "updated_at": "2026-03-01T12:00:00Z",
    }
    event = parse_envelope(payload)
    assert isinstance(event, ConversationCreated)
    assert ConversationHealth(status) == event.conversation.health


def test_chat_created_without_health_status_has_no_health() -> None:
    event = parse_envelope(fixture("2026-02-03", "chat.created"))
    assert isinstance(event, ConversationCreated)
    assert event.conversation.health is None


@given(st.one_of(st.none(), st.integers(), st.text()))
def test_health_from_wire_never_raises_and_knows_only_linqs_words(value: object) -> None:
    health = health_from_wire(value)
    known = isinstance(value, str) and value.upper() in {h.value for h in ConversationHealth}
    assert (health is not None) == known


@pytest.mark.parametrize(
    "event_type", ["message.received", "message.sent", "message.delivered", "message.read"]
)
@pytest.mark.parametrize("status", ["HEALTHY", "AT_RISK", "CRITICAL", "OPTED_OUT"])
def test_a_2026_message_event_carries_the_chat_health(event_type: str, status: str) -> None:
    payload = fixture("2026-02-03", event_type)
    payload["data"]["chat"]["health_status"] = {
        "status": status,
        "doc_url": "https://docs.example/health",
        "updated_at": "2026-03-01T12:00:00Z",
    }
    event = parse_envelope(payload)
    assert isinstance(event, MessageReceived | MessageStatusChanged)
    assert ConversationHealth(status) == event.conversation_health


def test_a_2026_edit_carries_the_chat_health() -> None:
    payload = fixture("2026-02-03", "message.edited")
    payload["data"]["chat"]["health_status"] = {"status": "AT_RISK"}
    event = parse_envelope(payload)
    assert isinstance(event, MessageEdited)
    assert ConversationHealth.AT_RISK == event.conversation_health


@pytest.mark.parametrize("event_type", ["message.received", "message.delivered"])
def test_a_2025_message_event_carries_no_chat_health(event_type: str) -> None:
    event = parse_envelope(fixture("2025-01-01", event_type))
    assert isinstance(event, MessageReceived | MessageStatusChanged)
    assert event.conversation_health is None
