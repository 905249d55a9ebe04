"""Contract: polls ("who can drive Mom on Tuesday?") on every target.

A native poll on iMessage (the question as text, then the poll), one numbered
text question on SMS with a reply that is just a number read back as a vote,
the conversion reported on the receipt, and a retry under the same key that
sends nothing twice.
"""

from __future__ import annotations

import pytest

from caresupport_transport import (
    DegradationAction,
    DeliveryStatus,
    Feature,
    MessageReceived,
    PollVoteAdded,
    PollVoteRemoved,
    Service,
    Transport,
    ValidationError,
)

from .harness import Capability, Harness
from .support import (
    CAREGIVER,
    DAUGHTER,
    GRANDSON,
    NEIGHBOUR,
    NURSE,
    SETTLE,
    history,
    start,
    statuses_of,
)

QUESTION = "Who can drive Mom on Tuesday?"
OPTIONS = ["Tue 9am", "Tue 2pm", "Can't this week"]
NUMBERED = (
    "Who can drive Mom on Tuesday?\n1. Tue 9am\n2. Tue 2pm\n3. Can't this week\n"
    "Reply with a number."
)


@pytest.mark.needs(Capability.IMESSAGE)
async def test_on_imessage_the_question_goes_as_text_then_a_native_poll(
    transport: Transport,
) -> None:
    conversation = await start(transport, CAREGIVER)
    receipt = await transport.ask(conversation.id, QUESTION, OPTIONS)
    assert (receipt.native, receipt.service, receipt.degradations) == (
        True,
        Service.IMESSAGE,
        (),
    )
    assert [o.text for o in receipt.options] == OPTIONS
    newest = (await history(transport, conversation.id))[0]
    assert (newest.id, newest.text) == (receipt.question.message_id, QUESTION)
    results = await transport.poll_results(receipt.poll_id)
    assert (results.native, results.conversation_id) == (True, conversation.id)
    assert [(o.id, o.text, o.voters) for o in results.options] == [
        (o.id, o.text, ()) for o in receipt.options
    ]


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_vote_on_a_native_poll_reaches_the_care_logic_with_the_option_text(
    harness: Harness,
) -> None:
    transport = harness.transport
    conversation = await start(transport, CAREGIVER)
    receipt = await transport.ask(conversation.id, QUESTION, OPTIONS)
    second = receipt.options[1]
    await harness.inject_poll_vote(CAREGIVER, receipt.poll_id, second.id)
    votes = [e for e in harness.received if isinstance(e, PollVoteAdded)]
    assert [(v.poll_id, v.option_id, v.voter, v.option_index, v.option_text) for v in votes] == [
        (receipt.poll_id, second.id, CAREGIVER, 1, "Tue 2pm")
    ]
    results = await transport.poll_results(receipt.poll_id)
    assert ([(), (CAREGIVER,), ()], 1) == (
        [o.voters for o in results.options],
        results.total_voters,
    )
    await harness.inject_poll_vote(CAREGIVER, receipt.poll_id, second.id, remove=True)
    removed = [e for e in harness.received if isinstance(e, PollVoteRemoved)]
    assert [(r.option_id, r.voter, r.option_text) for r in removed] == [
        (second.id, CAREGIVER, "Tue 2pm")
    ]
    assert 0 == (await transport.poll_results(receipt.poll_id)).total_voters


async def test_a_native_poll_reports_its_delivery_like_a_message(harness: Harness) -> None:
    transport = harness.transport
    conversation = await start(transport, CAREGIVER)
    receipt = await transport.ask(conversation.id, QUESTION, OPTIONS)
    await harness.advance(SETTLE)
    poll_statuses = statuses_of(harness.received, receipt.poll_id)
    assert DeliveryStatus.DELIVERED in poll_statuses
    assert statuses_of(harness.received, receipt.question.message_id) == poll_statuses


@pytest.mark.parametrize("person", [GRANDSON, DAUGHTER], ids=["sms", "rcs"])
async def test_on_sms_and_rcs_a_poll_is_one_numbered_question_and_reported(
    transport: Transport, person: object
) -> None:
    conversation = await start(transport, person)  # type: ignore[arg-type]
    before = len(await history(transport, conversation.id))
    receipt = await transport.ask(conversation.id, QUESTION, OPTIONS)
    assert receipt.native is False
    assert [(d.feature, d.action) for d in receipt.degradations] == [
        (Feature.POLL, DegradationAction.CONVERTED)
    ]
    after = await history(transport, conversation.id)
    assert (before + 1, NUMBERED, receipt.poll_id) == (len(after), after[0].text, after[0].id)
    assert [(o.id, o.text) for o in receipt.options] == [
        ("1", OPTIONS[0]),
        ("2", OPTIONS[1]),
        ("3", OPTIONS[2]),
    ]


async def test_a_numbered_reply_is_read_back_as_a_vote_instead_of_a_message(
    harness: Harness,
) -> None:
    transport = harness.transport
    conversation = await start(transport, GRANDSON)
    receipt = await transport.ask(conversation.id, QUESTION, OPTIONS)
    reply_id = await harness.inject_inbound_text(GRANDSON, conversation.id, " 2. ")
    assert not [
        e for e in harness.received if isinstance(e, MessageReceived) and e.message.id == reply_id
    ]
    votes = [e for e in harness.received if isinstance(e, PollVoteAdded)]
    assert [(v.poll_id, v.option_id, v.voter, v.option_index, v.option_text) for v in votes] == [
        (receipt.poll_id, "2", GRANDSON, 1, "Tue 2pm")
    ]
    assert votes[0].message is not None
    assert reply_id == votes[0].message.id
    results = await transport.poll_results(receipt.poll_id)
    assert (False, QUESTION) == (results.native, results.question)
    assert [o.voters for o in results.options] == [(), (GRANDSON,), ()]


