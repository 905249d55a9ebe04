"""The in-memory World: how messaging behaves, independent of any adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory import DEFAULT_START, DeliveryDelays, RecipientKind, World
from caresupport_transport import (
    Availability,
    ConversationCreated,
    DeliveryStatus,
    Direction,
    Effect,
    Handle,
    MessageReceived,
    MessageStatusChanged,
    NotFoundError,
    ParticipantAdded,
    ParticipantRemoved,
    Reaction,
    ReactionAdded,
    ReactionKind,
    ReactionRemoved,
    Service,
    ServicePreference,
    TextPart,
    TypingStarted,
    TypingStopped,
    ValidationError,
)

ANN = Handle("+15552220001")
BOB = Handle("+15552220002")
CAL = Handle("+15552220003")
DEE = Handle("+15552220004")
EVE = Handle("+15552220005")
HELLO = (TextPart("Hello"),)


def statuses(world: World) -> list[DeliveryStatus]:
    return [e.status for e in world.drain() if isinstance(e, MessageStatusChanged)]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (RecipientKind.IMESSAGE, (Service.IMESSAGE, Service.SMS)),
        (RecipientKind.RCS, (Service.RCS, Service.SMS)),
        (RecipientKind.SMS_ONLY, (Service.SMS,)),
        (RecipientKind.UNREACHABLE, (Service.SMS,)),
    ],
)
def test_each_recipient_kind_reaches_its_services(
    kind: RecipientKind, expected: tuple[Service, ...]
) -> None:
    world = World()
    world.add_recipient(ANN, kind)
    assert expected == world.services_of(ANN)


def test_email_recipient_has_imessage_only() -> None:
    world = World()
    mail = world.add_recipient("gran@example.org", RecipientKind.IMESSAGE)
    assert world.services_of(mail) == (Service.IMESSAGE,)


def test_email_recipient_cannot_be_sms_only() -> None:
    with pytest.raises(ValidationError) as info:
        World().add_recipient("gran@example.org", RecipientKind.SMS_ONLY)
    assert info.value.field == "kind"


def test_registered_recipient_is_in_the_world_by_string_or_handle() -> None:
    world = World()
    world.add_recipient("+15552220001", RecipientKind.RCS)
    assert "+15552220001" in world
    assert ANN in world
    assert BOB not in world


def test_capability_lookup_reports_the_recipient_kind_exactly() -> None:
    world = World()
    world.add_recipient(ANN, RecipientKind.RCS)
    caps = world.capabilities(ANN)
    assert (
        caps.imessage,
        caps.rcs,
        caps.sms,
    ) == (Availability.UNAVAILABLE, Availability.AVAILABLE, Availability.AVAILABLE)


def test_unregistered_handle_behaves_as_the_default_kind() -> None:
    world = World(default_kind=RecipientKind.RCS)
    assert world.services_of(ANN) == (Service.RCS, Service.SMS)


def test_auto_picks_the_first_service_every_participant_has() -> None:
    world = World()
    world.add_recipient(ANN, RecipientKind.IMESSAGE)
    world.add_recipient(BOB, RecipientKind.RCS)
    assert world.pick_service([ANN], ServicePreference.AUTO) == Service.IMESSAGE
    assert world.pick_service([ANN, BOB], ServicePreference.AUTO) == Service.SMS


def test_status_moves_pending_sent_delivered_read_on_the_clock() -> None:
    world = World(delays=DeliveryDelays(sent=1, delivered=3, read=10))
    world.add_recipient(ANN, RecipientKind.IMESSAGE)
    chat = world.create_conversation([ANN])
    message = world.send(chat.id, HELLO)
    world.drain()
    assert message.status == DeliveryStatus.PENDING
    world.advance(0.5)
    assert statuses(world) == []
    world.advance(2.5)
    assert statuses(world) == [DeliveryStatus.SENT, DeliveryStatus.DELIVERED]
    world.advance(7)
    assert statuses(world) == [DeliveryStatus.READ]
    final = world.messages[message.id]
    assert DEFAULT_START + timedelta(seconds=10) == final.read_at
    assert DEFAULT_START + timedelta(seconds=3) == final.delivered_at


def test_status_events_carry_the_time_they_happened_not_the_time_advanced_to() -> None:
    world = World(delays=DeliveryDelays(sent=1, delivered=3, read=None))
    world.add_recipient(ANN, RecipientKind.IMESSAGE)
    world.send(world.create_conversation([ANN]).id, HELLO)
    world.drain()
    world.advance(100)
    times = [e.occurred_at - DEFAULT_START for e in world.drain()]
    assert [timedelta(seconds=1), timedelta(seconds=3)] == times


def test_sms_messages_are_never_read() -> None:
    world = World()
    world.add_recipient(ANN, RecipientKind.SMS_ONLY)
    message = world.send(world.create_conversation([ANN]).id, HELLO)
    world.advance(3600)
    assert world.messages[message.id].status == DeliveryStatus.DELIVERED


def test_message_to_unreachable_recipient_fails_with_a_reason() -> None:
    world = World()
    world.add_recipient(ANN, RecipientKind.UNREACHABLE)
    message = world.send(world.create_conversation([ANN]).id, HELLO)
    world.drain()
    world.advance(60)
    events = world.drain()
    assert [e.status for e in events if isinstance(e, MessageStatusChanged)] == [
        DeliveryStatus.FAILED
    ]
    assert world.messages[message.id].status == DeliveryStatus.FAILED
    assert "unreachable" in world.failure_reasons[message.id]


def test_pinned_service_the_recipient_lacks_fails_the_message() -> None:
    world = World()
    world.add_recipient(ANN, RecipientKind.SMS_ONLY)
    chat = world.create_conversation([ANN])
    message = world.send(chat.id, HELLO, preference=ServicePreference.IMESSAGE)
    world.advance(60)
    assert (
        message.service,
        world.messages[message.id].status,
    ) == (Service.IMESSAGE, DeliveryStatus.FAILED)


def test_injected_failure_fails_only_the_next_send() -> None:
    world = World()
    world.add_recipient(ANN, RecipientKind.IMESSAGE)
    chat = world.create_conversation([ANN])
    world.fail_next_send(ANN, "carrier rejected")
    first = world.send(chat.id, HELLO)
    second = world.send(chat.id, HELLO)
    world.advance(5)
    assert [
        world.messages[first.id].status,
        world.messages[second.id].status,
    ] == [DeliveryStatus.FAILED, DeliveryStatus.DELIVERED]
    assert world.failure_reasons[first.id] == "carrier rejected"


def test_repeated_idempotency_key_returns_the_original_and_creates_nothing() -> None:
    world = World()
    chat = world.create_conversation([ANN])
    first = world.send(chat.id, HELLO, idempotency_key="k1")
    world.drain()
    again = world.send(chat.id, (TextPart("Different"),), idempotency_key="k1")
    assert first == again
    assert len(world.messages) == 1
    assert world.drain() == []


def test_same_seed_and_calls_give_the_same_ids_and_events() -> None:
    def run(seed: int) -> list[object]:
        world = World(seed=seed)
        world.add_recipient(ANN, RecipientKind.IMESSAGE)
        chat = world.create_conversation([ANN])
        world.send(chat.id, HELLO)
        world.receive_text(ANN, "Hi back")
        world.advance(100)
        return list(world.drain())

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_event_ids_are_unique() -> None:
    world = World()
    chat = world.create_conversation([ANN])
    for _ in range(5):
        world.send(chat.id, HELLO)
    world.advance(100)
    ids = [e.event_id for e in world.drain()]
    assert len(ids) == len(set(ids))


def test_creating_a_conversation_with_the_same_people_reuses_it() -> None:
    world = World()
    first = world.create_conversation([ANN, BOB])
    assert first == world.create_conversation([BOB, ANN])
    assert [ConversationCreated] == [type(e) for e in world.drain()]


def test_conversation_refuses_the_owner_and_repeats() -> None:
    world = World()
    with pytest.raises(ValidationError, match="owner"):
        world.create_conversation([world.owner])
    with pytest.raises(ValidationError, match="repeat"):
        world.create_conversation([ANN, ANN])


def test_effect_is_kept_on_imessage_and_dropped_by_the_provider_on_sms() -> None:
    world = World()
    world.add_recipient(ANN, RecipientKind.IMESSAGE)
    world.add_recipient(BOB, RecipientKind.SMS_ONLY)
    confetti = Effect.screen("confetti")
    on_imessage = world.send(world.create_conversation([ANN]).id, HELLO, effect=confetti)
    on_sms = world.send(world.create_conversation([BOB]).id, HELLO, effect=confetti)
    assert (confetti, None) == (on_imessage.effect, on_sms.effect)


def test_sending_into_an_unknown_conversation_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        World().send("nope", HELLO)


def test_inbound_text_opens_the_senders_conversation_and_emits_received() -> None:
    world = World()
    world.add_recipient(ANN, RecipientKind.IMESSAGE)
    message = world.receive_text(ANN, "Is mum's appointment at 3?")
    events = world.drain()
    assert [ConversationCreated, MessageReceived] == [type(e) for e in events]
    assert (
        message.direction,
        message.sender,
        message.service,
    ) == (Direction.INBOUND, ANN, Service.IMESSAGE)


def test_inbound_from_someone_outside_the_conversation_is_refused() -> None:
    world = World()
    chat = world.create_conversation([ANN])
    with pytest.raises(ValidationError):
        world.receive_text(BOB, "hi", conversation_id=chat.id)


def test_owner_reading_marks_inbound_messages_read() -> None:
    world = World()
    message = world.receive_text(ANN, "hello")
    assert world.mark_read(message.conversation_id) == 1
    assert world.messages[message.id].status == DeliveryStatus.READ


def test_reactions_are_recorded_and_removed_with_events() -> None:
    world = World()
    message = world.receive_text(ANN, "Thanks!")
    world.drain()
    love = Reaction(ReactionKind.LOVE)
    world.react(message.id, love)
    assert [love] == [r.reaction for r in world.reactions_on(message.id)]
    assert world.unreact(message.id, love)
    assert not world.unreact(message.id, love)
    added, removed = world.drain()
    assert isinstance(added, ReactionAdded)
    assert added.is_from_me
    assert isinstance(removed, ReactionRemoved)
    assert world.reactions == []


def test_reaction_on_a_missing_part_is_refused() -> None:
    world = World()
    message = world.receive_text(ANN, "Thanks!")
    with pytest.raises(ValidationError) as info:
        world.react(message.id, Reaction(ReactionKind.LIKE), part_index=3)
    assert info.value.field == "part_index"


def test_others_typing_emits_events_and_the_owners_is_only_state() -> None:
    world = World()
    chat = world.create_conversation([ANN])
    world.drain()
    world.set_typing(chat.id, True)
    world.set_typing(chat.id, True, handle=ANN)
    world.set_typing(chat.id, True, handle=ANN)
    world.set_typing(chat.id, False, handle=ANN)
    assert [TypingStarted, TypingStopped] == [type(e) for e in world.drain()]
    assert {world.owner} == world.typing[chat.id]


def test_sending_clears_the_owners_typing_indicator() -> None:
    world = World()
    chat = world.create_conversation([ANN])
    world.set_typing(chat.id, True)
    world.send(chat.id, HELLO)
    assert set() == world.typing[chat.id]


def test_adding_needs_three_existing_participants() -> None:
    world = World()
    small = world.create_conversation([ANN, BOB])
    with pytest.raises(ValidationError, match="3\\+"):
        world.add_participant(small.id, CAL)
    big = world.create_conversation([ANN, BOB, CAL])
    world.drain()
    grown = world.add_participant(big.id, DEE)
    assert grown.participants == (ANN, BOB, CAL, DEE)
    assert [ParticipantAdded] == [type(e) for e in world.drain()]


def test_adding_someone_who_lacks_the_groups_service_is_refused() -> None:
    world = World()
    for handle in (ANN, BOB, CAL):
        world.add_recipient(handle, RecipientKind.IMESSAGE)
    world.add_recipient(DEE, RecipientKind.SMS_ONLY)
    group = world.create_conversation([ANN, BOB, CAL])
    world.send(group.id, HELLO)
    with pytest.raises(ValidationError, match="iMessage"):
        world.add_participant(group.id, DEE)


def test_removing_must_leave_three_participants() -> None:
    world = World()
    group = world.create_conversation([ANN, BOB, CAL, DEE])
    world.drain()
    smaller = world.remove_participant(group.id, DEE)
    assert smaller.participants == (ANN, BOB, CAL)
    with pytest.raises(ValidationError, match="leave"):
        world.remove_participant(group.id, CAL)
    assert [ParticipantRemoved] == [type(e) for e in world.drain()]


def test_conversations_page_with_a_cursor_until_none() -> None:
    world = World()
    chats = [world.create_conversation([Handle(f"+1555333000{n}")]) for n in range(5)]
    seen = []
    cursor = None
    while True:
        page, cursor = world.page_conversations(cursor, 2)
        seen.extend(page)
        if cursor is None:
            break
    assert chats == seen


def test_a_cursor_the_world_did_not_issue_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        World().page_conversations("abc", 2)
    assert info.value.field == "cursor"


def test_history_is_newest_first() -> None:
    world = World()
    chat = world.create_conversation([ANN])
    first = world.send(chat.id, HELLO)
    second = world.receive_text(ANN, "hi", conversation_id=chat.id)
    assert [second.id, first.id] == [m.id for m in world.history(chat.id)]


def test_upload_keeps_the_bytes_and_sending_it_needs_it_to_exist() -> None:
    world = World()
    attachment = world.upload(b"png!", filename="chart.png", content_type="image/png")
    assert (world.attachment_data[attachment.id], attachment.size_bytes) == (b"png!", 4)
    with pytest.raises(NotFoundError):
        world.attachment("missing")


def test_the_clock_cannot_go_backwards() -> None:
    with pytest.raises(ValidationError):
        World().advance(-1)


def test_delays_must_be_in_order() -> None:
    with pytest.raises(ValidationError) as info:
        DeliveryDelays(sent=5, delivered=1)
    assert info.value.field == "delays.delivered"


def test_text_that_is_no_handle_is_simply_not_in_the_world() -> None:
    assert "not a phone" not in World()
