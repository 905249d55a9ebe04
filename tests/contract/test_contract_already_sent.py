"""Contract: a re-send under the key of a message that is gone since is done, never resent.

Linq answers 404 to a send under the idempotency key of a message it deleted
(or whose ephemeral window passed) and sends nothing. Every target reports it
as ``AlreadySentError`` (not a missing conversation), through the port and
through the outbox, which ends the intent ``sent``: no second text.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from caresupport_transport import AlreadySentError, NotFoundError, OutgoingMessage
from caresupport_transport.inbound import MemoryEventStore
from caresupport_transport.outbound import DeliveryState, Outbox, OutboxWorker

from .harness import Harness
from .support import CAREGIVER, GRANDSON, HELLO, history, start

PILLS = OutgoingMessage.of_text("Pills at 9: the blue ones, with water.")


async def texts(harness: Harness, conversation_id: str) -> list[str]:
    return [m.text for m in await history(harness.transport, conversation_id)]


async def test_a_retry_under_the_key_of_a_deleted_message_is_already_sent(
    harness: Harness,
) -> None:
    conversation = await start(harness.transport, CAREGIVER)
    first = await harness.transport.send_message(
        conversation.id, PILLS, idempotency_key="pills-0900"
    )
    harness.delete_message(first.message_id)

    with pytest.raises(AlreadySentError) as caught:
        await harness.transport.send_message(conversation.id, PILLS, idempotency_key="pills-0900")

    assert not isinstance(caught.value, NotFoundError), "the conversation is not missing"
    assert ("pills-0900", 404) == (caught.value.idempotency_key, caught.value.status)
    assert [HELLO.text] == await texts(harness, conversation.id), "no second text"


async def test_the_outbox_ends_an_intent_whose_sent_message_is_gone_as_sent(
    harness: Harness,
) -> None:
    """An earlier attempt sent it and its answer was lost; the message was deleted since."""
    clock_now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    outbox = Outbox(MemoryEventStore(), clock=lambda: clock_now)
    worker = OutboxWorker(outbox, harness.transport)
    conversation = await start(harness.transport, CAREGIVER)
    intent_id = await outbox.send_message(conversation.id, PILLS, idempotency_key="pills-1")
    lost = await harness.transport.send_message(conversation.id, PILLS, idempotency_key=intent_id)
    harness.delete_message(lost.message_id)

    await worker.drain()
    status = await outbox.status(intent_id)

    assert status is not None
    assert (DeliveryState.SENT, 1, 0) == (status.state, status.attempts, worker.refused)
    assert status.error is not None
    assert "deleted" in status.error
    assert [HELLO.text] == await texts(harness, conversation.id), "never sent again"


async def test_a_split_send_whose_first_bubble_is_gone_sends_only_the_missing_bubbles(
    harness: Harness,
) -> None:
    """An earlier attempt sent bubble 1 and stopped; bubble 1 was deleted since."""
    conversation = await start(harness.transport, GRANDSON)
    long_text = OutgoingMessage.of_text(" ".join(["Blood pressure tablet at 8am."] * 60))
    whole = await harness.transport.send_message(conversation.id, long_text, idempotency_key="x")
    bubbles = [(await harness.transport.get_message(i)).text for i in whole.message_ids]
    first = await harness.transport.send_message(
        conversation.id, OutgoingMessage.of_text(bubbles[0]), idempotency_key="plan:1"
    )
    harness.delete_message(first.message_id)

    retried = await harness.transport.send_message(
        conversation.id, long_text, idempotency_key="plan"
    )

    assert len(bubbles) >= 2
    assert bubbles[1:] == [
        (await harness.transport.get_message(i)).text for i in retried.message_ids
    ]
    assert Counter([HELLO.text, *bubbles, *bubbles[1:]]) == Counter(
        await texts(harness, conversation.id)
    ), "bubble 1 once (then deleted), the others of the retry once more"
