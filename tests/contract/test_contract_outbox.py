"""Contract: the outbox over every target: each intent sent once under its key, then watched.

Each scenario records intents in an ``Outbox`` (on a ``MemoryEventStore``,
with a virtual clock the test moves in step with the target's world), runs
``OutboxWorker``s over the target's transport, and feeds every event the
target's handler received to ``outbox.observe``, as ``Outbox.watching`` does
in production. Outcomes are read from the target (its conversation history,
its messages' services) and from the outbox's statuses.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from caresupport_transport import (
    DeliveryStatus,
    MessageStatusChanged,
    OutgoingMessage,
    Service,
    ServicePreference,
)
from caresupport_transport.inbound import MemoryEventStore
from caresupport_transport.outbound import (
    DeliveryState,
    IntentStatus,
    Outbox,
    OutboxWorker,
    Watch,
)

from .harness import Capability, Harness
from .support import CAREGIVER, HELLO, NURSE, OLD_NUMBER, SETTLE, history, start

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PILLS = OutgoingMessage.of_text("Pills at 9: the blue ones, with water.")
GRACE = timedelta(minutes=2)
RESEND_ON_FAILURE = Watch(resend_on_failure=True, failure_grace=GRACE)


@attrs.define
class Clock:
    """The outbox's clock; the test moves it with the target's world."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@attrs.define
class Alerts:
    """The coordinator's pager: the intents the watchdog escalated, in order."""

    undelivered: list[str] = attrs.Factory(list)

    async def on_undelivered(self, status: IntentStatus) -> None:
        self.undelivered.append(status.intent.id)


@attrs.define
class Desk:
    """An outbox over the target's transport, fed the target's events, run by ``workers``."""

    harness: Harness
    outbox: Outbox
    clock: Clock
    alerts: Alerts
    workers: list[OutboxWorker]
    heard: int = 0
    listening: bool = True
    """``False``: the target's events never reach the outbox (webhooks lost on the way)."""

    async def run(self) -> None:
        """Every worker runs what is due, all at once."""
        await asyncio.gather(*(worker.drain() for worker in self.workers))

    async def advance(self, seconds: float) -> None:
        """Move the target's world and the outbox's clock on, then observe what happened."""
        await self.harness.advance(seconds)
        self.clock.now += timedelta(seconds=seconds)
        await self.observe()

    async def observe(self) -> None:
        """Hand the outbox each event the target's handler received since the last call."""
        events = list(self.harness.received[self.heard :])
        self.heard += len(events)
        for event in events if self.listening else ():
            await self.outbox.observe(event)

    async def status(self, intent_id: str) -> IntentStatus:
        status = await self.outbox.status(intent_id)
        assert status is not None
        return status

    async def texts(self, conversation_id: str) -> Counter[str | None]:
        """How many times each text is in the conversation, as the target holds it."""
        return Counter(m.text for m in await history(self.harness.transport, conversation_id))


def desk(
    harness: Harness,
    *,
    watch: Watch | None = None,
    watch_by_kind: dict[str, Watch] | None = None,
    workers: int = 1,
) -> Desk:
    clock = Clock()
    outbox = Outbox(
        MemoryEventStore(), watch=watch or Watch(), watch_by_kind=watch_by_kind or {}, clock=clock
    )
    alerts = Alerts()
    return Desk(
        harness,
        outbox,
        clock,
        alerts,
        [
            OutboxWorker(outbox, harness.transport, on_undelivered=alerts.on_undelivered)
            for _ in range(workers)
        ],
    )


