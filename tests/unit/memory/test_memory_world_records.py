"""What the World records about conversations and messages: creation, joins, leaving, keys,
edits and deletions (the facts a provider simulator serves from the World)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory import DEFAULT_START, RecipientKind, World
from caresupport_transport import (
    Handle,
    NotFoundError,
    Service,
    ServicePreference,
    TextPart,
    ValidationError,
)

ANN = Handle("+15552220001")
BOB = Handle("+15552220002")
CAL = Handle("+15552220003")
DEE = Handle("+15552220004")
HELLO = (TextPart("Hello"),)


def test_a_conversation_remembers_when_it_was_created() -> None:
    world = World()
    world.advance(30)
    chat = world.create_conversation([ANN])
    world.advance(60)
    again = world.create_conversation([ANN])
    assert again.id == chat.id
    assert DEFAULT_START + timedelta(seconds=30) == world.created_at(chat.id)
    assert {chat.id: DEFAULT_START + timedelta(seconds=30)} == world.conversation_created_at


def test_an_inbound_message_records_the_creation_of_the_conversation_it_opens() -> None:
    world = World()
    world.advance(5)
    received = world.receive_text(ANN, "hi")
    assert DEFAULT_START + timedelta(seconds=5) == world.created_at(received.conversation_id)


def test_the_creation_time_of_an_unknown_conversation_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        World().created_at("nope")


def test_founders_joined_at_creation_and_an_added_participant_when_added() -> None:
    world = World()
    group = world.create_conversation([ANN, BOB, CAL])
    world.advance(120)
    world.add_participant(group.id, DEE)
    added_at = DEFAULT_START + timedelta(seconds=120)
    assert DEFAULT_START == world.joined_at(group.id, ANN)
    assert added_at == world.joined_at(group.id, DEE)
    assert {(group.id, DEE): added_at} == world.joins


def test_leaving_a_group_keeps_it_readable_but_refuses_sending() -> None:
    world = World()
    group = world.create_conversation([ANN, BOB])
    world.send(group.id, HELLO)
    world.drain()
    world.leave(group.id)
    assert world.has_left(group.id)
    assert {group.id} == world.left_conversations
    assert (ANN, BOB) == world.conversation(group.id).participants
    assert 1 == len(world.history(group.id))
    with pytest.raises(ValidationError, match="left"):
        world.send(group.id, HELLO)
    assert [] == world.drain()


def test_a_repeated_key_still_answers_with_the_original_after_leaving() -> None:
    world = World()
    group = world.create_conversation([ANN, BOB])
    first = world.send(group.id, HELLO, idempotency_key="k-1")
    world.leave(group.id)
    assert first == world.send(group.id, HELLO, idempotency_key="k-1")


def test_only_a_group_can_be_left() -> None:
    world = World()
    chat = world.create_conversation([ANN])
    with pytest.raises(ValidationError, match="group"):
        world.leave(chat.id)
    assert not world.has_left(chat.id)
    with pytest.raises(NotFoundError):
        world.leave("nope")


def test_a_deleted_message_leaves_the_history_but_its_record_stays() -> None:
    world = World()
    chat = world.create_conversation([ANN])
    kept = world.send(chat.id, HELLO)
    gone = world.send(chat.id, (TextPart("oops"),))
    world.delete_message(gone.id)
    assert world.is_deleted(gone.id)
    assert not world.is_deleted(kept.id)
    assert {gone.id} == world.deleted_message_ids
    assert [kept] == world.history(chat.id)
    assert ([kept], None) == world.page_messages(chat.id, None, 10)
    assert gone == world.message(gone.id)


def test_deleting_an_unknown_message_is_not_found() -> None:
    world = World()
    with pytest.raises(NotFoundError):
        world.delete_message("nope")
    assert set() == world.deleted_message_ids


def test_a_deleted_inbound_message_is_not_marked_read() -> None:
    world = World()
    received = world.receive_text(ANN, "hi")
    world.delete_message(received.id)
    assert 0 == world.mark_read(received.conversation_id)


def test_each_message_remembers_the_key_it_was_sent_under() -> None:
    world = World()
    chat = world.create_conversation([ANN])
    keyed = world.send(chat.id, HELLO, idempotency_key="k-1")
    plain = world.send(chat.id, HELLO)
    assert {keyed.id: "k-1"} == world.message_keys
    assert {"k-1": keyed.id} == world.idempotency_keys
    assert plain.id not in world.message_keys


def test_a_pinned_service_is_remembered_and_auto_is_not() -> None:
    world = World()
    world.add_recipient(ANN, RecipientKind.IMESSAGE)
    chat = world.create_conversation([ANN])
    pinned = world.send(chat.id, HELLO, preference=ServicePreference.SMS)
    auto = world.send(chat.id, HELLO)
    assert {pinned.id: Service.SMS} == world.preferred_services
    assert Service.IMESSAGE == auto.service


def test_edits_are_recorded_in_order_and_move_updated_at() -> None:
    world = World()
    world.add_recipient(ANN, RecipientKind.IMESSAGE)
    chat = world.create_conversation([ANN])
    sent = world.send(chat.id, HELLO)
    assert sent.created_at == world.updated_at(sent.id)
    world.advance(10)
    world.edit(sent.id, 0, "Hello!")
    world.advance(20)
    world.edit(sent.id, 0, "Hello!!")
    first, second = DEFAULT_START + timedelta(seconds=10), DEFAULT_START + timedelta(seconds=30)
    assert [first, second] == world.edits[sent.id]
    assert second == world.updated_at(sent.id)


def test_a_refused_edit_is_not_recorded() -> None:
    world = World()
    chat = world.create_conversation([ANN])
    sent = world.send(chat.id, HELLO)
    with pytest.raises(ValidationError):
        world.edit(sent.id, 3, "nope")
    assert {} == world.edits
