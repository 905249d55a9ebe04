"""The outbox over the in-memory adapter: intents recorded first, sent once, watched."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from adapters.memory import InMemoryTransport, RecipientKind
from caresupport_transport import (
    ConfigurationError,
    DeliveryStatus,
    Handle,
    MessageStatusChanged,
    OutgoingMessage,
    ProviderError,
    RateLimitedError,
    Service,
    UnreachableError,
    ValidationError,
)
from caresupport_transport.inbound import Inbox, MemoryEventStore
from caresupport_transport.outbound import (
    DeliveryState,
    IntentStatus,
    Outbox,
    OutboxWorker,
    Watch,
)
from tests.unit.inbound.builders import FakeClock, received

MUM = Handle("+16515550101")
PILLS = OutgoingMessage.of_text("Pills at 9: the blue ones")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@attrs.define
class Alerts:
    """The coordinator's pager: records what the watchdog called."""

    undelivered: list[str] = attrs.Factory(list)
    unread: list[str] = attrs.Factory(list)

    async def on_undelivered(self, status: IntentStatus) -> None:
        self.undelivered.append(status.intent.id)

    async def on_unread(self, status: IntentStatus) -> None:
        self.unread.append(status.intent.id)


def setup(
    watch: Watch | None = None, kind: RecipientKind = RecipientKind.IMESSAGE
) -> tuple[Outbox, OutboxWorker, InMemoryTransport, FakeClock, Alerts]:
    transport = InMemoryTransport(seed=7)
    transport.world.add_recipient(MUM, kind)
    clock = FakeClock(T0)
    outbox = Outbox(MemoryEventStore(), watch=watch or Watch(), clock=clock)
    alerts = Alerts()
    worker = OutboxWorker(
        outbox, transport, on_undelivered=alerts.on_undelivered, on_unread=alerts.on_unread
    )
    return outbox, worker, transport, clock, alerts


def status_event(message_id: str, status: DeliveryStatus, at: datetime) -> MessageStatusChanged:
    return MessageStatusChanged(
        event_id=f"st-{message_id}-{status.value}-{at.timestamp()}",
        occurred_at=at,
        conversation_id="c",
        message_id=message_id,
        status=status,
        service=Service.IMESSAGE,
    )


async def test_an_intent_is_recorded_before_any_io_and_sent_once_under_its_key() -> None:
    outbox, worker, transport, _, _ = setup()

    intent_id = await outbox.start_conversation([MUM], PILLS, idempotency_key="pills-0900")
    queued = await outbox.status(intent_id)
    assert [] == transport.sent
    await worker.drain()
    await worker.drain()

    assert queued is not None
    assert ("pills-0900", DeliveryState.QUEUED) == (intent_id, queued.state)
    [message] = transport.sent
    sent = await outbox.status(intent_id)
    assert sent is not None
    assert (DeliveryState.SENT, (message.id,), 1) == (sent.state, sent.message_ids, sent.attempts)
    assert ["pills-0900"] == [r.idempotency_key for r in transport.receipts]


async def test_a_generated_key_is_fixed_when_recorded() -> None:
    outbox, worker, transport, _, _ = setup()

    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()

    assert intent_id.startswith("outbox-")
    assert [intent_id] == [r.idempotency_key for r in transport.receipts]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda o: o.send_message("has space", PILLS), "conversation_id"),
        (lambda o: o.send_message("c1", "not a message"), "message"),
        (lambda o: o.start_conversation([], PILLS), "participants"),
        (lambda o: o.send_message("c1", PILLS, idempotency_key="has space"), "idempotency_key"),
        (lambda o: o.send_message("c1", PILLS, idempotency_key="k" * 201), "idempotency_key"),
        (lambda o: o.send_message("c1", PILLS, kind=""), "kind"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    call: object, field: str
) -> None:
    outbox, _, _, _, _ = setup()

    with pytest.raises(ValidationError) as caught:
        await call(outbox)  # type: ignore[operator]

    assert field == caught.value.field
    assert {} == outbox.store.outbox  # type: ignore[attr-defined]
    assert {} == outbox.store.inbox  # type: ignore[attr-defined]


