"""caresupport_transport.health_book: a health change seen in events is reported once."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from caresupport_transport import (
    ConversationHealth,
    ConversationHealthChanged,
    DeliveryStatus,
    MessageStatusChanged,
)
from caresupport_transport.health_book import HealthBook

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
HEALTH = st.one_of(st.none(), st.sampled_from(list(ConversationHealth)))


def _status(index: int, chat: str, health: ConversationHealth | None) -> MessageStatusChanged:
    return MessageStatusChanged(
        f"evt-{index}", AT, chat, f"msg-{index}", DeliveryStatus.DELIVERED,
        conversation_health=health,
    )  # fmt: skip


def _expected(reports: list[ConversationHealth | None]) -> list[ConversationHealth]:
    """The model: changes of the health word, HEALTHY at first, OPTED_OUT and silence ignored."""
    changes, last = [], ConversationHealth.HEALTHY
    for health in reports:
        if health is None or health is ConversationHealth.OPTED_OUT:
            continue
        if health is not last:
            changes.append(health)
        last = health
    return changes


@given(st.lists(HEALTH, max_size=20))
def test_each_change_of_a_conversations_health_is_reported_once(
    reports: list[ConversationHealth | None],
) -> None:
    book = HealthBook()
    derived = [
        change
        for index, health in enumerate(reports)
        for change in book.observe(_status(index, "chat-1", health))
    ]
    assert _expected(reports) == [change.health for change in derived]
    assert all(change.event_id.endswith(":health") for change in derived)


@given(st.lists(st.tuples(st.sampled_from(["chat-1", "chat-2"]), HEALTH), max_size=20))
def test_conversations_are_followed_apart(
    reports: list[tuple[str, ConversationHealth | None]],
) -> None:
    book = HealthBook()
    derived = [
        change
        for index, (chat, health) in enumerate(reports)
        for change in book.observe(_status(index, chat, health))
    ]
    for chat in ("chat-1", "chat-2"):
        mine = [health for c, health in reports if c == chat]
        assert _expected(mine) == [d.health for d in derived if d.conversation_id == chat]


def test_a_reported_change_moves_the_book_without_deriving_another() -> None:
    book = HealthBook()
    reported = ConversationHealthChanged(
        "evt-0", AT, "chat-1", ConversationHealth.CRITICAL, ConversationHealth.HEALTHY
    )
    assert () == book.observe(reported)
    assert () == book.observe(_status(1, "chat-1", ConversationHealth.CRITICAL))
    [change] = book.observe(_status(2, "chat-1", ConversationHealth.HEALTHY))
    assert (ConversationHealth.HEALTHY, ConversationHealth.CRITICAL) == (
        change.health,
        change.previous,
    )


def test_the_first_unhealthy_report_names_no_previous_health() -> None:
    [change] = HealthBook().observe(_status(0, "chat-1", ConversationHealth.AT_RISK))
    assert ("evt-0:health", AT, None) == (change.event_id, change.occurred_at, change.previous)
