"""pytest fixtures for care-logic tests: ``world``, ``memory_transport`` and ``no_sleep``.

Installed as a pytest plugin (the ``pytest11`` entry point): a project that has
``caresupport-transport`` installed gets these fixtures in every test with no
import or ``conftest.py``. A test module may still define a fixture of the same
name; pytest then uses the nearer one.
"""

from __future__ import annotations

import pytest

from adapters.memory.no_sleep import NoSleep
from adapters.memory.transport import InMemoryTransport
from adapters.memory.world import World

__all__ = ["memory_transport", "no_sleep", "world"]

SEED = 0
"""The seed of the ``world`` fixture: the same calls give the same ids in every run."""


@pytest.fixture
def world() -> World:
    """A fresh, seeded ``World`` for each test: arrange recipients on it, then inspect it."""
    return World(seed=SEED)


@pytest.fixture
def memory_transport(world: World) -> InMemoryTransport:
    """An ``InMemoryTransport`` over the test's ``world`` fixture: hand it to the care logic."""
    return InMemoryTransport(world)


@pytest.fixture
def no_sleep(world: World) -> NoSleep:
    """A ``NoSleep`` on the test's ``world``: pauses return at once and move its clock on."""
    return NoSleep(world)