async def test_the_same_key_twice_is_one_intent() -> None:
    outbox, worker, transport, _, _ = setup()

    await outbox.start_conversation([MUM], PILLS, idempotency_key="k1")
    await outbox.start_conversation([MUM], PILLS, idempotency_key="k1")
    await worker.drain()

    assert 1 == len(transport.sent)


@attrs.define
class DiesAfterSending:
    """A transport whose first send reaches the provider and then loses the answer."""

    inner: InMemoryTransport
    deaths: int = 1

    async def start_conversation(self, *args: object, **kwargs: object) -> object:
        started = await self.inner.start_conversation(*args, **kwargs)  # type: ignore[arg-type]
        if self.deaths:
            self.deaths -= 1
            raise UnreachableError("the answer was lost")
        return started

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_a_send_whose_answer_was_lost_is_retried_under_the_same_key_and_made_once() -> None:
    outbox, _, transport, clock, _ = setup()
    worker = OutboxWorker(outbox, DiesAfterSending(transport))  # type: ignore[arg-type]

    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    clock.advance(timedelta(minutes=1))
    await worker.drain()

    status = await outbox.status(intent_id)
    assert status is not None
    assert DeliveryState.SENT == status.state
    assert 1 == len(transport.sent)


async def test_a_permanent_refusal_fails_the_intent_and_alerts_at_once_never_retrying() -> None:
    outbox, worker, transport, clock, alerts = setup(Watch(undelivered_after=timedelta(minutes=15)))

    intent_id = await outbox.send_message("no-such-conversation", PILLS)
    await worker.drain()
    clock.advance(timedelta(hours=1))
    await worker.drain()

    status = await outbox.status(intent_id)
    assert status is not None
    assert DeliveryState.FAILED == status.state
    assert status.error is not None
    assert status.error.startswith("NotFoundError")
    assert [intent_id] == alerts.undelivered
    assert [] == transport.sent


async def test_a_send_refused_before_io_for_an_opt_out_fails_at_once_and_is_never_retried() -> None:
    outbox, worker, transport, clock, alerts = setup(Watch(undelivered_after=timedelta(minutes=15)))
    transport.consent.opted_out.add(MUM)  # heard earlier: MUM texted STOP

    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    clock.advance(timedelta(hours=1))
    await worker.drain()

    status = await outbox.status(intent_id)
    assert status is not None
    assert (DeliveryState.FAILED, [], {}) == (
        status.state,
        transport.sent,
        outbox.store.inbox,  # type: ignore[attr-defined]
    )
    assert status.error is not None
    assert status.error.startswith("OptedOutError")
    assert [intent_id] == alerts.undelivered


async def test_never_delivered_escalates_once_at_its_deadline_even_with_three_workers() -> None:
    outbox, _, transport, clock, alerts = setup(Watch(undelivered_after=timedelta(minutes=15)))
    workers = [
        OutboxWorker(outbox, transport, on_undelivered=alerts.on_undelivered) for _ in range(3)
    ]

    intent_id = await outbox.start_conversation([MUM], PILLS, kind="medication-reminder")
    await workers[0].drain()
    clock.advance(timedelta(minutes=14))
    await asyncio.gather(*(w.drain() for w in workers))
    assert [] == alerts.undelivered
    clock.advance(timedelta(minutes=1))
    await asyncio.gather(*(w.drain() for w in workers))
    clock.advance(timedelta(hours=1))
    await asyncio.gather(*(w.drain() for w in workers))

    assert [intent_id] == alerts.undelivered
    status = await outbox.status(intent_id)
    assert status is not None
    assert ("undelivered",) == status.fired


