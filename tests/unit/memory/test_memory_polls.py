"""Polls in the World and through the shared transport (memory adapter)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.memory import InMemoryTransport, RecipientKind, World
from adapters.memory.provider import MemoryProvider
from caresupport_transport import (
    Degradation,
    DegradationAction,
    Feature,
    InboundEvent,
    MessageReceived,
    NotFoundError,
    OutgoingMessage,
    PollOptionsAdded,
    PollReceived,
    PollVoteAdded,
    ProviderError,
    ProviderTransport,
    TextPart,
    ValidationError,
)
from caresupport_transport.capabilities import Service
from caresupport_transport.handles import Handle
from caresupport_transport.inbound import decode_event, encode_event
from caresupport_transport.policy import plan_poll
from caresupport_transport.polls import Poll, PollOption
from caresupport_transport.provider import Sent

MOM_HELPER = Handle("+16515550201")
SON = Handle("+16515550202")
OPTIONS = ["Tue 9am", "Tue 2pm", "Can't this week"]
DEMO_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def world_with_family() -> World:
    world = World(seed=7)
    world.add_recipient(MOM_HELPER, RecipientKind.IMESSAGE)
    world.add_recipient(SON, RecipientKind.SMS_ONLY)
    return world


class Recorder:
    def __init__(self) -> None:
        self.events: list[InboundEvent] = []

    async def __call__(self, event: InboundEvent) -> None:
        self.events.append(event)


async def test_a_numbered_reply_is_a_vote_even_for_a_transport_that_did_not_ask() -> None:
    """The open question is read from the conversation's history, not from memory."""
    world = world_with_family()
    asking = InMemoryTransport(world)
    conversation = await asking.conversation_for(SON)
    receipt = await asking.ask(conversation.id, "Who can drive Mom?", OPTIONS)
    restarted = InMemoryTransport(world)
    heard = Recorder()
    restarted.on_inbound(heard)
    await restarted.inject_message(SON, "3")
    votes = [e for e in heard.events if isinstance(e, PollVoteAdded)]
    assert [(receipt.poll_id, "3", "Can't this week")] == [
        (v.poll_id, v.option_id, v.option_text) for v in votes
    ]


async def test_a_newer_numbered_question_closes_the_older_one() -> None:
    transport = InMemoryTransport(world_with_family())
    heard = Recorder()
    transport.on_inbound(heard)
    conversation = await transport.conversation_for(SON)
    first = await transport.ask(conversation.id, "Who can drive Mom?", OPTIONS)
    await transport.inject_message(SON, "1")
    second = await transport.ask(conversation.id, "Lunch?", ["Soup", "Salad"])
    await transport.inject_message(SON, "2")
    await transport.inject_message(SON, "3")  # not an option of the open question
    votes = [(e.poll_id, e.option_id) for e in heard.events if isinstance(e, PollVoteAdded)]
    assert [(first.poll_id, "1"), (second.poll_id, "2")] == votes
    assert ["3"] == [e.message.text for e in heard.events if isinstance(e, MessageReceived)]
    older = await transport.poll_results(first.poll_id)
    newer = await transport.poll_results(second.poll_id)
    assert ([(SON,), (), ()], [(), (SON,)]) == (
        [o.voters for o in older.options],
        [o.voters for o in newer.options],
    )


async def test_the_same_number_twice_counts_once_in_the_results() -> None:
    transport = InMemoryTransport(world_with_family())
    transport.on_inbound(Recorder())
    conversation = await transport.conversation_for(SON)
    receipt = await transport.ask(conversation.id, "Who can drive Mom?", OPTIONS)
    await transport.inject_message(SON, "2")
    await transport.inject_message(SON, "2.")
    results = await transport.poll_results(receipt.poll_id)
    assert (1, [(), (SON,), ()]) == (results.total_voters, [o.voters for o in results.options])


class NoPolls(MemoryProvider):
    """A provider that sends no native polls."""

    @property
    def has_polls(self) -> bool:
        return False


