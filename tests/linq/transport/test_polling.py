"""Polling: every chat and page, cursors that move only past what was handled, no duplicates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from adapters.linq import LinqTransport
from adapters.linq._polling import Poller
from caresupport_transport import (
    ConfigurationError,
    DispatchOutcome,
    InboundEvent,
    MediaPart,
    MessageReceived,
    SqliteEventStore,
)
from caresupport_transport.inbound import Inbox, MemoryEventStore

from .history import NOW, History
from .support import GRANDMA, NURSE, RoutedLinq, make_transport


@attrs.define
class Care:
    """The care logic's handler: records message texts, fails on the texts it is told to."""

    texts: list[str] = attrs.Factory(list)
    events: list[MessageReceived] = attrs.Factory(list)
    fail_on: set[str] = attrs.Factory(set)

    async def __call__(self, event: InboundEvent) -> None:
        assert isinstance(event, MessageReceived)
        if event.message.text in self.fail_on:
            raise RuntimeError("the care logic's database is briefly down")
        self.events.append(event)
        self.texts.append(event.message.text)


@pytest.fixture
def history(linq: RoutedLinq) -> History:
    made = History()
    made.install(linq)
    return made


@pytest.fixture
def care() -> Care:
    return Care()


@pytest.fixture
async def poller(linq: RoutedLinq, care: Care) -> AsyncIterator[LinqTransport]:
    transport, http = make_transport(linq, wall_clock=lambda: NOW)
    transport.on_inbound(care)
    async with http:
        yield transport


def message_listings(linq: RoutedLinq) -> int:
    return len(linq.sent("GET", "/v3/chats/[^/]+/messages"))


async def test_every_chat_and_every_page_is_polled(
    history: History, poller: LinqTransport, care: Care, linq: RoutedLinq
) -> None:
    for n in range(205):
        history.add_chat(f"chat-{n:03d}", f"+1651555{n:04d}")
        history.add_message(f"chat-{n:03d}", f"hello {n}")
    for n in range(119):
        history.add_message("chat-000", f"more {n}", ago=timedelta(minutes=4, seconds=-n))
    report = await poller.poll_once(MemoryEventStore())
    assert (205, 324) == (report.chats, report.handled)
    assert 3 == len(linq.sent("GET", "/v3/chats"))
    from_first_chat = [t for t in care.texts if t.startswith(("hello 0", "more"))]
    assert ["hello 0", *(f"more {n}" for n in range(119))] == from_first_chat


async def test_a_second_poll_delivers_only_what_is_new(
    history: History, poller: LinqTransport, care: Care, linq: RoutedLinq
) -> None:
    store = MemoryEventStore()
    history.add_chat("chat-1", GRANDMA)
    history.add_chat("chat-2", NURSE)
    history.add_message("chat-1", "Did I take my pills?")
    await poller.poll_once(store)
    history.add_message("chat-2", "Running late", ago=timedelta(minutes=1))
    before = message_listings(linq)
    report = await poller.poll_once(store)
    assert (["Did I take my pills?", "Running late"], 1) == (care.texts, report.handled)
    assert 2 == message_listings(linq) - before  # one page per chat: the cursor is on it


async def test_a_media_only_message_is_delivered(
    history: History, poller: LinqTransport, care: Care
) -> None:
    history.add_chat("chat-1", GRANDMA)
    history.add_message("chat-1", media_url="https://cdn.example/rash.jpg")
    await poller.poll_once(MemoryEventStore())
    [event] = care.events
    assert [
        MediaPart(
            url="https://cdn.example/rash.jpg",
            content_type="image/jpeg",
            size_bytes=2048,
            filename="photo.jpg",
        )
    ] == list(event.message.parts)


