"""``LinqTransport`` reads a chat once for a burst of sends, and afresh when it may have changed."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.linq import LinqTransport
from caresupport_transport import Handle, OutgoingMessage, ParticipantAdded
from caresupport_transport.inbound import MemoryEventStore

from .support import (
    CHAT_ID,
    GRANDMA,
    SON,
    Clock,
    RoutedLinq,
    group_json,
    make_transport,
    one_to_one_json,
    sent_json,
)

CHAT = f"/v3/chats/{CHAT_ID}"
SEND = f"{CHAT}/messages"
HELLO = OutgoingMessage.of_text("Pills at 9")
AUNT, NIECE, NURSE = "+16515550161", "+16515550162", "+16515550163"


def arrange(linq: RoutedLinq) -> None:
    linq.on_json("GET", CHAT, body=one_to_one_json(CHAT_ID, GRANDMA))
    linq.capable(GRANDMA, imessage=True)
    linq.on_json("POST", SEND, 202, sent_json())


async def test_a_burst_of_sends_reads_the_chat_once(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    arrange(linq)

    for _ in range(3):
        await transport.send_message(CHAT_ID, HELLO)

    assert (1, 3) == (len(linq.sent("GET", CHAT)), len(linq.sent("POST", SEND)))


async def test_the_chat_is_read_again_once_its_time_to_live_has_passed(
    linq: RoutedLinq, transport: LinqTransport, clock: Clock
) -> None:
    arrange(linq)

    await transport.send_message(CHAT_ID, HELLO)
    clock.now += 31
    await transport.send_message(CHAT_ID, HELLO)

    assert 2 == len(linq.sent("GET", CHAT))


async def test_a_time_to_live_of_zero_reads_the_chat_for_every_send(linq: RoutedLinq) -> None:
    arrange(linq)
    transport, http = make_transport(linq, conversation_ttl=0)
    async with http:
        await transport.send_message(CHAT_ID, HELLO)
        await transport.send_message(CHAT_ID, HELLO)

    assert 2 == len(linq.sent("GET", CHAT))


async def test_get_conversation_always_reads_the_chat_now(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    arrange(linq)

    await transport.send_message(CHAT_ID, HELLO)
    await transport.get_conversation(CHAT_ID)
    await transport.get_conversation(CHAT_ID)

    assert 3 == len(linq.sent("GET", CHAT))


async def test_a_group_change_reads_the_chat_fresh_and_later_sends_see_the_new_member(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.on_json("GET", CHAT, body=group_json(CHAT_ID, [GRANDMA, SON, AUNT]))
    linq.on_json("POST", f"{CHAT}/participants", 202, {"status": "accepted"})
    for handle in (GRANDMA, SON, AUNT, NIECE):
        linq.capable(handle, imessage=True)
    linq.on_json("POST", SEND, 202, sent_json())

    await transport.send_message(CHAT_ID, HELLO)
    changed = await transport.add_participant(CHAT_ID, Handle(NIECE))
    await transport.send_message(CHAT_ID, HELLO)

    assert Handle(NIECE) in changed.participants
    assert 2 == len(linq.sent("GET", CHAT))  # the add read it fresh; the send reused that
    assert {GRANDMA, SON, AUNT, NIECE} <= {b["address"] for b in linq.bodies("POST", ".*check_.*")}


async def test_a_participant_event_makes_the_next_send_read_the_chat_again(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    arrange(linq)
    transport.on_inbound(_ignore)
    dispatcher = transport.inbound_dispatcher(MemoryEventStore())

    await transport.send_message(CHAT_ID, HELLO)
    await dispatcher.dispatch(
        ParticipantAdded("evt-1", datetime(2026, 11, 1, tzinfo=UTC), CHAT_ID, Handle(NURSE))
    )
    await transport.send_message(CHAT_ID, HELLO)

    assert 2 == len(linq.sent("GET", CHAT))


async def _ignore(event: object) -> None:
    return None
