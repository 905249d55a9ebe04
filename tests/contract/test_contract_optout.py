"""Contract: opt-outs, the courtesy override and the blocklist behave alike on every target.

An opt-out keyword in a 1:1 conversation opts the person out (``OptedOut``, the
chat's health ``OPTED_OUT``), a direct send to them is then refused before any
request, any later message of theirs opts them back in (``OptedIn``), groups are
never restricted, and ``override_optout`` lets one courtesy message through and
says so on the receipt. A blocked handle is unheard and unreachable directly.
"""

from __future__ import annotations

import pytest

from caresupport_transport import (
    BlockedError,
    ConversationHealth,
    MessageReceived,
    OptedIn,
    OptedOut,
    OptedOutError,
    OutgoingMessage,
    Reaction,
    ReactionKind,
)
from caresupport_transport.redact import mask_handle

from .harness import Capability, Harness
from .support import AUNT, CAREGIVER, GRANDSON, NEIGHBOUR, NURSE, SETTLE, start

NOTE = OutgoingMessage.of_text("Your mother's visit moved to 3pm.")
GOODBYE = OutgoingMessage.of_text("You will get no more messages; reply any time to resume.")


def _consent_events(harness: Harness) -> list[OptedOut | OptedIn]:
    return [e for e in harness.received if isinstance(e, OptedOut | OptedIn)]


async def test_a_keyword_opts_out_and_a_direct_send_is_then_refused_before_any_request(
    harness: Harness,
) -> None:
    transport = harness.transport
    chat = await start(transport, CAREGIVER)
    await harness.advance(SETTLE)
    await harness.inject_inbound_text(CAREGIVER, None, " STOP ")

    assert [(OptedOut, CAREGIVER, chat.id)] == [
        (type(e), e.person, e.conversation_id) for e in _consent_events(harness)
    ]
    keyword = next(
        i
        for i, e in enumerate(harness.received)
        if isinstance(e, MessageReceived) and e.message.text == " STOP "
    )
    assert isinstance(harness.received[keyword + 1], OptedOut)  # right after what implied it
    assert ConversationHealth.OPTED_OUT == (await transport.get_conversation(chat.id)).health
    before = harness.requests_made
    with pytest.raises(OptedOutError) as refused:
        await transport.send_message(chat.id, NOTE)
    with pytest.raises(OptedOutError):
        await transport.start_conversation([CAREGIVER], NOTE)
    assert before == harness.requests_made
    assert CAREGIVER == refused.value.person
    assert mask_handle(CAREGIVER) in str(refused.value)
    assert CAREGIVER.value not in str(refused.value)
    assert "any message from them opts them back in" in str(refused.value)


async def test_any_other_message_from_the_person_opts_them_back_in(harness: Harness) -> None:
    transport = harness.transport
    chat = await start(transport, CAREGIVER)
    await harness.advance(SETTLE)
    await harness.inject_inbound_text(CAREGIVER, None, "STOP")
    await harness.inject_inbound_text(CAREGIVER, None, "Sorry, I pressed the wrong thing")

    assert [OptedOut, OptedIn] == [type(e) for e in _consent_events(harness)]
    receipt = await transport.send_message(chat.id, NOTE)
    assert () == receipt.opt_out_overridden
    assert ConversationHealth.OPTED_OUT != (await transport.get_conversation(chat.id)).health


@pytest.mark.needs(Capability.GROUPS)
async def test_groups_are_never_marked_nor_refused_for_an_opt_out(harness: Harness) -> None:
    transport = harness.transport
    group = await start(transport, CAREGIVER, NURSE, AUNT)
    await start(transport, CAREGIVER)
    await harness.advance(SETTLE)
    await harness.inject_inbound_text(CAREGIVER, group.id, "STOP")
    assert [] == _consent_events(harness)  # a keyword in a group changes nothing

    await harness.inject_inbound_text(CAREGIVER, None, "STOP")
    receipt = await transport.send_message(group.id, NOTE)
    assert (1, ()) == (len(receipt.message_ids), receipt.opt_out_overridden)
    assert ConversationHealth.OPTED_OUT != (await transport.get_conversation(group.id)).health


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_native_tapback_to_someone_opted_out_is_still_sent(harness: Harness) -> None:
    """Linq refuses message sends (403 / 2024), not reactions: a tapback is no message."""
    transport = harness.transport
    await start(transport, CAREGIVER)
    await harness.advance(SETTLE)
    await harness.inject_inbound_text(CAREGIVER, None, "Thanks, see you then")
    await harness.inject_inbound_text(CAREGIVER, None, "STOP")
    thanks = next(
        e.message
        for e in harness.received
        if isinstance(e, MessageReceived) and e.message.text == "Thanks, see you then"
    )

    result = await transport.react(thanks.id, Reaction(ReactionKind.LOVE))

    assert (True, (), None) == (result.performed, result.degradations, result.message_id)


@pytest.mark.needs(Capability.OPT_OUT_OVERRIDE)
async def test_a_courtesy_message_goes_through_once_with_override_optout_and_is_reported(
    harness: Harness,
) -> None:
    transport = harness.transport
    chat = await start(transport, CAREGIVER)
    await harness.advance(SETTLE)
    await harness.inject_inbound_text(CAREGIVER, None, "opt-out")

    receipt = await transport.send_message(chat.id, GOODBYE, override_optout=True)
    assert (CAREGIVER,) == receipt.opt_out_overridden
    with pytest.raises(OptedOutError):
        await transport.send_message(chat.id, NOTE)


@pytest.mark.needs(Capability.GROUPS)
async def test_a_blocked_handle_is_refused_directly_listed_and_unblocked(
    harness: Harness,
) -> None:
    transport = harness.transport
    entry = await transport.block(GRANDSON, reason="asked us to stop calling")
    assert (GRANDSON, "asked us to stop calling") == (entry.handle, entry.reason)
    assert [GRANDSON] == [e.handle for e in await transport.blocked()]
    again = await transport.block(GRANDSON)
    assert entry == again  # blocking again gives the existing entry

    before = harness.requests_made
    with pytest.raises(BlockedError) as refused:
        await transport.start_conversation([GRANDSON], NOTE)
    assert (before, GRANDSON) == (harness.requests_made, refused.value.handle)
    group = await start(transport, GRANDSON, NURSE, AUNT)  # unblocked members: it goes
    assert group.is_group

    await transport.unblock(GRANDSON)
    assert () == await transport.blocked()
    started = await transport.start_conversation([GRANDSON], NOTE)
    assert (GRANDSON,) == started.conversation.participants


async def test_inbound_from_a_blocked_handle_never_reaches_the_care_logic(
    harness: Harness,
) -> None:
    transport = harness.transport
    await transport.block(NEIGHBOUR)
    await harness.inject_inbound_text(NEIGHBOUR, None, "Is anyone there?")
    await harness.advance(SETTLE)
    assert [] == [
        e
        for e in harness.received
        if isinstance(e, MessageReceived) and e.message.sender == NEIGHBOUR
    ]
