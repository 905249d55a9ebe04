"""Care turns: a key's quick texts handed over as one ``Turn``, nothing lost or doubled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.memory import InMemoryTransport
from caresupport_transport import (
    ConfigurationError,
    DeliveryStatus,
    Direction,
    MediaPart,
    MessageReceived,
    MessageStatusChanged,
    TextPart,
    ValidationError,
)
from caresupport_transport.inbound import (
    DEFAULT_MAX_WAIT,
    DEFAULT_QUIET,
    Coalescing,
    Inbox,
    InboxWorker,
    MemoryEventStore,
    RetrySchedule,
    Turn,
    reply_key,
)

from .builders import T0, received
from .virtual_time import VirtualTime

RETRY = RetrySchedule(first_delay=timedelta(seconds=2), factor=1.0, jitter=0.0)
SECOND = timedelta(seconds=1)


@dataclass
class Harness:
    time: VirtualTime
    inbox: Inbox
    store: MemoryEventStore
    turns: list[Turn]

    def worker(
        self, handler: Callable[[Turn], Awaitable[None]], policy: Coalescing | None = None
    ) -> InboxWorker:
        return InboxWorker(
            self.inbox,
            handler,
            turns=policy or Coalescing(),
            schedule=RETRY,
            sleep=self.time.sleep,
            poll_interval=0.5,
        )

    async def until_empty(self) -> None:
        while await self.store.entries(state=None, limit=1):
            await self.time.sleep(0.5)


def harness() -> Harness:
    time = VirtualTime()
    store = MemoryEventStore()
    return Harness(time, Inbox(store, clock=time.clock), store, [])


def media(event_id: str) -> MessageReceived:
    event = received(event_id)
    photo = MediaPart(url="https://example.com/pill.jpg", content_type="image/jpeg")
    message = event.message
    return MessageReceived(
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        conversation_id=event.conversation_id,
        message=type(message)(
            id=message.id,
            conversation_id=message.conversation_id,
            direction=message.direction,
            sender=message.sender,
            parts=(TextPart("this one?"), photo),
            service=message.service,
            status=message.status,
            created_at=message.created_at,
        ),
    )


def ids(turn: Turn) -> list[str]:
    return [event.event_id for event in turn.events]


async def test_a_three_text_burst_becomes_one_turn_once_the_chat_is_quiet() -> None:
    h = harness()
    started_at: list[timedelta] = []

    async def care(turn: Turn) -> None:
        started_at.append(h.time.now - T0)
        h.turns.append(turn)

    worker = h.worker(care)

    async def scenario() -> None:
        worker.start()
        for event_id, text in [("e1", "hi"), ("e2", "mum's pills"), ("e3", "the blue ones?")]:
            await h.inbox.dispatch(received(event_id, text=text))
            await h.time.sleep(0.5)
        await h.until_empty()
        await worker.stop()

    await h.time.run(scenario())

    assert [["e1", "e2", "e3"]] == [ids(turn) for turn in h.turns]
    assert "hi\nmum's pills\nthe blue ones?" == h.turns[0].text
    assert 1 == h.turns[0].attempt
    assert started_at[0] >= timedelta(seconds=1) + DEFAULT_QUIET, "waits for 1.5 s of quiet"
    assert started_at[0] < timedelta(seconds=1) + DEFAULT_QUIET + SECOND
    assert 3 == worker.handled


async def test_a_chat_that_never_goes_quiet_gets_its_turn_at_the_maximum_wait() -> None:
    h = harness()
    started_at: list[timedelta] = []

    async def care(turn: Turn) -> None:
        started_at.append(h.time.now - T0)
        h.turns.append(turn)

    worker = h.worker(care)

    async def scenario() -> None:
        worker.start()
        for n in range(12):
            await h.inbox.dispatch(received(f"e{n}"))
            await h.time.sleep(1.0)
        await h.until_empty()
        await worker.stop()

    await h.time.run(scenario())

    assert DEFAULT_MAX_WAIT <= started_at[0] < DEFAULT_MAX_WAIT + SECOND
    assert [f"e{n}" for n in range(12)] == [i for turn in h.turns for i in ids(turn)]
    assert len(h.turns) >= 2


async def test_media_closes_the_turn_at_once_and_what_follows_starts_the_next() -> None:
    h = harness()
    started_at: list[timedelta] = []

    async def care(turn: Turn) -> None:
        started_at.append(h.time.now - T0)
        h.turns.append(turn)

    worker = h.worker(care)

    async def scenario() -> None:
        await h.inbox.dispatch(received("e1", text="is this the right pill"))
        await h.inbox.dispatch(media("e2"))
        await h.inbox.dispatch(received("e3", text="thanks"))
        worker.start()
        await h.until_empty()
        await worker.stop()

    await h.time.run(scenario())

    assert [["e1", "e2"], ["e3"]] == [ids(turn) for turn in h.turns]
    assert timedelta(0) == started_at[0], "no quiet window after media"
    assert ("https://example.com/pill.jpg",) == tuple(p.url for p in h.turns[0].media)
    assert "is this the right pill\nthis one?" == h.turns[0].text


async def test_a_text_the_caller_marks_urgent_closes_the_turn_at_once() -> None:
    h = harness()
    started_at: list[timedelta] = []

    def urgent(event: object) -> bool:
        return isinstance(event, MessageReceived) and "fell" in event.message.text

    async def care(turn: Turn) -> None:
        started_at.append(h.time.now - T0)
        h.turns.append(turn)

    worker = h.worker(care, Coalescing(urgent=urgent))

    async def scenario() -> None:
        await h.inbox.dispatch(received("e1", text="mum"))
        await h.inbox.dispatch(received("e2", text="she fell"))
        worker.start()
        await h.until_empty()
        await worker.stop()

    await h.time.run(scenario())

    assert [["e1", "e2"]] == [ids(turn) for turn in h.turns]
    assert [timedelta(0)] == started_at


async def test_a_failed_turn_comes_back_whole_with_what_arrived_meanwhile() -> None:
    h = harness()
    seen: list[Turn] = []

    async def care(turn: Turn) -> None:
        seen.append(turn)
        if len(seen) == 1:
            await h.inbox.dispatch(received("e3", text="hello?"))
            raise RuntimeError("the language model timed out")

    worker = h.worker(care)

    async def scenario() -> None:
        await h.inbox.dispatch(received("e1"))
        await h.inbox.dispatch(received("e2"))
        worker.start()
        await h.until_empty()
        await worker.stop()

    await h.time.run(scenario())

    assert [["e1", "e2"], ["e1", "e2", "e3"]] == [ids(turn) for turn in seen]
    assert [1, 2] == [turn.attempt for turn in seen]
    assert seen[0].reply_key() != seen[1].reply_key(), "a turn that gained a message is new"
    assert 3 == worker.handled
    assert 1 == worker.failed


async def test_a_turn_handled_again_unchanged_keeps_its_reply_key() -> None:
    first = Turn("conversation:chat-1", [received("e1"), received("e2")])
    again = Turn("conversation:chat-1", [received("e1"), received("e2")], attempt=2)

    assert first.reply_key("answer") == again.reply_key("answer")
    assert first.reply_key("answer") != first.reply_key("reminder")
    assert reply_key(received("e1"), "answer") != first.reply_key("answer")
    with pytest.raises(ValidationError, match="label"):
        first.reply_key("")


async def test_a_message_arriving_while_the_turn_runs_supersedes_it_and_starts_the_next() -> None:
    h = harness()
    flags: list[bool] = []

    async def care(turn: Turn) -> None:
        h.turns.append(turn)
        if len(h.turns) == 1:
            await h.inbox.dispatch(received("e2", text="never mind, she took them"))
            await asyncio.wait_for(turn.wait_superseded(), timeout=5)
        flags.append(turn.superseded)

    worker = h.worker(care)

    async def scenario() -> None:
        await h.inbox.dispatch(received("e1", text="did mum take her pills?"))
        worker.start()
        await h.until_empty()
        await worker.stop()

    await h.time.run(scenario())

    assert [["e1"], ["e2"]] == [ids(turn) for turn in h.turns]
    assert [True, False] == flags


async def test_a_delivery_receipt_arriving_during_the_turn_does_not_supersede_it() -> None:
    h = harness()
    answers: list[bool] = []
    receipt = MessageStatusChanged(
        event_id="s1",
        occurred_at=T0,
        conversation_id="chat-1",
        message_id="out-1",
        status=DeliveryStatus.DELIVERED,
    )

    async def care(turn: Turn) -> None:
        h.turns.append(turn)
        if len(h.turns) == 1:
            await h.inbox.dispatch(receipt)
            await h.time.sleep(2)
        answers.append(await turn.check_superseded())

    worker = h.worker(care)

    async def scenario() -> None:
        await h.inbox.dispatch(received("e1"))
        worker.start()
        await h.until_empty()
        await worker.stop()

    await h.time.run(scenario())

    assert [["e1"], ["s1"]] == [ids(turn) for turn in h.turns]
    assert [False, False] == answers


async def test_a_turn_adapted_by_the_transports_relay_reads_our_echo_as_a_status() -> None:
    time = VirtualTime()
    inbox = Inbox(MemoryEventStore(), clock=time.clock, include_outbound=True)
    transport = InMemoryTransport()
    seen: list[Turn] = []
    flags: list[bool] = []

    async def care(turn: Turn) -> None:
        seen.append(turn)
        if len(seen) == 1:
            await inbox.dispatch(received("echo-2", direction=Direction.OUTBOUND))
            await time.sleep(1)
        flags.append(await turn.check_superseded())

    worker = InboxWorker(
        inbox,
        care,
        turns=Coalescing(),
        adapt=transport.inbound_relay().adapt,
        sleep=time.sleep,
        poll_interval=0.5,
    )

    async def scenario() -> None:
        await inbox.dispatch(received("echo-1", direction=Direction.OUTBOUND))
        await inbox.dispatch(received("e1", text="thanks"))
        await worker.drain()
        await time.sleep(1)
        await worker.drain()

    await time.run(scenario())

    assert [MessageStatusChanged, MessageReceived] == [type(e) for e in seen[0].events]
    assert "thanks" == seen[0].text
    assert [False, False] == flags, "our own echo supersedes nothing"


def test_coalescing_settings_out_of_range_are_refused_naming_them() -> None:
    with pytest.raises(ConfigurationError, match="quiet"):
        Coalescing(quiet=timedelta(0))
    with pytest.raises(ConfigurationError, match="max_wait"):
        Coalescing(quiet=timedelta(seconds=5), max_wait=timedelta(seconds=2))
    with pytest.raises(ConfigurationError, match="max_events"):
        Coalescing(max_events=0)
    with pytest.raises(ConfigurationError, match="check_interval"):
        Coalescing(check_interval=timedelta(seconds=-1))


# --- Bursts, failures and deaths: every message in exactly one successful turn ----------


class Died(BaseException):
    """A worker's death in the middle of a turn: nothing is acknowledged or rescheduled."""