async def test_a_provider_without_polls_asks_numbered_text_even_on_imessage() -> None:
    world = world_with_family()
    transport = ProviderTransport(NoPolls(world))
    conversation = await transport.conversation_for(MOM_HELPER)
    receipt = await transport.ask(conversation.id, "Who can drive Mom?", OPTIONS)
    assert (False, Service.IMESSAGE, {}) == (receipt.native, receipt.service, world.polls)
    assert (
        Degradation(
            Feature.POLL,
            DegradationAction.CONVERTED,
            "asked as numbered text: the provider has no polls",
        ),
    ) == receipt.degradations


def test_plan_poll_converts_where_the_service_has_no_polls() -> None:
    assert [None, "RCS", "SMS"] == [
        None if (d := plan_poll(s)) is None else d.reason.split(": ")[1].split(" ")[0]
        for s in (Service.IMESSAGE, Service.RCS, Service.SMS)
    ]


async def test_poll_results_of_a_plain_message_is_not_found() -> None:
    transport = InMemoryTransport(world_with_family())
    conversation = await transport.conversation_for(SON)
    sent = await transport.send_message(conversation.id, OutgoingMessage.of_text("See you at 3"))
    with pytest.raises(NotFoundError):
        await transport.poll_results(sent.message_id)


def test_the_world_refuses_a_poll_where_imessage_is_not_the_service() -> None:
    world = world_with_family()
    conversation = world.create_conversation([SON])
    with pytest.raises(ValidationError) as refused:
        world.send_poll(conversation.id, OPTIONS)
    assert ("conversation_id", []) == (refused.value.field, list(world.polls))


def test_votes_in_the_world_are_per_person_and_per_option() -> None:
    world = world_with_family()
    conversation = world.create_conversation([MOM_HELPER])
    _, poll = world.send_poll(conversation.id, OPTIONS)
    first = poll.options[0].id
    world.vote(MOM_HELPER, poll.id, first)
    world.vote(MOM_HELPER, poll.id, first)  # again: nothing changes
    world.vote(MOM_HELPER, poll.id, poll.options[2].id)
    world.vote(MOM_HELPER, poll.id, poll.options[1].id, remove=True)  # never given
    stood = world.poll(poll.id)
    assert ([(MOM_HELPER,), (), (MOM_HELPER,)], 1) == (
        [o.voters for o in stood.options],
        stood.total_voters,
    )
    assert 2 == len([e for e in world.drain() if isinstance(e, PollVoteAdded)])
    with pytest.raises(ValidationError):
        world.vote(SON, poll.id, first)  # not in the conversation
    with pytest.raises(ValidationError):
        world.vote(MOM_HELPER, poll.id, "no-such-option")


def test_options_are_add_only_and_a_poll_is_not_in_the_history() -> None:
    world = world_with_family()
    conversation = world.create_conversation([MOM_HELPER])
    world.send(conversation.id, (TextPart("Who can drive Mom?"),))
    _, poll = world.send_poll(conversation.id, OPTIONS)
    world.drain()
    grown = world.add_poll_options(poll.id, ["Wed 10am"], creator=MOM_HELPER)
    assert [*OPTIONS, "Wed 10am"] == [o.text for o in grown.options]
    added = world.drain()
    assert [PollOptionsAdded] == [type(e) for e in added]
    assert ["Who can drive Mom?"] == [m.text for m in world.history(conversation.id)]


async def test_someone_elses_poll_reaches_the_care_logic() -> None:
    transport = InMemoryTransport(world_with_family())
    heard = Recorder()
    transport.on_inbound(heard)
    poll = await transport.inject_poll(MOM_HELPER, ["Pizza", "Soup"])
    received = [e for e in heard.events if isinstance(e, PollReceived)]
    assert [(poll, MOM_HELPER)] == [(e.poll, e.poll.creator) for e in received]
    assert poll == await transport.poll_results(poll.id)