async def test_a_delivered_intent_never_escalates_and_a_read_one_stops_the_unread_rule() -> None:
    watch = Watch(undelivered_after=timedelta(minutes=15), unread_after=timedelta(hours=2))
    outbox, worker, _, clock, alerts = setup(watch)
    delivered_id = await outbox.start_conversation([MUM], PILLS, idempotency_key="a")
    await worker.drain()
    [message_id] = (await outbox.status(delivered_id)).message_ids  # type: ignore[union-attr]

    await outbox.observe(status_event(message_id, DeliveryStatus.DELIVERED, clock.now))
    clock.advance(timedelta(minutes=30))
    await worker.drain()
    await outbox.observe(status_event(message_id, DeliveryStatus.READ, clock.now))
    clock.advance(timedelta(hours=3))
    await worker.drain()

    status = await outbox.status(delivered_id)
    assert status is not None
    assert (DeliveryState.READ, ()) == (status.state, status.fired)
    assert ([], []) == (alerts.undelivered, alerts.unread)


async def test_delivered_but_unread_calls_on_unread_once() -> None:
    outbox, worker, _, clock, alerts = setup(Watch(unread_after=timedelta(hours=2)))
    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    [message_id] = (await outbox.status(intent_id)).message_ids  # type: ignore[union-attr]
    await outbox.observe(status_event(message_id, DeliveryStatus.DELIVERED, clock.now))

    clock.advance(timedelta(hours=2))
    await worker.drain()
    await worker.drain()

    assert [intent_id] == alerts.unread


async def test_a_late_delivered_after_failed_cancels_the_resend_no_second_text() -> None:
    watch = Watch(resend_on_failure=True, failure_grace=timedelta(minutes=2))
    outbox, worker, transport, clock, _ = setup(watch)
    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    [message_id] = (await outbox.status(intent_id)).message_ids  # type: ignore[union-attr]

    failed = await outbox.observe(status_event(message_id, DeliveryStatus.FAILED, clock.now))
    clock.advance(timedelta(minutes=1))
    late = await outbox.observe(status_event(message_id, DeliveryStatus.DELIVERED, clock.now))
    clock.advance(timedelta(minutes=5))
    await worker.drain()

    assert failed is not None
    assert late is not None
    assert (DeliveryState.FAILED, DeliveryState.DELIVERED) == (failed.state, late.state)
    assert 1 == len(transport.sent), "no second text"


async def test_a_failure_that_stays_failed_is_resent_once_over_the_next_service() -> None:
    watch = Watch(resend_on_failure=True, failure_grace=timedelta(minutes=2))
    outbox, worker, transport, clock, _ = setup(watch)
    intent_id = await outbox.start_conversation([MUM], PILLS, idempotency_key="pills")
    await worker.drain()
    [message_id] = (await outbox.status(intent_id)).message_ids  # type: ignore[union-attr]

    await outbox.observe(status_event(message_id, DeliveryStatus.FAILED, clock.now))
    clock.advance(timedelta(minutes=2))
    await worker.drain()
    await outbox.observe(status_event(message_id, DeliveryStatus.FAILED, clock.now))
    clock.advance(timedelta(minutes=5))
    await worker.drain()

    status = await outbox.status(intent_id)
    assert status is not None
    assert 2 == len(transport.sent)
    assert Service.SMS == transport.sent[1].service
    assert ["pills", "pills:resend-1"] == [r.idempotency_key for r in transport.receipts]
    assert (1, ("failed",)) == (status.resends, status.fired)


async def test_not_delivered_in_time_is_resent_over_the_next_service_once() -> None:
    outbox, worker, transport, clock, _ = setup(Watch(resend_after=timedelta(minutes=10)))
    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()

    clock.advance(timedelta(minutes=10))
    await worker.drain()
    clock.advance(timedelta(hours=1))
    await worker.drain()

    status = await outbox.status(intent_id)
    assert status is not None
    assert (2, 1) == (len(transport.sent), status.resends)


