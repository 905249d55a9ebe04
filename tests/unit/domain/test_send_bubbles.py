"""send_bubbles over the in-memory adapter: in order, typing between, once each, stop on failure."""

from __future__ import annotations

import pytest

from adapters.memory import InMemoryTransport, RecipientKind, World
from caresupport_transport import (
    ActionResult,
    BubbleResult,
    BubbleSendResult,
    Handle,
    NotFoundError,
    Service,
    ServicePreference,
    UnreachableError,
    UnsupportedError,
    ValidationError,
    send_bubbles,
    split_bubbles,
)
from caresupport_transport.bubbles import PAUSE_SECONDS

ANN = Handle("+15554440001")
THREE_PARAGRAPHS = (
    "Good morning, Ann.\n\nYour mother took her 8am pills.\n\nI will check in at noon."
)


class Pauses:
    """An injected pause that records each call and whether the owner was typing then."""

    def __init__(self, transport: InMemoryTransport, conversation_id: str) -> None:
        self.transport = transport
        self.conversation_id = conversation_id
        self.calls: list[tuple[float, bool]] = []

    async def typing_now(self) -> bool:
        if not self.conversation_id:
            return False  # a pause that only acts, watching no conversation
        # A new person's conversation is pending until the first bubble opens it.
        conversation = await self.transport.get_conversation(self.conversation_id)
        world = self.transport.world
        return world.owner in world.typing.get(conversation.id, set())

    async def __call__(self, seconds: float) -> None:
        self.calls.append((seconds, await self.typing_now()))


async def _arrange(kind: RecipientKind = RecipientKind.IMESSAGE) -> tuple[InMemoryTransport, str]:
    world = World(seed=7)
    world.add_recipient(ANN, kind)
    transport = InMemoryTransport(world=world)
    conversation = await transport.conversation_for(ANN)
    return transport, conversation.id


async def test_bubbles_are_sent_in_order_one_message_each() -> None:
    transport, conversation_id = await _arrange()

    result = await send_bubbles(
        transport,
        conversation_id,
        THREE_PARAGRAPHS,
        idempotency_key="reply-1",
        pause=Pauses(transport, conversation_id),
    )

    assert result.completed
    assert tuple(split_bubbles(THREE_PARAGRAPHS)) == result.bubbles
    assert list(result.bubbles) == [m.text for m in transport.sent]
    assert [0, 1, 2] == [r.index for r in result.results]
    assert list(result.bubbles) == [r.text for r in result.results]
    assert [r.message_id for r in result.receipts] == [m.id for m in transport.sent]
    assert result.failure is None
    assert () == result.unsent


async def test_each_bubble_gets_its_own_key_derived_from_the_callers() -> None:
    transport, conversation_id = await _arrange()

    result = await send_bubbles(
        transport,
        conversation_id,
        THREE_PARAGRAPHS,
        idempotency_key="reply-1",
        pause=Pauses(transport, conversation_id),
    )

    expected = ["reply-1:bubble:0", "reply-1:bubble:1", "reply-1:bubble:2"]
    assert expected == [r.idempotency_key for r in result.results]
    assert expected == [r.idempotency_key for r in transport.receipts]


async def test_typing_is_shown_during_each_pause_between_bubbles() -> None:
    transport, conversation_id = await _arrange()
    pauses = Pauses(transport, conversation_id)

    result = await send_bubbles(
        transport, conversation_id, THREE_PARAGRAPHS, idempotency_key="reply-1", pause=pauses
    )

    assert [(PAUSE_SECONDS, True), (PAUSE_SECONDS, True)] == pauses.calls
    assert [None, ActionResult(True), ActionResult(True)] == [r.typing for r in result.results]
    assert not await pauses.typing_now()  # sending the last bubble cleared it


async def test_the_pause_length_is_the_callers() -> None:
    transport, conversation_id = await _arrange()
    pauses = Pauses(transport, conversation_id)

    await send_bubbles(
        transport,
        conversation_id,
        "One.\n\nTwo.",
        idempotency_key="reply-1",
        pause=pauses,
        pause_seconds=0.25,
    )

    assert [(0.25, True)] == pauses.calls


async def test_one_bubble_is_sent_without_typing_or_pause() -> None:
    transport, conversation_id = await _arrange()
    pauses = Pauses(transport, conversation_id)

    result = await send_bubbles(
        transport, conversation_id, "See you at 3.", idempotency_key="reply-1", pause=pauses
    )

    assert [] == pauses.calls
    assert (
        BubbleResult(0, "See you at 3.", "reply-1:bubble:0", transport.receipts[0]),
    ) == result.results


