"""Contract: a conversation's health changes reach the care logic as ConversationHealthChanged.

The memory World reports a change when it happens; Linq sends no health event,
so ``LinqTransport`` derives it from the ``chat.health_status`` its 2026-02-03
message events carry (the 2025-01-01 payloads carry none). Either way the care
logic hears each change once, and never for an opt-out (that is ``OptedOut``).
"""

from __future__ import annotations

import pytest

from caresupport_transport import ConversationHealth, ConversationHealthChanged, OptedOut

from .harness import Capability, Harness
from .support import CAREGIVER, SETTLE, start


def _changes(harness: Harness) -> list[tuple[str, ConversationHealth]]:
    return [
        (e.conversation_id, e.health)
        for e in harness.received
        if isinstance(e, ConversationHealthChanged)
    ]


@pytest.mark.needs(Capability.CHAT_HEALTH)
async def test_each_health_change_reaches_the_care_logic_once(harness: Harness) -> None:
    chat = await start(harness.transport, CAREGIVER)
    await harness.advance(SETTLE)

    harness.set_health(chat.id, ConversationHealth.AT_RISK)
    await harness.inject_inbound_text(CAREGIVER, None, "Running late today")
    await harness.inject_inbound_text(CAREGIVER, None, "Be there by four")
    harness.set_health(chat.id, ConversationHealth.CRITICAL)
    await harness.inject_inbound_text(CAREGIVER, None, "Are you getting these?")
    await harness.advance(SETTLE)

    assert [
        (chat.id, ConversationHealth.AT_RISK),
        (chat.id, ConversationHealth.CRITICAL),
    ] == _changes(harness)


async def test_an_opt_out_is_no_health_change(harness: Harness) -> None:
    chat = await start(harness.transport, CAREGIVER)
    await harness.advance(SETTLE)

    await harness.inject_inbound_text(CAREGIVER, None, "STOP")
    await harness.inject_inbound_text(CAREGIVER, None, "Sorry, wrong button")
    await harness.advance(SETTLE)

    assert [chat.id] == [e.conversation_id for e in harness.received if isinstance(e, OptedOut)]
    assert [] == _changes(harness)