async def test_rules_are_chosen_by_kind_of_message() -> None:
    transport = InMemoryTransport(seed=7)
    transport.world.add_recipient(MUM, RecipientKind.IMESSAGE)
    clock = FakeClock(T0)
    alerts = Alerts()
    outbox = Outbox(
        MemoryEventStore(),
        clock=clock,
        watch_by_kind={"medication-reminder": Watch(undelivered_after=timedelta(minutes=15))},
    )
    worker = OutboxWorker(outbox, transport, on_undelivered=alerts.on_undelivered)

    reminder = await outbox.start_conversation([MUM], PILLS, kind="medication-reminder")
    chat = await outbox.send_message(
        (await transport.conversation_for(MUM)).id, OutgoingMessage.of_text("hello")
    )
    await worker.drain()
    clock.advance(timedelta(hours=1))
    await worker.drain()

    assert [reminder] == alerts.undelivered
    assert chat not in alerts.undelivered


async def test_a_cancelled_intent_is_never_sent_and_only_queued_ones_cancel() -> None:
    outbox, worker, transport, _, _ = setup()
    intent_id = await outbox.start_conversation([MUM], PILLS)

    assert await outbox.cancel(intent_id)
    assert not await outbox.cancel(intent_id)
    await worker.drain()

    assert [] == transport.sent
    status = await outbox.status(intent_id)
    assert status is not None
    assert DeliveryState.CANCELLED == status.state


async def test_a_failed_intent_can_be_retried_under_its_key() -> None:
    outbox, worker, _, _, _ = setup()
    refused = await outbox.send_message("no-such-conversation", PILLS, idempotency_key="r1")
    await worker.drain()

    assert await outbox.retry(refused)
    assert not await outbox.retry("absent")
    requeued = await outbox.status(refused)
    await worker.drain()
    again = await outbox.status(refused)

    assert requeued is not None
    assert again is not None
    assert (DeliveryState.QUEUED, None) == (requeued.state, requeued.error)
    assert (DeliveryState.FAILED, 2) == (again.state, again.attempts)


async def test_stats_and_listing() -> None:
    outbox, worker, _, _, _ = setup()
    first = await outbox.start_conversation([MUM], PILLS, idempotency_key="a")
    await worker.drain()
    second = await outbox.start_conversation([MUM], PILLS, idempotency_key="b")

    stats = await outbox.stats()
    listed = [s.intent.id for s in await outbox.intents()]
    queued = [s.intent.id for s in await outbox.intents(DeliveryState.QUEUED)]

    assert (1, 1, 0) == (
        stats[DeliveryState.SENT],
        stats[DeliveryState.QUEUED],
        stats[DeliveryState.FAILED],
    )
    assert [first, second] == listed
    assert [second] == queued


async def test_an_outbox_refuses_an_inbox_store_and_an_inbox_an_outbox_store() -> None:
    inbox_store = MemoryEventStore()
    await Inbox(inbox_store).dispatch(received("e1"))
    outbox_store = MemoryEventStore()
    await Outbox(outbox_store).start_conversation([MUM], PILLS)

    with pytest.raises(ConfigurationError, match="holds an inbox"):
        await Outbox(inbox_store).start_conversation([MUM], PILLS)
    with pytest.raises(ConfigurationError, match="holds an outbox"):
        await Inbox(outbox_store).dispatch(received("e2"))


async def test_watching_moves_intents_on_before_the_care_logic_hears() -> None:
    outbox, worker, _, clock, _ = setup()
    heard: list[DeliveryState] = []
    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    [message_id] = (await outbox.status(intent_id)).message_ids  # type: ignore[union-attr]

    async def care(event: object) -> None:
        status = await outbox.status(intent_id)
        assert status is not None
        heard.append(status.state)

    handler = outbox.watching(care)
    await handler(status_event(message_id, DeliveryStatus.DELIVERED, clock.now))
    await handler(received("unrelated"))

    assert [DeliveryState.DELIVERED, DeliveryState.DELIVERED] == heard