async def test_a_failing_handler_keeps_the_cursor_and_the_next_poll_resumes(
    history: History, poller: LinqTransport, care: Care
) -> None:
    store = MemoryEventStore()
    history.add_chat("chat-1", GRANDMA)
    for n, text in enumerate(["one", "two", "three", "four"]):
        history.add_message("chat-1", text, ago=timedelta(minutes=10 - n))
    care.fail_on = {"three"}
    first = await poller.poll_once(store)
    care.fail_on = set()
    second = await poller.poll_once(store)
    assert (("chat-1",), ()) == (first.failed_chats, second.failed_chats)
    assert ["one", "two", "three", "four"] == care.texts


async def test_a_restart_with_sqlite_resumes_without_redelivering(
    history: History, linq: RoutedLinq, care: Care, tmp_path: Path
) -> None:
    history.add_chat("chat-1", GRANDMA)
    history.add_message("chat-1", "before the restart", ago=timedelta(minutes=9))
    for _ in range(2):  # two processes, one after the other, on one database file
        store = SqliteEventStore(tmp_path / "events.sqlite")
        transport, http = make_transport(linq, wall_clock=lambda: NOW)
        transport.on_inbound(care)
        async with http:
            await transport.poll_once(store)
        await store.close()
        history.add_message("chat-1", "after the restart", ago=timedelta(minutes=1))
    assert ["before the restart", "after the restart"] == care.texts


async def test_the_first_poll_of_a_chat_reads_the_last_day_only(
    history: History, poller: LinqTransport, care: Care
) -> None:
    store = MemoryEventStore()
    history.add_chat("chat-1", GRANDMA)
    history.add_message("chat-1", "last week", ago=timedelta(days=7))
    history.add_message("chat-1", "this morning", ago=timedelta(hours=3))
    await poller.poll_once(store)
    await poller.poll_once(store)
    assert ["this morning"] == care.texts


async def test_our_own_messages_are_not_delivered_by_polling(
    history: History, poller: LinqTransport, care: Care
) -> None:
    store = MemoryEventStore()
    history.add_chat("chat-1", GRANDMA)
    history.add_message("chat-1", "Reminder: pills at 8", ago=timedelta(minutes=3), from_me=True)
    history.add_message("chat-1", "Done!", ago=timedelta(minutes=2))
    await poller.poll_once(store)
    history.add_message("chat-1", "Thanks", ago=timedelta(minutes=1), from_me=True)
    await poller.poll_once(store)
    assert ["Done!"] == care.texts


async def test_a_message_seen_by_webhook_is_not_delivered_again_by_polling(
    history: History, poller: LinqTransport, care: Care
) -> None:
    history.add_chat("chat-1", GRANDMA)
    history.add_message("chat-1", "Is the nurse coming?")
    dispatcher = poller.inbound_dispatcher(MemoryEventStore())
    await poller.poll_once(dispatcher)
    [polled] = care.events
    webhook_copy = attrs.evolve(polled, event_id="evt-from-webhook")
    assert DispatchOutcome.DUPLICATE == await dispatcher.dispatch(webhook_copy)
    assert ["Is the nurse coming?"] == care.texts


async def test_a_chat_that_cannot_be_read_does_not_stop_the_others(
    history: History, poller: LinqTransport, care: Care
) -> None:
    history.add_chat("chat-1", GRANDMA)
    history.add_chat("chat-2", NURSE)
    history.add_message("chat-1", "lost for now")
    history.add_message("chat-2", "still heard")
    history.broken.add("chat-1")
    report = await poller.poll_once(MemoryEventStore())
    assert (("chat-1",), ["still heard"]) == (report.failed_chats, care.texts)