@dataclass(frozen=True)
class Text:
    """One text of a burst: the gap before it, and how its turn goes (the first time)."""

    gap: float
    work: float
    fate: str


TEXTS = st.builds(
    Text,
    gap=st.sampled_from([0.0, 0.1, 0.4, 1.0, 1.4, 1.6, 2.5, 4.0]),
    work=st.sampled_from([0.0, 0.3, 1.0, 3.0]),
    fate=st.sampled_from(["ok", "ok", "ok", "fail", "die"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(burst=st.lists(TEXTS, min_size=1, max_size=10), workers=st.integers(1, 2))
def test_bursts_with_failures_and_deaths_hand_every_message_to_one_successful_turn_in_order(
    burst: list[Text], workers: int
) -> None:
    asyncio.run(_bursts(burst, workers))


async def _bursts(burst: list[Text], workers: int) -> None:
    h = harness()
    dispatched: list[int] = []
    successes: list[list[int]] = []
    fated: set[int] = set()
    superseded: list[tuple[bool, bool]] = []

    async def care(turn: Turn) -> None:
        members = [int(event.event_id[1:]) for event in turn.events]
        lead = burst[members[0]]
        await h.time.sleep(lead.work)
        if members[0] not in fated and lead.fate != "ok":
            fated.add(members[0])
            if lead.fate == "die":
                raise Died
            raise RuntimeError("the language model failed")
        # Recorded, not asserted: the worker would take a failed assertion for a failed turn.
        newer_arrived = len(dispatched) > members[-1] + 1
        superseded.append((newer_arrived, await turn.check_superseded()))
        successes.append(members)

    running = [h.worker(care) for _ in range(workers)]

    async def scenario() -> None:
        for worker in running:
            worker.start()
        for n, message in enumerate(burst):
            await h.time.sleep(message.gap)
            await h.inbox.dispatch(received(f"e{n}", text=f"text {n}"))
            dispatched.append(n)
        await h.until_empty()
        for worker in running:
            await worker.stop()

    await h.time.run(scenario())

    assert list(range(len(burst))) == [n for turn in successes for n in turn]
    assert [expected for expected, _ in superseded] == [seen for _, seen in superseded]
    assert [] == await h.store.entries(state=None, limit=10)