async def test_a_later_deadline_never_holds_an_earlier_check_back() -> None:
    watch = Watch(
        unread_after=timedelta(hours=2),
        resend_on_failure=True,
        failure_grace=timedelta(minutes=2),
    )
    outbox, worker, transport, clock, _ = setup(watch)
    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    [message_id] = (await outbox.status(intent_id)).message_ids  # type: ignore[union-attr]

    await outbox.observe(status_event(message_id, DeliveryStatus.FAILED, clock.now))
    clock.advance(timedelta(minutes=2))
    await worker.drain()

    assert 2 == len(transport.sent), "re-sent at the grace, not after the 2-hour unread check"


async def test_a_cancelled_failure_is_not_resent() -> None:
    watch = Watch(resend_on_failure=True, failure_grace=timedelta(minutes=2))
    outbox, worker, transport, clock, _ = setup(watch)
    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    [message_id] = (await outbox.status(intent_id)).message_ids  # type: ignore[union-attr]
    await outbox.observe(status_event(message_id, DeliveryStatus.FAILED, clock.now))

    assert await outbox.cancel(intent_id)
    clock.advance(timedelta(minutes=5))
    await worker.drain()

    assert 1 == len(transport.sent)


@attrs.define
class CancelledWhileSending:
    """A transport during whose send the care logic cancels the intent."""

    inner: InMemoryTransport
    outbox: Outbox
    intent_id: str = ""

    async def start_conversation(self, *args: object, **kwargs: object) -> object:
        assert await self.outbox.cancel(self.intent_id)
        return await self.inner.start_conversation(*args, **kwargs)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_a_cancel_that_loses_the_race_with_the_send_ends_sent_with_its_message() -> None:
    outbox, _, transport, _, _ = setup()
    racing = CancelledWhileSending(transport, outbox)
    worker = OutboxWorker(outbox, racing)  # type: ignore[arg-type]
    racing.intent_id = await outbox.start_conversation([MUM], PILLS)

    await worker.drain()

    status = await outbox.status(racing.intent_id)
    assert status is not None
    [message] = transport.sent
    assert (DeliveryState.SENT, (message.id,)) == (status.state, status.message_ids)


@attrs.define
class Flaky:
    """A transport whose first sends fail with ``errors``, one each, before it works."""

    inner: InMemoryTransport
    errors: list[Exception]

    async def start_conversation(self, *args: object, **kwargs: object) -> object:
        if self.errors:
            raise self.errors.pop(0)
        return await self.inner.start_conversation(*args, **kwargs)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_transient_failures_are_counted_on_the_intent_with_the_last_error() -> None:
    outbox, _, transport, clock, _ = setup()
    flaky = Flaky(transport, [UnreachableError("no answer"), UnreachableError("no answer")])
    worker = OutboxWorker(outbox, flaky)  # type: ignore[arg-type]
    intent_id = await outbox.start_conversation([MUM], PILLS)

    await worker.drain()
    waiting = await outbox.status(intent_id)
    for _ in range(2):
        clock.advance(timedelta(minutes=1))
        await worker.drain()
    sent = await outbox.status(intent_id)

    assert waiting is not None
    assert sent is not None
    assert (DeliveryState.QUEUED, 1) == (waiting.state, waiting.attempts)
    assert waiting.error is not None
    assert waiting.error.startswith("UnreachableError")
    assert (DeliveryState.SENT, 3, None) == (sent.state, sent.attempts, sent.error)
    assert (1, 1) == (len(transport.sent), worker.sent)


async def test_a_rate_limited_send_waits_at_least_as_long_as_the_provider_asked() -> None:
    outbox, _, transport, clock, _ = setup()
    limited = Flaky(transport, [RateLimitedError("slow down", retry_after=60.0)])
    worker = OutboxWorker(outbox, limited)  # type: ignore[arg-type]
    await outbox.start_conversation([MUM], PILLS)

    await worker.drain()
    clock.advance(timedelta(seconds=30))
    await worker.drain()
    assert [] == transport.sent, "the schedule alone would have tried again after 2 s"
    clock.advance(timedelta(seconds=31))
    await worker.drain()

    assert 1 == len(transport.sent)