async def test_poll_forever_polls_every_interval(
    history: History, poller: LinqTransport, care: Care
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        history.add_message("chat-1", f"message {len(waits)}", ago=timedelta(seconds=10))

    history.add_chat("chat-1", GRANDMA)
    await poller.poll_forever(MemoryEventStore(), interval=15, sleep=sleep, rounds=3)
    assert ([15, 15], ["message 1", "message 2"]) == (waits, care.texts)


async def test_a_cursor_never_moves_back_when_its_message_is_deleted(
    history: History, poller: LinqTransport, care: Care
) -> None:
    store = MemoryEventStore()
    history.add_chat("chat-1", GRANDMA)
    history.add_message("chat-1", "older", ago=timedelta(minutes=10))
    history.add_message("chat-1", "newest", ago=timedelta(minutes=5))
    await poller.poll_once(store)
    cursor = store.cursors["chat:chat-1"]
    history.chats["chat-1"].pop()  # deleted from Linq's records since
    await poller.poll_once(store)
    assert (cursor, ["older", "newest"]) == (store.cursors["chat:chat-1"], care.texts)


async def test_polling_into_the_inbox_queues_once_moves_the_cursor_and_the_worker_hands_over(
    history: History, poller: LinqTransport, care: Care
) -> None:
    history.add_chat("chat-1", GRANDMA)
    history.add_message("chat-1", "Is the nurse coming?")
    history.add_message("chat-1", "She said 3pm")
    store = MemoryEventStore()
    inbox = Inbox(store, include_outbound=True)

    first = await poller.poll_once(inbox)
    again = await poller.poll_once(inbox)
    polled = Inbox.event_of(next(iter(store.inbox.values())))
    assert isinstance(polled, MessageReceived)
    webhook_copy = attrs.evolve(polled, event_id="evt-from-webhook")
    by_webhook = await inbox.dispatch(webhook_copy)
    assert [] == care.texts, "queued, not handled yet"
    await poller.inbox_worker(inbox).drain()

    assert (2, 0, 0) == (first.queued, first.handled, again.queued)
    assert DispatchOutcome.DUPLICATE == by_webhook
    assert ["Is the nurse coming?", "She said 3pm"] == care.texts
    assert {} == store.inbox


@pytest.mark.parametrize("listed_by_time", [False, True], ids=["listed-newest", "listed-by-time"])
async def test_a_message_recovered_late_into_the_past_is_delivered_once(
    history: History, poller: LinqTransport, care: Care, listed_by_time: bool
) -> None:
    """Reconciled after the poller passed its time: found in the look-back window, once."""
    store = MemoryEventStore()
    history.add_chat("chat-1", GRANDMA)
    history.add_message("chat-1", "Morning!", ago=timedelta(hours=3))
    history.add_message("chat-1", "Lunch was good", ago=timedelta(minutes=10))
    await poller.poll_once(store)
    history.add_message(
        "chat-1",
        "I fell but I am fine",
        ago=timedelta(hours=2),
        reconciled_ago=timedelta(minutes=1),
        listed_by_time=listed_by_time,
    )
    await poller.poll_once(store)
    await poller.poll_once(store)
    assert ["Morning!", "Lunch was good", "I fell but I am fine"] == care.texts
    late = care.events[-1]
    assert (True, NOW - timedelta(minutes=1)) == (late.reconciled, late.message.reconciled_at)


async def test_a_message_recovered_later_than_the_window_behind_the_cursor_is_not_reread(
    history: History, linq: RoutedLinq, care: Care
) -> None:
    """The window is what it says: a message listed by a time older than it is out of reach."""
    transport, http = make_transport(
        linq, wall_clock=lambda: NOW, poll_window=timedelta(minutes=30)
    )
    transport.on_inbound(care)
    history.install(linq)
    store = MemoryEventStore()
    history.add_chat("chat-1", GRANDMA)
    history.add_message("chat-1", "Breakfast", ago=timedelta(hours=1))
    history.add_message("chat-1", "Lunch was good", ago=timedelta(minutes=10))
    async with http:
        await transport.poll_once(store)
        history.add_message(
            "chat-1",
            "sent two hours ago",
            ago=timedelta(hours=2),
            reconciled_ago=timedelta(minutes=1),
            listed_by_time=True,
        )
        history.add_message("chat-1", "Dinner?", ago=timedelta(minutes=1))
        await transport.poll_once(store)
    # Listed by time behind "Breakfast", which is older than the window: not reached.
    assert ["Breakfast", "Lunch was good", "Dinner?"] == care.texts


def test_a_window_outside_the_stores_memory_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="reconcile_window"):
        Poller(None, None, reconcile_window=timedelta(hours=25))  # type: ignore[arg-type]
