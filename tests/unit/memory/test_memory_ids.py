"""Ids are random per World unless a seed is given; a seed makes them reproducible."""

from __future__ import annotations

import pytest

from adapters.memory import InMemoryTransport, World
from caresupport_transport.content import TextPart
from caresupport_transport.errors import ConfigurationError


def _ids(world: World) -> list[str]:
    """A chat id, two message ids and the event ids they produced, in order."""
    chat = world.create_conversation([world.add_recipient("+16515550101")])
    sent = world.send(chat.id, (TextPart("Pills at 9"),))
    received = world.receive_text("+16515550101", "Done")
    return [chat.id, sent.id, received.id, *(event.event_id for event in world.drain())]


def test_two_worlds_made_without_a_seed_share_no_id() -> None:
    first, second = World(), World()

    assert first.seed != second.seed
    assert not set(_ids(first)) & set(_ids(second))


def test_the_same_seed_gives_the_same_ids() -> None:
    assert _ids(World(seed=7)) == _ids(World(seed=7))
    assert _ids(World(seed=7)) != _ids(World(seed=8))


def test_a_random_worlds_seed_is_kept_so_its_ids_can_be_reproduced() -> None:
    world = World()
    ids = _ids(world)

    assert isinstance(world.seed, int)
    assert ids == _ids(World(seed=world.seed))


def test_the_in_memory_transport_seeds_its_world_only_when_asked() -> None:
    assert 3 == InMemoryTransport(seed=3).world.seed
    assert InMemoryTransport().world.seed != InMemoryTransport().world.seed
    with pytest.raises(ConfigurationError):
        InMemoryTransport(World(), seed=0)