@pytest.mark.needs(Capability.IMESSAGE)
async def test_an_intent_is_sent_once_under_its_key_and_moved_on_by_its_statuses(
    harness: Harness,
) -> None:
    office = desk(harness)
    conversation = await start(harness.transport, CAREGIVER)

    intent_id = await office.outbox.send_message(
        conversation.id, PILLS, idempotency_key="pills-0900"
    )
    unsent = await office.texts(conversation.id)
    await office.run()
    await office.run()
    sent = await office.status(intent_id)
    await office.advance(SETTLE)
    read = await office.status(intent_id)

    assert "pills-0900" == intent_id
    assert Counter({HELLO.text: 1}) == unsent, "nothing is sent before a worker runs"
    (message_id,) = sent.message_ids
    assert (DeliveryState.SENT, Service.IMESSAGE) == (sent.state, sent.service)
    assert Counter({HELLO.text: 1, PILLS.text: 1}) == await office.texts(conversation.id)
    assert (DeliveryState.READ, (message_id,)) == (read.state, read.message_ids)
    # It went under the intent's key: a direct send under that key is the same message.
    again = await harness.transport.send_message(
        conversation.id, PILLS, idempotency_key="pills-0900"
    )
    assert (message_id,) == again.message_ids
    assert Counter({HELLO.text: 1, PILLS.text: 1}) == await office.texts(conversation.id)


async def test_the_same_key_twice_is_one_message_even_after_it_was_sent(harness: Harness) -> None:
    office = desk(harness)
    conversation = await start(harness.transport, CAREGIVER)

    first = await office.outbox.send_message(conversation.id, PILLS, idempotency_key="pickup-1")
    second = await office.outbox.send_message(conversation.id, PILLS, idempotency_key="pickup-1")
    await office.run()
    third = await office.outbox.send_message(conversation.id, PILLS, idempotency_key="pickup-1")
    await office.run()

    assert ["pickup-1"] * 3 == [first, second, third]
    assert Counter({HELLO.text: 1, PILLS.text: 1}) == await office.texts(conversation.id)
    assert 1 == len((await office.status("pickup-1")).message_ids)


async def test_a_failure_followed_by_a_late_delivered_gives_no_second_text(
    harness: Harness,
) -> None:
    """Linq can report a message failed and then delivered; the re-send waits out the grace."""
    office = desk(harness, watch=RESEND_ON_FAILURE)
    conversation = await start(harness.transport, NURSE)
    harness.fail_next_send(NURSE)

    intent_id = await office.outbox.send_message(conversation.id, PILLS)
    await office.run()
    await office.advance(SETTLE)
    failed = await office.status(intent_id)
    [failure] = [
        e
        for e in harness.received
        if isinstance(e, MessageStatusChanged) and e.status is DeliveryStatus.FAILED
    ]
    # The target's own failure, then the late delivered Linq may send for the same message.
    await office.advance(GRACE.total_seconds() / 2)
    await office.run()
    await harness.deliver_after_failure(failure.message_id)
    await office.observe()
    await office.advance(GRACE.total_seconds() * 3)
    await office.run()
    await office.advance(3600)
    await office.run()
    final = await office.status(intent_id)

    assert (DeliveryState.FAILED, failed.message_ids) == (failed.state, (failure.message_id,))
    assert (DeliveryState.DELIVERED, 0, ()) == (final.state, final.resends, final.fired)
    assert (True, (failure.message_id,)) == (final.recovered, final.delivered_message_ids)
    assert Counter({HELLO.text: 1, PILLS.text: 1}) == await office.texts(conversation.id)