async def test_typing_on_sms_is_skipped_and_reported_but_the_pause_is_kept() -> None:
    transport, conversation_id = await _arrange(RecipientKind.SMS_ONLY)
    pauses = Pauses(transport, conversation_id)

    result = await send_bubbles(
        transport, conversation_id, "One.\n\nTwo.", idempotency_key="reply-1", pause=pauses
    )

    assert result.completed
    assert [(PAUSE_SECONDS, False)] == pauses.calls
    typing = result.results[1].typing
    assert typing is not None
    assert not typing.performed
    assert ["typing indicator skipped: SMS has no typing indicators"] == [
        str(d) for d in typing.degradations
    ]
    assert {Service.SMS} == {r.service for r in result.receipts}


async def test_the_preference_applies_to_every_bubble() -> None:
    transport, conversation_id = await _arrange()

    result = await send_bubbles(
        transport,
        conversation_id,
        THREE_PARAGRAPHS,
        idempotency_key="reply-1",
        pause=Pauses(transport, conversation_id),
        preference=ServicePreference.SMS,
    )

    assert [Service.SMS] * 3 == [r.service for r in result.receipts]


async def test_a_failing_first_bubble_is_reported_and_nothing_else_is_tried() -> None:
    transport, _ = await _arrange()
    pauses = Pauses(transport, "no-such-conversation")

    result = await send_bubbles(
        transport, "no-such-conversation", THREE_PARAGRAPHS, idempotency_key="r", pause=pauses
    )

    assert not result.completed
    assert 1 == len(result.results)
    failure = result.failure
    assert failure is not None
    assert (0, None) == (failure.index, failure.receipt)
    assert isinstance(failure.error, NotFoundError)
    assert result.unsent == result.bubbles
    assert [] == pauses.calls
    assert [] == transport.sent


def _switch_to_android_on_pause(transport: InMemoryTransport, at_call: int) -> Pauses:
    """A pause during which Ann's phone stops taking iMessage, at pause number ``at_call``."""

    class Switching(Pauses):
        async def __call__(self, seconds: float) -> None:
            await super().__call__(seconds)
            if len(self.calls) == at_call:
                transport.world.add_recipient(ANN, RecipientKind.SMS_ONLY)

    return Switching(transport, "")


FOUR_STEPS = "\n\n".join(f"Step {n}." for n in range(1, 5))


async def _send_four_steps_losing_imessage_before_the_third(
    transport: InMemoryTransport, conversation_id: str, key: str
) -> BubbleSendResult:
    """Pinned to iMessage; the recipient switches to SMS-only during the second pause."""
    return await send_bubbles(
        transport,
        conversation_id,
        FOUR_STEPS,
        idempotency_key=key,
        pause=_switch_to_android_on_pause(transport, at_call=2),
        preference=ServicePreference.IMESSAGE,
    )


async def test_sending_stops_at_the_first_failure_and_says_which_bubbles_went_out() -> None:
    transport, conversation_id = await _arrange()
    result = await _send_four_steps_losing_imessage_before_the_third(
        transport, conversation_id, "reply-1"
    )

    assert [(0, True), (1, True), (2, False)] == [(r.index, r.sent) for r in result.results]
    assert isinstance(result.results[2].error, UnsupportedError)
    assert ["Step 1.", "Step 2."] == [m.text for m in transport.sent]
    assert ("Step 3.", "Step 4.") == result.unsent
    assert not result.completed


async def test_a_failed_bubble_takes_its_typing_indicator_down() -> None:
    transport, conversation_id = await _arrange()
    result = await _send_four_steps_losing_imessage_before_the_third(
        transport, conversation_id, "reply-typing"
    )

    assert result.failure is not None
    assert result.failure.typing is not None
    assert result.failure.typing.performed
    assert transport.world.owner not in transport.world.typing.get(conversation_id, set())


async def test_running_again_after_a_failure_sends_only_the_rest() -> None:
    transport, conversation_id = await _arrange()
    await _send_four_steps_losing_imessage_before_the_third(transport, conversation_id, "reply-1")
    transport.world.add_recipient(ANN, RecipientKind.IMESSAGE)

    result = await send_bubbles(
        transport,
        conversation_id,
        FOUR_STEPS,
        idempotency_key="reply-1",
        pause=Pauses(transport, conversation_id),
        preference=ServicePreference.IMESSAGE,
    )

    assert result.completed
    assert ["Step 1.", "Step 2.", "Step 3.", "Step 4."] == [m.text for m in transport.sent]
    assert [r.message_id for r in result.receipts] == [m.id for m in transport.sent]


