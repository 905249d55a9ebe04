"""The inbox stores received text marks, link parts, our own edits and health whole, and reads
them back."""

from __future__ import annotations

from datetime import UTC, datetime

from caresupport_transport.content import (
    LinkPart,
    Mention,
    TextAnimation,
    TextDecoration,
    TextPart,
    TextRange,
    TextStyle,
)
from caresupport_transport.events import (
    ConversationHealthChanged,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
)
from caresupport_transport.handles import Handle
from caresupport_transport.inbound.codec import decode_event, encode_event
from caresupport_transport.model import ConversationHealth, DeliveryStatus, Direction, Message

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SUE = Handle("+16515550101")
TEXT = "\U0001f48a @CareSupport did Mum take 1 pill?"


def test_a_received_message_with_marks_and_a_link_survives_the_inbox() -> None:
    marked = TextPart(
        TEXT,
        mentions=[Mention(Handle("+15550100000"), TextRange.of(TEXT, "@CareSupport"), is_me=True)],
        decorations=[
            TextDecoration(TextRange.of(TEXT, "1 pill"), TextStyle.ITALIC),
            TextDecoration(TextRange.of(TEXT, "Mum"), animation=TextAnimation.BLOOM),
        ],
    )
    for parts in ((marked,), (LinkPart("https://care.example.org/plan"),)):
        message = Message(
            "m1", "c1", Direction.INBOUND, SUE, parts, None, DeliveryStatus.DELIVERED, AT
        )
        event = MessageReceived("e1", AT, "c1", message)
        assert event == decode_event(encode_event(event))


def test_our_own_edit_stays_marked_as_ours_in_the_inbox() -> None:
    event = MessageEdited("e2", AT, "c1", "m1", (TextPart("take 1 pill"),), 0, is_from_me=True)
    assert event == decode_event(encode_event(event))


def test_a_health_change_and_a_reported_health_survive_the_inbox() -> None:
    change = ConversationHealthChanged(
        "e3:health", AT, "c1", ConversationHealth.CRITICAL, ConversationHealth.AT_RISK
    )
    status = MessageStatusChanged(
        "e4", AT, "c1", "m1", DeliveryStatus.READ, conversation_health=ConversationHealth.AT_RISK
    )
    for event in (change, status):
        assert event == decode_event(encode_event(event))
