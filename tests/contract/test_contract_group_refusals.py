"""Contract: adding someone already in a group (or our own line) is refused before the add."""

from __future__ import annotations

from typing import cast

import pytest

from caresupport_transport import Handle, ProviderTransport, ValidationError

from .harness import Capability, Harness
from .support import CAREGIVER, NEIGHBOUR, NURSE, start


@pytest.mark.parametrize("who", ["a-member", "our-own-line"])
@pytest.mark.needs(Capability.GROUPS)
async def test_adding_someone_already_in_the_group_is_refused_before_the_add(
    harness: Harness, who: str
) -> None:
    transport = harness.transport
    group = await start(transport, CAREGIVER, NURSE, NEIGHBOUR)
    line = cast(ProviderTransport, transport).provider.line
    assert line is not None
    handle: Handle = NURSE if who == "a-member" else line
    before = harness.requests_made

    with pytest.raises(ValidationError) as info:
        await transport.add_participant(group.id, handle)

    assert ("handle", f"{handle} is already in the conversation") == (
        info.value.field,
        info.value.rule,
    )
    assert harness.requests_made - before <= 1  # at most reading the group, never the add
    assert {CAREGIVER, NURSE, NEIGHBOUR} == set(
        (await transport.get_conversation(group.id)).participants
    )