async def test_running_again_with_the_same_key_sends_no_duplicates() -> None:
    transport, conversation_id = await _arrange()
    pauses = Pauses(transport, conversation_id)
    first = await send_bubbles(
        transport, conversation_id, THREE_PARAGRAPHS, idempotency_key="reply-1", pause=pauses
    )

    again = await send_bubbles(
        transport, conversation_id, THREE_PARAGRAPHS, idempotency_key="reply-1", pause=pauses
    )

    assert 3 == len(transport.sent)
    assert 3 == len(transport.world.messages)
    assert [r.message_ids for r in again.receipts] == [r.message_ids for r in first.receipts]


async def test_a_different_key_sends_the_reply_again() -> None:
    transport, conversation_id = await _arrange()
    pauses = Pauses(transport, conversation_id)
    for key in ("reply-1", "reply-2"):
        await send_bubbles(
            transport, conversation_id, THREE_PARAGRAPHS, idempotency_key=key, pause=pauses
        )

    assert 6 == len(transport.sent)


class _TypingDown(InMemoryTransport):
    """An adapter whose typing indicator cannot be reached."""

    async def start_typing(self, conversation_id: str) -> ActionResult:
        raise UnreachableError("typing indicator timed out")


async def test_a_failing_typing_indicator_is_recorded_and_the_bubble_still_sent() -> None:
    world = World(seed=7)
    world.add_recipient(ANN, RecipientKind.IMESSAGE)
    transport = _TypingDown(world=world)
    conversation_id = (await transport.conversation_for(ANN)).id

    result = await send_bubbles(
        transport,
        conversation_id,
        "One.\n\nTwo.",
        idempotency_key="reply-1",
        pause=Pauses(transport, conversation_id),
    )

    assert result.completed
    second = result.results[1]
    assert (None, True) == (second.typing, second.sent)
    assert isinstance(second.typing_error, UnreachableError)


# -- validation, before any I/O ------------------------------------------------------


@pytest.mark.parametrize(
    ("conversation_id", "text", "key", "field"),
    [
        ("conv", "", "reply-1", "text"),
        ("conv", " \n\n ", "reply-1", "text"),
        ("conv", "Hello", "", "idempotency_key"),
        ("conv", "Hello", "   ", "idempotency_key"),
        ("conv", "Hello", "k" * 247, "idempotency_key"),
        ("", "Hello", "reply-1", "conversation_id"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_before_any_io(
    conversation_id: str, text: str, key: str, field: str
) -> None:
    transport, _ = await _arrange()
    pauses = Pauses(transport, conversation_id)

    with pytest.raises(ValidationError) as caught:
        await send_bubbles(transport, conversation_id, text, idempotency_key=key, pause=pauses)

    assert field == caught.value.field
    assert ([], []) == (transport.sent, pauses.calls)


async def test_a_key_short_enough_for_its_derived_keys_is_accepted() -> None:
    transport, conversation_id = await _arrange()

    result = await send_bubbles(
        transport,
        conversation_id,
        "Hello.",
        idempotency_key="k" * 246,
        pause=Pauses(transport, conversation_id),
    )

    assert 255 == len(result.results[0].idempotency_key)


async def test_a_too_long_key_error_says_why() -> None:
    transport, conversation_id = await _arrange()

    with pytest.raises(ValidationError, match="at most 246 so that each bubble's derived key"):
        await send_bubbles(transport, conversation_id, "Hello.", idempotency_key="k" * 247)


@pytest.mark.parametrize("seconds", [-1.0, float("nan")])
async def test_a_negative_pause_is_refused(seconds: float) -> None:
    transport, conversation_id = await _arrange()

    with pytest.raises(ValidationError) as caught:
        await send_bubbles(
            transport, conversation_id, "Hi.", idempotency_key="reply-1", pause_seconds=seconds
        )

    assert "pause_seconds" == caught.value.field


async def test_a_fifth_bubble_over_10000_characters_is_refused_before_anything_is_sent() -> None:
    transport, conversation_id = await _arrange()
    text = "\n\n".join(["Short."] * 4 + [" ".join(["word"] * 1_500)] * 2)

    with pytest.raises(ValidationError) as caught:
        await send_bubbles(transport, conversation_id, text, idempotency_key="reply-1")

    assert "text" == caught.value.field
    assert "bubble 5 of 5 has 15000 characters; at most 10000" in str(caught.value)
    assert [] == transport.sent


async def test_bad_input_is_refused_even_for_an_unknown_conversation() -> None:
    transport, _ = await _arrange()

    with pytest.raises(ValidationError):
        await send_bubbles(transport, "no-such-conversation", "", idempotency_key="reply-1")


def test_a_send_result_with_every_bubble_sent_is_completed() -> None:
    assert BubbleSendResult((), ()).completed
    assert not BubbleSendResult(("Hi.",), ()).completed
