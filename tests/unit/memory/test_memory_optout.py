"""The World's opt-outs, health and blocklist, and InMemoryTransport on top of them."""

from __future__ import annotations

import pytest

from adapters.memory import InMemoryTransport, RecipientKind, World
from caresupport_transport import (
    BlockedError,
    ConversationHealth,
    ConversationHealthChanged,
    Handle,
    InboundEvent,
    MediaPart,
    OptedIn,
    OptedOut,
    OptedOutError,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    TextPart,
    ValidationError,
    VoiceMemo,
)

GRANDMA = Handle("+16515550101")
AUNT = Handle("+16515550107")
HELLO = (TextPart("Hello"),)
MEMO = VoiceMemo(MediaPart(url="https://example.org/memo.m4a"))


def _world() -> World:
    world = World(seed=3)
    world.add_recipient(GRANDMA, RecipientKind.IMESSAGE)
    world.add_recipient(AUNT, RecipientKind.IMESSAGE)
    return world


def test_a_keyword_records_opted_out_marks_the_chat_and_refuses_a_direct_send() -> None:
    world = _world()
    chat = world.create_conversation([GRANDMA])
    world.receive_text(GRANDMA, "STOP")
    assert [OptedOut] == [type(e) for e in world.drain() if isinstance(e, OptedOut | OptedIn)]
    assert ConversationHealth.OPTED_OUT == world.health_of(chat.id)
    count = len(world.messages)
    with pytest.raises(OptedOutError) as refused:
        world.send(chat.id, HELLO)
    assert (count, 403, 2024) == (len(world.messages), refused.value.status, refused.value.code)


def test_an_override_goes_through_once_and_is_recorded() -> None:
    world = _world()
    chat = world.create_conversation([GRANDMA])
    world.receive_text(GRANDMA, "QUIT")
    world.send(chat.id, HELLO, override_optout=True)
    assert [(chat.id, GRANDMA)] == world.opt_out_overrides
    with pytest.raises(OptedOutError):
        world.send(chat.id, HELLO)


def test_any_other_message_clears_the_opt_out_and_the_chat_health() -> None:
    world = _world()
    chat = world.create_conversation([GRANDMA])
    group = world.create_conversation([GRANDMA, AUNT])
    world.receive_text(GRANDMA, "STOP")
    world.receive_text(GRANDMA, "👍", conversation_id=group.id)
    assert [OptedOut, OptedIn] == [
        type(e) for e in world.drain() if isinstance(e, OptedOut | OptedIn)
    ]
    assert (ConversationHealth.HEALTHY, False) == (
        world.health_of(chat.id),
        world.is_opted_out(GRANDMA),
    )


def test_set_health_takes_at_risk_and_critical_but_not_opted_out() -> None:
    world = _world()
    chat = world.create_conversation([GRANDMA])
    world.set_health(chat.id, ConversationHealth.AT_RISK)
    assert ConversationHealth.AT_RISK == world.health_of(chat.id)
    with pytest.raises(ValidationError):
        world.set_health(chat.id, ConversationHealth.OPTED_OUT)


def test_set_health_records_each_change_once_with_the_health_before() -> None:
    world = _world()
    chat = world.create_conversation([GRANDMA])
    world.drain()
    world.set_health(chat.id, ConversationHealth.AT_RISK)
    world.set_health(chat.id, ConversationHealth.AT_RISK)
    world.set_health(chat.id, ConversationHealth.CRITICAL)
    changes = [e for e in world.drain() if isinstance(e, ConversationHealthChanged)]
    assert [
        (chat.id, ConversationHealth.AT_RISK, ConversationHealth.HEALTHY),
        (chat.id, ConversationHealth.CRITICAL, ConversationHealth.AT_RISK),
    ] == [(e.conversation_id, e.health, e.previous) for e in changes]


def test_a_blocked_sender_is_dropped_before_any_event_or_conversation() -> None:
    world = _world()
    world.block(GRANDMA, reason="spam")
    dropped = world.receive_text(GRANDMA, "hello")
    assert ([], {}, [dropped]) == (world.drain(), world.conversations, world.dropped_inbound)
    with pytest.raises(BlockedError):
        world.check_direct_send([GRANDMA])
    world.check_direct_send([GRANDMA, AUNT])  # a group with an unblocked member goes


async def test_the_transport_refuses_a_voice_memo_to_someone_opted_out_before_sending() -> None:
    memory = InMemoryTransport(_world())
    chat = (await memory.start_conversation([GRANDMA], OutgoingMessage(HELLO))).conversation
    await memory.inject_message(GRANDMA, "STOP")
    sent = len(memory.sent)
    with pytest.raises(OptedOutError):
        await memory.send_voice_memo(chat.id, MEMO)
    receipt = await memory.send_voice_memo(chat.id, MEMO, override_optout=True)
    assert (sent + 1, (GRANDMA,)) == (len(memory.sent), receipt.opt_out_overridden)


async def test_override_optout_must_be_a_bool_at_the_port() -> None:
    memory = InMemoryTransport(_world())
    with pytest.raises(ValidationError) as bad:
        await memory.start_conversation(
            [GRANDMA],
            OutgoingMessage(HELLO),
            override_optout=1,  # type: ignore[arg-type]
        )
    assert ("override_optout", []) == (bad.value.field, memory.sent)


async def test_a_tapback_sent_as_text_to_someone_opted_out_is_refused_before_sending() -> None:
    world = _world()
    world.add_recipient(GRANDMA, RecipientKind.SMS_ONLY)
    memory = InMemoryTransport(world)
    heard: list[InboundEvent] = []

    async def care(event: InboundEvent) -> None:
        heard.append(event)

    memory.on_inbound(care)
    chat = (await memory.start_conversation([GRANDMA], OutgoingMessage(HELLO))).conversation
    asked = await memory.inject_message(GRANDMA, "Is the visit still on?")
    await memory.inject_message(GRANDMA, "STOP")
    sent = len(memory.sent)
    with pytest.raises(OptedOutError):
        await memory.react(asked.id, Reaction(ReactionKind.LIKE))
    assert (sent, chat.id) == (len(memory.sent), asked.conversation_id)
    assert GRANDMA in memory.consent.opted_out  # refused by what the transport heard
    assert isinstance(heard[-1], OptedOut)
