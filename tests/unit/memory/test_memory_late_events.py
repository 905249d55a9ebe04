"""The in-memory adapter's late and account events: reconciled messages, failures
delivered after all, contact cards, line status, webhook subscriptions, chat health.

Care logic can be tested against them without Linq; the relay every adapter
shares logs the ones that mean care messages may be lost, without personal data.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from adapters.memory import InMemoryTransport, RecipientKind
from caresupport_transport import (
    ContactCardReceived,
    ConversationHealth,
    ConversationHealthChanged,
    DeliveryStatus,
    Handle,
    InboundEvent,
    LineReputation,
    LineStatus,
    LineStatusChanged,
    MessageReceived,
    MessageStatusChanged,
    OutgoingMessage,
    ValidationError,
    WebhookSubscriptionChanged,
)
from caresupport_transport.inbound import decode_event, encode_event

MUM = "+16515550101"


@pytest.fixture
def heard() -> list[InboundEvent]:
    return []


@pytest.fixture
def transport(heard: list[InboundEvent]) -> InMemoryTransport:
    made = InMemoryTransport(seed=11)

    async def care(event: InboundEvent) -> None:
        heard.append(event)

    made.on_inbound(care)
    return made


async def test_a_reconciled_message_reaches_care_logic_marked_as_history(
    transport: InMemoryTransport, heard: list[InboundEvent]
) -> None:
    live = await transport.inject_message(MUM, "Morning")
    transport.world.advance(3600)
    late = await transport.inject_reconciled(
        MUM, "I felt dizzy", sent_at=transport.world.now - timedelta(minutes=50)
    )
    received = [e for e in heard if isinstance(e, MessageReceived)]
    listed = [m.text for m in transport.world.history(live.conversation_id)]
    assert [False, True] == [e.reconciled for e in received]
    assert (transport.world.now, late.sent_at) == (late.reconciled_at, late.created_at)
    assert ["I felt dizzy", "Morning"] == listed


async def test_a_failed_message_delivered_after_all_reports_delivered(
    transport: InMemoryTransport, heard: list[InboundEvent]
) -> None:
    transport.world.add_recipient(MUM, RecipientKind.IMESSAGE)
    transport.fail_next_send(MUM)
    started = await transport.start_conversation(
        [Handle(MUM)], OutgoingMessage.of_text("Pills at 9")
    )
    await transport.advance(120)
    await transport.deliver_after_failure(started.receipt.message_id)
    statuses = [e.status for e in heard if isinstance(e, MessageStatusChanged)]
    assert [DeliveryStatus.FAILED, DeliveryStatus.DELIVERED] == statuses[-2:]
    with pytest.raises(ValidationError, match="has not failed"):
        transport.world.deliver_after_failure(started.receipt.message_id)


async def test_contact_cards_line_status_and_subscriptions_reach_care_logic(
    transport: InMemoryTransport, heard: list[InboundEvent], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await transport.inject_contact_card(MUM, "Rose", "Okafor")
    await transport.set_line_status(LineStatus.FLAGGED, LineReputation.CRITICAL)
    transport.world.set_webhook_subscription("sub-1", enabled=False)
    await transport.deliver_pending()
    card, line, subscription = heard
    assert isinstance(card, ContactCardReceived)
    assert isinstance(line, LineStatusChanged)
    assert isinstance(subscription, WebhookSubscriptionChanged)
    assert (str(card.person), card.first_name, card.last_name) == (MUM, "Rose", "Okafor")
    assert (LineStatus.FLAGGED, LineStatus.ACTIVE) == (line.status, line.previous_status)
    assert (LineReputation.CRITICAL, LineReputation.HEALTHY) == (
        line.reputation,
        line.previous_reputation,
    )
    assert ("sub-1", False, "disabled") == (
        subscription.subscription_id,
        subscription.enabled,
        subscription.change,
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("sub-1 was disabled" in w for w in warnings)
    assert any("FLAGGED" in w for w in warnings)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert ("Rose", "Okafor", transport.world.owner.value) == tuple(
        word for word in ("Rose", "Okafor", transport.world.owner.value) if word not in logged
    ), "no names, no full line number in the log"


async def test_the_inbox_keeps_the_new_events_whole() -> None:
    transport = InMemoryTransport(seed=3)
    world = transport.world
    world.receive_contact_card(MUM, "Rose", media_url="https://cdn.example/rose.jpg")
    world.set_line_status(reputation=LineReputation.AT_RISK)
    world.set_webhook_subscription("sub-2", enabled=True)
    world.receive_reconciled(
        MUM, OutgoingMessage.of_text("late").parts, sent_at=world.now - timedelta(hours=1)
    )
    events = world.drain()
    assert events == [decode_event(encode_event(e)) for e in events]


async def test_a_conversation_turning_critical_reaches_care_logic_and_logs_a_warning(
    transport: InMemoryTransport, heard: list[InboundEvent], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    chat = (
        await transport.start_conversation([Handle(MUM)], OutgoingMessage.of_text("Hi"))
    ).conversation
    heard.clear()
    transport.world.set_health(chat.id, ConversationHealth.AT_RISK)
    transport.world.set_health(chat.id, ConversationHealth.CRITICAL)
    await transport.deliver_pending()
    changes = [e for e in heard if isinstance(e, ConversationHealthChanged)]
    assert [ConversationHealth.AT_RISK, ConversationHealth.CRITICAL] == [e.health for e in changes]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [f"conversation {chat.id} is CRITICAL"] == [
        w.split(":")[0] for w in warnings if "CRITICAL" in w
    ]