@pytest.mark.needs(Capability.IMESSAGE)
async def test_an_original_delivered_after_its_resend_is_reported_delivered_twice(
    harness: Harness,
) -> None:
    """The failed original arrives after the grace and its re-send: reported, not hidden."""
    office = desk(harness, watch=RESEND_ON_FAILURE)
    conversation = await start(harness.transport, NURSE)
    harness.fail_next_send(NURSE)

    intent_id = await office.outbox.send_message(conversation.id, PILLS)
    await office.run()
    await office.advance(SETTLE)
    await office.advance(GRACE.total_seconds())
    await office.run()
    await office.advance(SETTLE)
    original, resent = (await office.status(intent_id)).message_ids
    await harness.deliver_after_failure(original)
    await office.observe()
    await office.advance(3600)
    await office.run()
    final = await office.status(intent_id)

    assert (DeliveryState.DELIVERED, 1) == (final.state, final.resends)
    assert (True, True) == (final.recovered, final.delivered_twice)
    assert {original, resent} == set(final.delivered_message_ids)
    assert Counter({HELLO.text: 1, PILLS.text: 2}) == await office.texts(conversation.id)


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_failure_that_stays_failed_is_resent_once_over_the_next_service(
    harness: Harness,
) -> None:
    """An iMessage person whose message failed gets it once more, over SMS, under a derived key."""
    office = desk(harness, watch=RESEND_ON_FAILURE)
    conversation = await start(harness.transport, NURSE)
    harness.fail_next_send(NURSE)

    intent_id = await office.outbox.send_message(conversation.id, PILLS, idempotency_key="pills")
    await office.run()
    await office.advance(SETTLE)
    await office.run()
    within_grace = await office.texts(conversation.id)
    await office.advance(GRACE.total_seconds())
    await office.run()
    await office.advance(SETTLE)
    await office.run()
    await office.advance(3600)
    await office.run()
    final = await office.status(intent_id)

    assert Counter({HELLO.text: 1, PILLS.text: 1}) == within_grace
    assert Counter({HELLO.text: 1, PILLS.text: 2}) == await office.texts(conversation.id)
    first, resent = final.message_ids
    services = [(await harness.transport.get_message(m)).service for m in (first, resent)]
    assert [Service.IMESSAGE, Service.SMS] == services
    assert (DeliveryState.DELIVERED, Service.SMS) == (final.state, final.service)
    assert (1, ("failed",)) == (final.resends, final.fired)
    # The re-send went under the key derived from the intent's.
    again = await harness.transport.send_message(
        conversation.id, PILLS, preference=ServicePreference.SMS, idempotency_key="pills:resend-1"
    )
    assert (resent,) == again.message_ids


@pytest.mark.needs(Capability.IMESSAGE)
async def test_never_delivered_escalates_exactly_once_with_three_workers(
    harness: Harness,
) -> None:
    reminder = Watch(undelivered_after=timedelta(minutes=15))
    office = desk(harness, watch_by_kind={"medication-reminder": reminder}, workers=3)

    lost = await office.outbox.start_conversation([OLD_NUMBER], PILLS, kind="medication-reminder")
    fine = await office.outbox.start_conversation([CAREGIVER], PILLS, kind="medication-reminder")
    await office.run()
    for seconds in (60, 13 * 60, 60, 60, 3600, 6 * 3600):
        await office.advance(seconds)
        await office.run()
    escalated, delivered = await office.status(lost), await office.status(fine)

    assert [lost] == office.alerts.undelivered
    assert (DeliveryState.FAILED, ("undelivered",)) == (escalated.state, escalated.fired)
    assert (DeliveryState.READ, ()) == (delivered.state, delivered.fired)
    assert 1 == len(escalated.message_ids)


async def test_with_no_status_ever_heard_the_deadline_escalates_once_not_before(
    harness: Harness,
) -> None:
    """The webhooks never arrive: the deadline alone escalates, once, with three workers."""
    reminder = Watch(undelivered_after=timedelta(minutes=15))
    office = desk(harness, watch_by_kind={"medication-reminder": reminder}, workers=3)
    office.listening = False

    intent_id = await office.outbox.start_conversation(
        [CAREGIVER], PILLS, kind="medication-reminder"
    )
    await office.run()
    for _ in range(14):
        await office.advance(60)
        await office.run()
    at_14_minutes = list(office.alerts.undelivered)
    await office.advance(60)
    await office.run()
    await office.advance(3600)
    await office.run()

    assert [] == at_14_minutes
    assert [intent_id] == office.alerts.undelivered
    assert (DeliveryState.SENT, ("undelivered",)) == (
        (await office.status(intent_id)).state,
        (await office.status(intent_id)).fired,
    )