@pytest.mark.parametrize("reply", ["4", "02", "2 please", "two", "0"])
async def test_a_reply_that_is_not_an_option_number_stays_a_message(
    harness: Harness, reply: str
) -> None:
    transport = harness.transport
    conversation = await start(transport, GRANDSON)
    receipt = await transport.ask(conversation.id, QUESTION, OPTIONS)
    reply_id = await harness.inject_inbound_text(GRANDSON, conversation.id, reply)
    received = [
        e for e in harness.received if isinstance(e, MessageReceived) and e.message.id == reply_id
    ]
    assert (1, []) == (
        len(received),
        [e for e in harness.received if isinstance(e, PollVoteAdded)],
    )
    assert 0 == (await transport.poll_results(receipt.poll_id)).total_voters


async def test_a_number_without_an_open_question_stays_a_message(harness: Harness) -> None:
    conversation = await start(harness.transport, GRANDSON)
    reply_id = await harness.inject_inbound_text(GRANDSON, conversation.id, "2")
    assert [reply_id] == [e.message.id for e in harness.received if isinstance(e, MessageReceived)]


@pytest.mark.parametrize("person", [CAREGIVER, GRANDSON], ids=["imessage", "sms"])
async def test_asking_again_under_the_same_key_sends_nothing_twice(
    harness: Harness, person: object
) -> None:
    transport = harness.transport
    conversation = await start(transport, person)  # type: ignore[arg-type]
    first = await transport.ask(conversation.id, QUESTION, OPTIONS, idempotency_key="drive-tue")
    count = len(await history(transport, conversation.id))
    again = await transport.ask(conversation.id, QUESTION, OPTIONS, idempotency_key="drive-tue")
    assert (first.poll_id, first.question.message_ids, first.native) == (
        again.poll_id,
        again.question.message_ids,
        again.native,
    )
    assert count == len(await history(transport, conversation.id))
    question_key = "drive-tue:question" if again.native else "drive-tue:poll"
    assert ("drive-tue", question_key) == (again.idempotency_key, again.question.idempotency_key)


@pytest.mark.needs(Capability.IMESSAGE)
async def test_a_poll_can_open_a_new_conversation_with_its_question(transport: Transport) -> None:
    pending = await transport.conversation_for(CAREGIVER)
    receipt = await transport.ask(pending.id, QUESTION, OPTIONS)
    assert receipt.native
    results = await transport.poll_results(receipt.poll_id)
    assert (receipt.conversation_id, [o.text for o in results.options]) == (
        results.conversation_id,
        OPTIONS,
    )


@pytest.mark.parametrize(
    ("question", "options", "field"),
    [
        ("", OPTIONS, "question"),
        ("   ", OPTIONS, "question"),
        ("x" * 301, OPTIONS, "question"),
        (QUESTION, ["Only one"], "options"),
        (QUESTION, [f"Option {n}" for n in range(13)], "options"),
        (QUESTION, "Tue 9am", "options"),
        (QUESTION, ["Tue 9am", " "], "options[1]"),
        (QUESTION, ["Tue 9am", "Tue\n2pm"], "options[1]"),
        (QUESTION, ["Tue 9am", "x" * 101], "options[1]"),
        (QUESTION, ["Tue 9am", "Tue 9am"], "options"),
        (QUESTION, ["Tue 9am", 2], "options[1]"),
    ],
)
async def test_bad_poll_input_is_refused_before_any_request(
    harness: Harness, question: str, options: list[str], field: str
) -> None:
    conversation = await start(harness.transport, CAREGIVER)
    made = harness.requests_made
    with pytest.raises(ValidationError) as refused:
        await harness.transport.ask(conversation.id, question, options)
    assert (field, made) == (refused.value.field, harness.requests_made)


@pytest.mark.needs(Capability.IMESSAGE, Capability.GROUPS)
async def test_in_an_imessage_group_everyone_votes_on_one_native_poll(harness: Harness) -> None:
    transport = harness.transport
    group = await start(transport, CAREGIVER, NURSE, NEIGHBOUR)
    receipt = await transport.ask(group.id, QUESTION, OPTIONS)
    first, second = receipt.options[0].id, receipt.options[1].id
    await harness.inject_poll_vote(CAREGIVER, receipt.poll_id, first)
    await harness.inject_poll_vote(NURSE, receipt.poll_id, first)
    await harness.inject_poll_vote(NURSE, receipt.poll_id, second)
    results = await transport.poll_results(receipt.poll_id)
    assert (True, 2) == (receipt.native, results.total_voters)
    assert [{CAREGIVER, NURSE}, {NURSE}, set()] == [set(o.voters) for o in results.options]


@pytest.mark.needs(Capability.GROUPS)
async def test_in_a_group_with_an_sms_member_each_numbered_reply_is_that_persons_vote(
    harness: Harness,
) -> None:
    transport = harness.transport
    group = await start(transport, CAREGIVER, NURSE, GRANDSON)
    receipt = await transport.ask(group.id, QUESTION, OPTIONS)
    await harness.inject_inbound_text(GRANDSON, group.id, "3")
    await harness.inject_inbound_text(CAREGIVER, group.id, "1.")
    votes = [(e.voter, e.option_id) for e in harness.received if isinstance(e, PollVoteAdded)]
    assert (False, [(GRANDSON, "3"), (CAREGIVER, "1")]) == (receipt.native, votes)
    results = await transport.poll_results(receipt.poll_id)
    assert [(CAREGIVER,), (), (GRANDSON,)] == [o.voters for o in results.options]
