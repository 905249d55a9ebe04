"""Bearer tokens: who may call at all, and which sender numbers each token may use."""

from __future__ import annotations

import pytest

from adapters.linq.simulator import FaultKind, Simulator
from adapters.memory import World
from caresupport_transport.errors import ValidationError

from .support import GRANDMA, create_chat, error_of, text_message

OTHER_TOKEN = "token-of-another-team"
OTHER_PHONE = "+15550100099"


@pytest.fixture
def two_teams() -> Simulator:
    simulator = Simulator(tokens={"care-token": ["+15550100000"], OTHER_TOKEN: [OTHER_PHONE]})
    simulator.add_recipient(GRANDMA)
    return simulator


async def test_a_request_without_a_token_is_refused_with_401_and_code_2004(sim: Simulator) -> None:
    async with sim.client(token="") as anonymous:
        response = await anonymous.get("/v3/phone_numbers")
    assert (401, 2004) == error_of(response)


async def test_a_wrong_token_is_refused_with_401_and_code_2004(sim: Simulator) -> None:
    async with sim.client(token="not-the-token") as stranger:
        response = await stranger.get("/v3/chats", params={"from": sim.phone})
    assert (401, 2004) == error_of(response)


async def test_a_token_sent_with_another_scheme_than_bearer_is_refused(sim: Simulator) -> None:
    async with sim.client(token="") as client:
        response = await client.get(
            "/v3/phone_numbers", headers={"Authorization": f"Basic {sim.token}"}
        )
    assert (401, 2004) == error_of(response)


async def test_a_refused_request_creates_nothing(sim: Simulator) -> None:
    async with sim.client(token="nope") as stranger:
        await stranger.post(
            "/v3/chats", json={"from": sim.phone, "to": [GRANDMA], "message": text_message()}
        )
    assert {} == sim.world.messages


async def test_sending_from_a_number_of_another_token_is_forbidden_with_2005(
    two_teams: Simulator,
) -> None:
    async with two_teams.client(token="care-token") as care:
        response = await care.post(
            "/v3/chats", json={"from": OTHER_PHONE, "to": [GRANDMA], "message": text_message()}
        )
    assert (403, 2005) == error_of(response)
    assert {} == two_teams.worlds[OTHER_PHONE].messages


async def test_each_token_sees_only_the_chats_of_its_own_numbers(two_teams: Simulator) -> None:
    async with two_teams.client(token=OTHER_TOKEN) as other:
        chat = await create_chat(other, OTHER_PHONE, GRANDMA)
    async with two_teams.client(token="care-token") as care:
        response = await care.get(f"/v3/chats/{chat['id']}")
    assert (404, 2001) == error_of(response)


async def test_each_line_has_its_own_chat_with_the_same_person(two_teams: Simulator) -> None:
    async with two_teams.client(token="care-token") as care:
        mine = await create_chat(care, two_teams.phone, GRANDMA)
    async with two_teams.client(token=OTHER_TOKEN) as other:
        theirs = await create_chat(other, OTHER_PHONE, GRANDMA)
    assert mine["id"] != theirs["id"]
    assert [OTHER_PHONE] == [h["handle"] for h in theirs["handles"] if h["is_me"]]


async def test_phone_numbers_lists_only_the_tokens_own_numbers(two_teams: Simulator) -> None:
    async with two_teams.client(token=OTHER_TOKEN) as other:
        response = await other.get("/v3/phone_numbers")
    assert [OTHER_PHONE] == [p["phone_number"] for p in response.json()["phone_numbers"]]


def test_the_token_never_appears_in_a_repr() -> None:
    simulator = Simulator(tokens={"very-secret-token": ["+15550100000"]})
    assert "very-secret-token" not in repr(simulator.backend)
    assert "very-secret-token" not in repr(list(simulator.backend.accounts.values()))


async def test_a_token_is_checked_before_any_fault_is_injected(sim: Simulator) -> None:
    sim.faults.script(FaultKind.SERVER_ERROR)
    async with sim.client(token="wrong") as stranger:
        response = await stranger.get("/v3/phone_numbers")
    assert 401 == response.status_code
    assert {} == sim.counters.faults


def test_a_token_mapped_to_a_bare_string_is_refused_naming_tokens() -> None:
    with pytest.raises(ValidationError) as raised:
        Simulator(tokens={"tok": "+15550100000"})  # type: ignore[dict-item]
    assert "tokens" == raised.value.field


def test_a_given_world_must_belong_to_a_configured_number() -> None:
    with pytest.raises(ValidationError) as raised:
        Simulator(tokens={"tok": ["+15550100000"]}, world=World(owner="+15550100042"))
    assert "world" == raised.value.field