@attrs.define
class RefusesResends:
    """A transport that refuses every send into a conversation for good (a blocked number)."""

    inner: InMemoryTransport

    async def send_message(self, *args: object, **kwargs: object) -> object:
        raise ProviderError("recipient blocked", status=403, code=2026)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_a_watchdog_resend_refused_for_good_ends_the_rule_without_retrying() -> None:
    watch = Watch(resend_on_failure=True, failure_grace=timedelta(minutes=2))
    outbox, _, transport, clock, _ = setup(watch)
    worker = OutboxWorker(outbox, RefusesResends(transport))  # type: ignore[arg-type]
    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    [message_id] = (await outbox.status(intent_id)).message_ids  # type: ignore[union-attr]
    await outbox.observe(status_event(message_id, DeliveryStatus.FAILED, clock.now))

    clock.advance(timedelta(minutes=2))
    await worker.drain()
    clock.advance(timedelta(hours=1))
    await worker.drain()

    status = await outbox.status(intent_id)
    assert status is not None
    assert (DeliveryState.FAILED, ("failed",), 0) == (status.state, status.fired, status.resends)
    assert {} == outbox.store.inbox  # type: ignore[attr-defined]


async def test_a_failure_records_its_code_and_opaque_detail_code_for_support() -> None:
    outbox, worker, _, clock, _ = setup()
    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    [message_id] = (await outbox.status(intent_id)).message_ids  # type: ignore[union-attr]
    failure = attrs.evolve(
        status_event(message_id, DeliveryStatus.FAILED, clock.now), error_code=4001, detail_code=17
    )

    failed = await outbox.observe(failure)

    assert failed is not None
    assert (DeliveryState.FAILED, "failed on imessage (error 4001, detail 17)") == (
        failed.state,
        failed.error,
    )


async def test_a_delivery_after_a_failure_is_recorded_as_recovered() -> None:
    outbox, worker, _, clock, _ = setup()
    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    [message_id] = (await outbox.status(intent_id)).message_ids  # type: ignore[union-attr]

    await outbox.observe(status_event(message_id, DeliveryStatus.DELIVERED, clock.now))
    plain = await outbox.status(intent_id)
    await outbox.observe(status_event(message_id, DeliveryStatus.FAILED, clock.now))
    clock.advance(timedelta(seconds=1))
    other = await outbox.start_conversation([Handle("+16515550102")], PILLS)
    await worker.drain()
    [other_id] = (await outbox.status(other)).message_ids  # type: ignore[union-attr]
    await outbox.observe(status_event(other_id, DeliveryStatus.FAILED, clock.now))
    await outbox.observe(status_event(other_id, DeliveryStatus.READ, clock.now))
    recovered = await outbox.status(other)

    assert plain is not None
    assert recovered is not None
    assert (False, (message_id,)) == (plain.recovered, plain.delivered_message_ids)
    assert (DeliveryState.READ, True, False) == (
        recovered.state,
        recovered.recovered,
        recovered.delivered_twice,
    )


async def test_a_lagging_original_delivered_after_its_resend_is_reported_twice_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox, worker, transport, clock, _ = setup(Watch(resend_after=timedelta(minutes=10)))
    intent_id = await outbox.start_conversation([MUM], PILLS)
    await worker.drain()
    clock.advance(timedelta(minutes=10))
    await worker.drain()
    original, resent = (await outbox.status(intent_id)).message_ids  # type: ignore[union-attr]

    for message_id in (resent, original):
        await outbox.observe(status_event(message_id, DeliveryStatus.DELIVERED, clock.now))
    await outbox.observe(status_event(original, DeliveryStatus.READ, clock.now))
    status = await outbox.status(intent_id)

    assert status is not None
    assert (2, True, False) == (len(transport.sent), status.delivered_twice, status.recovered)
    assert (resent, original) == status.delivered_message_ids
    twice = [r for r in caplog.records if "both arrived" in r.getMessage()]
    assert 1 == len(twice)
