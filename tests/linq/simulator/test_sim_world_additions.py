"""The World's provider-side operations the simulator serves: edit, rename, icon, upload by id."""

from __future__ import annotations

import pytest

from adapters.memory import RecipientKind, World
from caresupport_transport.content import MediaPart, TextPart
from caresupport_transport.errors import ValidationError
from caresupport_transport.events import ConversationUpdated, MessageEdited
from caresupport_transport.handles import Handle

from .support import AUNT, GRANDMA, UNCLE


def test_editing_a_text_part_replaces_it_and_records_the_edit() -> None:
    world = World()
    world.add_recipient(GRANDMA, RecipientKind.IMESSAGE)
    chat = world.create_conversation([Handle(GRANDMA)])
    sent = world.send(chat.id, (TextPart("at 3"), MediaPart(url="https://e.org/a.png")))
    world.drain()
    edited = world.edit(sent.id, 0, "at 4")
    [event] = world.drain()
    assert (TextPart("at 4"), sent.parts[1]) == edited.parts
    assert isinstance(event, MessageEdited)
    assert ((TextPart("at 4"),), 0) == (event.parts, event.part_index)


def test_editing_a_media_part_is_refused() -> None:
    world = World()
    chat = world.create_conversation([Handle(GRANDMA)])
    sent = world.send(chat.id, (TextPart("see"), MediaPart(url="https://e.org/a.png")))
    with pytest.raises(ValidationError, match="part_index"):
        world.edit(sent.id, 1, "text")


def test_renaming_a_group_records_the_new_name() -> None:
    world = World()
    group = world.create_conversation([Handle(AUNT), Handle(UNCLE)])
    world.drain()
    renamed = world.rename(group.id, "Care team")
    world.change_icon(group.id, "https://e.org/icon.png")
    events = world.drain()
    assert "Care team" == renamed.display_name == world.conversations[group.id].display_name
    assert [("name", "Care team"), ("icon", "https://e.org/icon.png")] == [
        (e.change, e.value) for e in events if isinstance(e, ConversationUpdated)
    ]


def test_a_one_to_one_chat_has_no_name() -> None:
    world = World()
    chat = world.create_conversation([Handle(GRANDMA)])
    with pytest.raises(ValidationError):
        world.rename(chat.id, "Mum")


def test_an_upload_stored_under_an_announced_id_can_be_sent() -> None:
    world = World()
    stored = world.store_upload(
        "announced-id", b"%PDF", filename="plan.pdf", content_type="application/pdf"
    )
    chat = world.create_conversation([Handle(GRANDMA)])
    sent = world.send(chat.id, (MediaPart(attachment_id="announced-id"),))
    assert ("announced-id", 4, b"%PDF") == (
        stored.id,
        stored.size_bytes,
        world.attachment_data["announced-id"],
    )
    assert "announced-id" == sent.parts[0].attachment_id  # type: ignore[union-attr]
