"""Contract: where the adapters drifted apart, pinned so one shared ``Transport`` keeps them equal.

First contact through ``conversation_for``, re-sending a failed message on the
next service, and bad input refused with ``ValidationError`` before any request
reaches the provider (``harness.requests_made`` does not move).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest

from adapters.memory import RecipientKind
from caresupport_transport import (
    Degradation,
    DegradationAction,
    DeliveryStatus,
    Direction,
    Effect,
    FallbackPolicy,
    Feature,
    Handle,
    MediaPart,
    Message,
    OnUnsupported,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    ReplyTo,
    SendReceipt,
    ServicePreference,
    StartedConversation,
    Transport,
    UnsupportedError,
    ValidationError,
    VoiceMemo,
)

from .harness import Capability, Harness
from .support import (
    AUNT,
    CAREGIVER,
    GRANDSON,
    HELLO,
    NEIGHBOUR,
    NURSE,
    SETTLE,
    collect_conversations,
    drain,
    history,
    start,
    statuses_of,
)

CELEBRATE = OutgoingMessage.of_text(
    "Mum walked to the garden today!", effect=Effect.screen("confetti")
)
FIRST_MESSAGE_EFFECT = Degradation(
    Feature.EFFECT, DegradationAction.DROPPED, "the first message of a new chat carries no effect"
)
PILLS = OutgoingMessage.of_text("Pills at 9")
RESEND = FallbackPolicy(resend_on_failure=True)
MEMO = VoiceMemo(MediaPart(url="https://files.example.org/goodnight.m4a", content_type="audio/m4a"))


def outbound_with_text(messages: list[Message], text: str) -> list[Message]:
    """The outbound messages carrying ``text``, oldest first."""
    found = [m for m in messages if m.direction is Direction.OUTBOUND and m.text == text]
    return found[::-1]


# -- 1. first contact through conversation_for ------------------------------------------


@pytest.mark.needs(Capability.IMESSAGE)
async def test_the_first_message_to_a_new_person_drops_its_effect_and_says_so(
    transport: Transport,
) -> None:
    conversation = await transport.conversation_for(NURSE)
    receipt = await transport.send_message(conversation.id, CELEBRATE, idempotency_key="hello-1")
    assert (FIRST_MESSAGE_EFFECT,) == receipt.degradations
    assert "effect dropped: the first message of a new chat carries no effect" == str(
        receipt.degradations[0]
    )
    stored = await transport.get_message(receipt.message_id)
    assert (None, CELEBRATE.text) == (stored.effect, stored.text)
    assert [None] == [m.effect for m in await history(transport, conversation.id)]


@pytest.mark.parametrize("policy", [FallbackPolicy(effects=OnUnsupported.FAIL)], ids=["fail"])
async def test_the_first_message_to_a_new_person_fails_on_its_effect_if_told_to(
    transport: Transport,
) -> None:
    conversation = await transport.conversation_for(NURSE)
    with pytest.raises(UnsupportedError):
        await transport.send_message(conversation.id, CELEBRATE, idempotency_key="hello-1")
    assert await history(transport, conversation.id) == []
    assert await collect_conversations(transport) == []


async def test_the_first_message_to_a_new_person_may_not_be_a_reply(transport: Transport) -> None:
    elsewhere = await start(transport, CAREGIVER)
    earlier = (await history(transport, elsewhere.id))[0]
    conversation = await transport.conversation_for(NURSE)
    with pytest.raises(ValidationError) as info:
        await transport.send_message(
            conversation.id, OutgoingMessage.of_text("Re:", reply_to=ReplyTo(earlier.id))
        )
    # Whether a chat exists by now is the provider's to say (a read), so only
    # "nothing was sent" is promised here, not "no request".
    assert "reply_to.message_id" == info.value.field
    assert await history(transport, conversation.id) == []
    assert [elsewhere.id] == [c.id for c in await collect_conversations(transport)]


@pytest.mark.needs(Capability.IMESSAGE)
async def test_the_first_message_to_a_new_person_may_not_contain_a_url(
    transport: Transport,
) -> None:
    conversation = await transport.conversation_for(NURSE)
    with pytest.raises(ValidationError) as info:
        await transport.send_message(
            conversation.id, OutgoingMessage.of_text("See https://care.example.org/plan")
        )
    assert "message.parts" == info.value.field
    assert await history(transport, conversation.id) == []
    assert await collect_conversations(transport) == []


async def test_starting_a_chat_with_an_effect_is_refused_before_any_request(
    harness: Harness,
) -> None:
    before = harness.requests_made
    with pytest.raises(ValidationError) as info:
        await harness.transport.start_conversation([CAREGIVER], CELEBRATE)
    assert ("first_message.effect", before) == (info.value.field, harness.requests_made)
    assert await collect_conversations(harness.transport) == []


@pytest.mark.needs(Capability.IMESSAGE)
async def test_after_the_first_message_an_effect_goes_through(transport: Transport) -> None:
    conversation = await transport.conversation_for(NURSE)
    await transport.send_message(conversation.id, OutgoingMessage.of_text("Hello"))
    receipt = await transport.send_message(conversation.id, CELEBRATE)
    assert () == receipt.degradations
    assert Effect.screen("confetti") == (await transport.get_message(receipt.message_id)).effect


# -- 2. a failure reported later: passed on, re-sent only by the outbox's rule ----------
#
# Re-sending it at once could text a person twice (Linq may report ``delivered``
# after ``failed``); the outbox's ``Watch(resend_on_failure=True)`` waits a grace
# period first (tests/contract/test_contract_outbox.py).


@pytest.mark.parametrize(
    ("policy", "preference"),
    [
        (FallbackPolicy(), ServicePreference.AUTO),
        (RESEND, ServicePreference.IMESSAGE),
        (RESEND, ServicePreference.AUTO),
    ],
    ids=["no-resend", "resend-but-pinned", "resend-but-failed-later"],
)
@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_failure_reported_later_is_not_resent_by_the_transport(
    harness: Harness, preference: ServicePreference
) -> None:
    transport = harness.transport
    conversation = await start(transport, CAREGIVER)
    harness.fail_next_send(CAREGIVER)
    receipt = await transport.send_message(
        conversation.id, PILLS, preference=preference, idempotency_key="k"
    )
    await harness.advance(SETTLE)
    await harness.advance(SETTLE)
    assert DeliveryStatus.FAILED in statuses_of(harness.received, receipt.message_id)
    sent = outbound_with_text(await history(transport, conversation.id), PILLS.text)
    assert [(receipt.message_id, DeliveryStatus.FAILED)] == [(m.id, m.status) for m in sent]


# -- 3. bad input refused before any request --------------------------------------------

BAD_KEYS = [
    pytest.param("reminder Zoë 2pm", id="space-and-non-ascii"),
    pytest.param("reminder-Zoë-2pm", id="non-ascii"),
    pytest.param("a b", id="space"),
    pytest.param("line\nbreak", id="newline"),
    pytest.param("tab\t", id="tab"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("x" * 256, id="256-characters"),
    pytest.param(123, id="not-a-string"),
]
"""Keys that cannot go in an ``Idempotency-Key`` header (1 to 255 printable ASCII, no space)."""
GOOD_KEYS = ["x" * 255, "reminder-2pm"]

KeyedSend = Callable[[Transport, str, Any], Awaitable[object]]
KEYED_SENDS: dict[str, KeyedSend] = {
    "send_message": lambda t, chat, key: t.send_message(chat, PILLS, idempotency_key=key),
    "start_conversation": lambda t, _, key: t.start_conversation(
        [NURSE], HELLO, idempotency_key=key
    ),
    "send_voice_memo": lambda t, chat, key: t.send_voice_memo(chat, MEMO, idempotency_key=key),
}


@pytest.mark.parametrize("send", sorted(KEYED_SENDS))
@pytest.mark.parametrize("key", BAD_KEYS)
async def test_a_bad_idempotency_key_is_refused_before_any_request(
    harness: Harness, send: str, key: Any
) -> None:
    conversation = await start(harness.transport, CAREGIVER)
    before = harness.requests_made
    with pytest.raises(ValidationError) as info:
        await KEYED_SENDS[send](harness.transport, conversation.id, key)
    assert ("idempotency_key", before) == (info.value.field, harness.requests_made)
    assert [conversation.id] == [c.id for c in await collect_conversations(harness.transport)]
    assert 1 == len(await history(harness.transport, conversation.id))


@pytest.mark.parametrize("send", sorted(KEYED_SENDS))
@pytest.mark.parametrize("key", GOOD_KEYS, ids=["255-characters", "plain"])
async def test_a_printable_ascii_key_of_up_to_255_characters_is_taken(
    transport: Transport, send: str, key: str
) -> None:
    conversation = await start(transport, CAREGIVER)
    sent = await KEYED_SENDS[send](transport, conversation.id, key)
    receipt = sent.receipt if isinstance(sent, StartedConversation) else sent
    assert isinstance(receipt, SendReceipt)
    assert key == receipt.idempotency_key


async def send_text(transport: Transport, conversation_id: str, text: str) -> object:
    """Build the message and send it: either step may refuse the text."""
    return await transport.send_message(conversation_id, OutgoingMessage.of_text(text))


async def react_with(transport: Transport, message_id: str, emoji: str) -> object:
    """Build a custom reaction and send it: either step may refuse the emoji."""
    return await transport.react(message_id, Reaction(ReactionKind.CUSTOM, emoji))


async def test_text_with_a_lone_surrogate_is_refused_before_any_request(
    harness: Harness,
) -> None:
    conversation = await start(harness.transport, CAREGIVER)
    before = harness.requests_made
    with pytest.raises(ValidationError):
        await send_text(harness.transport, conversation.id, "Mum \ud800 pills")
    assert before == harness.requests_made
    assert 1 == len(await history(harness.transport, conversation.id))


@pytest.mark.parametrize("emoji", ["\ud83d", "ab"], ids=["lone-surrogate", "two-letters"])
async def test_a_custom_reaction_that_is_not_one_emoji_is_refused_before_any_request(
    harness: Harness, emoji: str
) -> None:
    conversation = await start(harness.transport, CAREGIVER)
    message_id = (await history(harness.transport, conversation.id))[0].id
    before = harness.requests_made
    with pytest.raises(ValidationError):
        await react_with(harness.transport, message_id, emoji)
    assert before == harness.requests_made


@pytest.mark.parametrize(
    "emoji",
    ["👍", "❤️", "👍🏽", "👨‍👩‍👧", "🇬🇧"],
    ids=["thumbs-up", "heart-with-selector", "skin-tone", "family", "flag"],
)
@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_custom_reaction_of_one_emoji_is_sent(transport: Transport, emoji: str) -> None:
    conversation = await start(transport, CAREGIVER)
    message_id = (await history(transport, conversation.id))[0].id
    result = await transport.react(message_id, Reaction(ReactionKind.CUSTOM, emoji))
    assert (True, ()) == (result.performed, result.degradations)


NEWCOMER = Handle("+16515550108")
"""On iMessage; registered by :func:`arrange_scene`, in no conversation."""


@attrs.frozen
class Scene:
    """A 1:1 chat, a group of four and a message, for calls that need real ids besides a bad one."""

    chat_id: str
    group_id: str | None
    """``None`` on a target without groups (the group probes need them)."""
    message_id: str


async def arrange_scene(harness: Harness) -> Scene:
    harness.add_recipient(NEWCOMER, RecipientKind.IMESSAGE)
    chat = await start(harness.transport, CAREGIVER)
    group_id = None
    if Capability.GROUPS in harness.capabilities:
        group_id = (await start(harness.transport, CAREGIVER, NURSE, NEIGHBOUR, AUNT)).id
    message_id = (await history(harness.transport, chat.id))[0].id
    return Scene(chat.id, group_id, message_id)


LIKE = Reaction(ReactionKind.LIKE)


@attrs.frozen
class Probe:
    """A call with one argument left open; ``good`` fills it so the call works."""

    call: Callable[[Transport, Scene, Any], Awaitable[object]]
    field: str
    good: Callable[[Scene], Any]
    bad: tuple[Any, ...] = (None, "")
    needs: tuple[Capability, ...] = ()


def _chat(scene: Scene) -> str:
    return scene.chat_id


def _group(scene: Scene) -> str | None:
    return scene.group_id


def _message(scene: Scene) -> str:
    return scene.message_id


def _newcomer(scene: Scene) -> Handle:
    return NEWCOMER


PROBES: dict[str, Probe] = {
    "send_message": Probe(lambda t, s, v: t.send_message(v, PILLS), "conversation_id", _chat),
    "get_conversation": Probe(lambda t, s, v: t.get_conversation(v), "conversation_id", _chat),
    "get_message": Probe(lambda t, s, v: t.get_message(v), "message_id", _message),
    "messages": Probe(lambda t, s, v: drain(t.messages(v)), "conversation_id", _chat),
    "react": Probe(lambda t, s, v: t.react(v, LIKE), "message_id", _message),
    "remove_reaction": Probe(lambda t, s, v: t.remove_reaction(v, LIKE), "message_id", _message),
    "start_typing": Probe(lambda t, s, v: t.start_typing(v), "conversation_id", _chat),
    "stop_typing": Probe(lambda t, s, v: t.stop_typing(v), "conversation_id", _chat),
    "mark_read": Probe(lambda t, s, v: t.mark_read(v), "conversation_id", _chat),
    "share_contact_card": Probe(lambda t, s, v: t.share_contact_card(v), "conversation_id", _chat),
    "send_voice_memo": Probe(lambda t, s, v: t.send_voice_memo(v, MEMO), "conversation_id", _chat),
    "ask": Probe(
        lambda t, s, v: t.ask(v, "Who can drive Mom on Tuesday?", ["Tue 9am", "Tue 2pm"]),
        "conversation_id",
        _chat,
    ),
    "add_participant.conversation_id": Probe(
        lambda t, s, v: t.add_participant(v, NEWCOMER),
        "conversation_id",
        _group,
        needs=(Capability.GROUPS,),
    ),
    "add_participant.handle": Probe(
        lambda t, s, v: t.add_participant(s.group_id, v),
        "handle",
        _newcomer,
        needs=(Capability.GROUPS,),
    ),
    "remove_participant.conversation_id": Probe(
        lambda t, s, v: t.remove_participant(v, AUNT),
        "conversation_id",
        _group,
        needs=(Capability.GROUPS,),
    ),
    "remove_participant.handle": Probe(
        lambda t, s, v: t.remove_participant(s.group_id, v),
        "handle",
        lambda s: AUNT,
        needs=(Capability.GROUPS,),
    ),
    "conversation_for": Probe(lambda t, s, v: t.conversation_for(v), "handle", _newcomer),
    "capabilities": Probe(lambda t, s, v: t.capabilities(v), "handle", _newcomer),
    "start_conversation.participants": Probe(
        lambda t, s, v: t.start_conversation(v, HELLO),
        "participants",
        lambda s: [NEWCOMER],
        bad=(None, []),
    ),
    "start_conversation.participants[0]": Probe(
        lambda t, s, v: t.start_conversation([v], HELLO), "participants[0]", _newcomer
    ),
}
"""Every port method taking an id or a handle, one probe per argument."""


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=pytest.mark.needs(*PROBES[name].needs)) for name in sorted(PROBES)],
)
async def test_each_probe_works_with_a_good_argument(harness: Harness, name: str) -> None:
    """So the refusals below come from the bad argument, not from the call."""
    probe = PROBES[name]
    scene = await arrange_scene(harness)
    await probe.call(harness.transport, scene, probe.good(scene))


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        pytest.param(name, bad, id=f"{name}({bad!r})", marks=pytest.mark.needs(*probe.needs))
        for name, probe in sorted(PROBES.items())
        for bad in probe.bad
    ],
)
async def test_a_missing_or_empty_id_or_handle_is_refused_before_any_request(
    harness: Harness, name: str, bad: Any
) -> None:
    probe = PROBES[name]
    scene = await arrange_scene(harness)
    conversations = len(await collect_conversations(harness.transport))
    before = harness.requests_made
    with pytest.raises(ValidationError) as info:
        await probe.call(harness.transport, scene, bad)
    assert (probe.field, before) == (info.value.field, harness.requests_made)
    assert conversations == len(await collect_conversations(harness.transport))


# -- order: one send at a time per conversation ------------------------------------------


def _long(label: str) -> OutgoingMessage:
    """Two SMS bubbles' worth of text, every word tagged with ``label``."""
    return OutgoingMessage.of_text(" ".join(f"{label}{n}" for n in range(400)))


async def test_concurrent_sends_into_one_conversation_do_not_interleave_their_bubbles(
    transport: Transport,
) -> None:
    conversation = await start(transport, GRANDSON)
    first, second = await asyncio.gather(
        transport.send_message(conversation.id, _long("a"), idempotency_key="order-a"),
        transport.send_message(conversation.id, _long("b"), idempotency_key="order-b"),
    )
    assert (2, 2) == (len(first.message_ids), len(second.message_ids))
    sent = [m for m in reversed(await history(transport, conversation.id)) if m.text[:1] in "ab"]
    labels = [m.text[0] for m in sent]
    assert labels in (["a", "a", "b", "b"], ["b", "b", "a", "a"])


async def test_two_first_messages_at_once_open_one_chat(transport: Transport) -> None:
    conversation = await transport.conversation_for(NURSE)
    one, two = await asyncio.gather(
        transport.send_message(conversation.id, HELLO, idempotency_key="first-1"),
        transport.send_message(conversation.id, PILLS, idempotency_key="first-2"),
    )
    assert one.conversation_id == two.conversation_id
    nurse_chats = [c for c in await collect_conversations(transport) if c.participants == (NURSE,)]
    assert [one.conversation_id] == [c.id for c in nurse_chats]
