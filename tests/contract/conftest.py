"""Runs every contract test once per adapter in ``HARNESS_FACTORIES``.

``harness`` (and ``transport``) follow the ``policy`` fixture, the default
policy unless a test overrides it, most simply by parametrising it::

    @pytest.mark.parametrize("policy", [FallbackPolicy(resend_on_failure=True)])
    async def test_...(harness: Harness) -> None: ...

A test that needs a harness of its own opens one with
``arranged_harness(target, policy)``, one at a time (the loopback target serves
one harness at once).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from caresupport_transport import FallbackPolicy, Transport

from .harness import DEFAULT_POLICY, HARNESS_FACTORIES, Harness
from .linq_harness import LINQ_HARNESSES
from .loopback_harness import LOOPBACK_HARNESSES, stop_loopback_servers  # noqa: F401 (fixture)
from .support import arrange
from .twilio_harness import TWILIO_HARNESSES

HARNESS_FACTORIES.update(LINQ_HARNESSES, **LOOPBACK_HARNESSES, **TWILIO_HARNESSES)


@contextlib.asynccontextmanager
async def arranged_harness(
    target: str, policy: FallbackPolicy = DEFAULT_POLICY
) -> AsyncIterator[Harness]:
    """A fresh harness of ``target`` under ``policy``, with the cast of ``support`` registered."""
    async with HARNESS_FACTORIES[target](policy=policy) as arranged:
        arrange(arranged)
        yield arranged


@pytest.fixture(params=sorted(HARNESS_FACTORIES))
def target(request: pytest.FixtureRequest) -> str:
    """The name of the adapter under test (a key of ``HARNESS_FACTORIES``)."""
    name: str = request.param
    return name


@pytest.fixture(autouse=True)
def _target_can(request: pytest.FixtureRequest) -> None:
    """Skip a scenario marked ``needs(...)`` where the target's harness lacks a capability.

    The harness is asked (``Harness.capabilities``), never the target's name.
    """
    needed = {c for mark in request.node.iter_markers("needs") for c in mark.args}
    if not needed or "harness" not in request.fixturenames:
        return
    arranged: Harness = request.getfixturevalue("harness")
    missing = sorted(c.value for c in needed if c not in arranged.capabilities)
    if missing:
        pytest.skip(f"the target cannot: {', '.join(missing)}")


@pytest.fixture
def policy() -> FallbackPolicy:
    """The transport's fallback policy; parametrise ``policy`` to run a test under another."""
    return DEFAULT_POLICY


@pytest.fixture
async def harness(target: str, policy: FallbackPolicy) -> AsyncIterator[Harness]:
    """The adapter under test, with the cast of ``support`` registered in its world."""
    async with arranged_harness(target, policy) as arranged:
        yield arranged


@pytest.fixture
def transport(harness: Harness) -> Transport:
    return harness.transport