class FallsBackToSms(MemoryProvider):
    """A provider whose service falls back to SMS by itself (as Linq may, unpinned)."""

    async def send(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        *,
        service: Service,
        pinned: bool,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> Sent:
        return await super().send(
            conversation_id,
            message,
            service=Service.SMS,
            pinned=pinned,
            idempotency_key=idempotency_key,
            override_optout=override_optout,
        )


async def test_when_the_question_falls_back_the_options_follow_as_numbered_text() -> None:
    world = world_with_family()
    transport = ProviderTransport(FallsBackToSms(world))
    conversation = world.create_conversation([MOM_HELPER])
    world.send(conversation.id, (TextPart("Hello"),))
    receipt = await transport.ask(
        conversation.id, "Who can drive Mom?", OPTIONS, idempotency_key="k"
    )
    newest, question = world.history(conversation.id)[:2]
    assert (False, {}, "Who can drive Mom?") == (receipt.native, world.polls, question.text)
    assert (receipt.poll_id, "k:poll", receipt.question.message_id) == (
        newest.id,
        world.message_keys[newest.id],
        question.id,
    )
    assert Feature.POLL in [d.feature for d in receipt.degradations]
    assert Feature.SERVICE in [d.feature for d in receipt.degradations]
    again = await transport.ask(conversation.id, "Who can drive Mom?", OPTIONS, idempotency_key="k")
    assert (receipt.poll_id, 3) == (again.poll_id, len(world.history(conversation.id)))


@pytest.mark.parametrize(
    "event",
    [
        PollVoteAdded("e-1", DEMO_TIME, "c-1", "p-1", "2", SON, 1, "Tue 2pm", message=None),
        PollReceived(
            "e-2",
            DEMO_TIME,
            "c-1",
            Poll("p-2", "c-1", [PollOption("o-1", "Pizza", creator=SON)], creator=SON),
        ),
        PollOptionsAdded("e-3", DEMO_TIME, "c-1", "p-1", (PollOption("o-9", "Wed"),)),
    ],
)
def test_poll_events_survive_the_durable_inbox_codec(event: InboundEvent) -> None:
    assert event == decode_event(encode_event(event))


class PollsRefused(MemoryProvider):
    """A provider whose polls cannot be read: refused with ``status``."""

    def __init__(self, world: World, status: int) -> None:
        super().__init__(world)
        self.status = status

    async def get_poll(self, poll_id: str) -> Poll:
        raise ProviderError("no", status=self.status)


def bare_vote() -> PollVoteAdded:
    return PollVoteAdded("e-1", DEMO_TIME, "c-1", "p-1", "o-2", SON)


async def test_a_vote_whose_poll_cannot_be_read_passes_as_it_came() -> None:
    transport = ProviderTransport(PollsRefused(world_with_family(), 404))
    heard = Recorder()
    transport.on_inbound(heard)
    await transport.inbound_relay()(bare_vote())
    assert [bare_vote()] == heard.events


async def test_a_vote_whose_poll_read_fails_for_now_is_not_acknowledged() -> None:
    transport = ProviderTransport(PollsRefused(world_with_family(), 503))
    heard = Recorder()
    transport.on_inbound(heard)
    with pytest.raises(ProviderError):
        await transport.inbound_relay()(bare_vote())
    assert [] == heard.events


async def test_a_vote_without_its_text_gets_it_from_the_poll() -> None:
    world = world_with_family()
    conversation = world.create_conversation([MOM_HELPER])
    _, poll = world.send_poll(conversation.id, OPTIONS)
    transport = InMemoryTransport(world)
    heard = Recorder()
    transport.on_inbound(heard)
    bare = PollVoteAdded("e-1", DEMO_TIME, conversation.id, poll.id, poll.options[2].id, MOM_HELPER)
    await transport.inbound_relay()(bare)
    votes = [e for e in heard.events if isinstance(e, PollVoteAdded)]
    assert [(2, "Can't this week")] == [(v.option_index, v.option_text) for v in votes]
