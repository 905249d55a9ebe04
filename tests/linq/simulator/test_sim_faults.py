"""Fault injection: each kind, before or after the request takes effect, reproducible by seed."""

from __future__ import annotations

import json

import httpx
import pytest

from adapters.linq.simulator import FaultKind, Faults, FaultTiming, Simulator
from caresupport_transport.errors import ValidationError

from .support import GRANDMA, FakeSleep, create_chat, error_of, text_message

SEND = "POST /v3/chats/{chatId}/messages"


async def _send(api: httpx.AsyncClient, chat_id: str, key: str = "k-1") -> httpx.Response:
    return await api.post(
        f"/v3/chats/{chat_id}/messages",
        json={"message": text_message("Pills at 9", idempotency_key=key)},
    )


async def test_a_rate_limit_answers_429_4001_with_retry_after_and_creates_nothing(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.faults.script(FaultKind.RATE_LIMIT, route=SEND, retry_after=7)
    response = await _send(api, chat["id"])
    assert ((429, 4001), "7") == (error_of(response), response.headers["retry-after"])
    assert 0 == sim.counters.messages_by_idempotency_key["k-1"]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [(FaultKind.SERVER_ERROR, 500, 3006), (FaultKind.UNAVAILABLE, 503, 4004)],
)
@pytest.mark.parametrize(("timing", "created"), [(FaultTiming.BEFORE, 0), (FaultTiming.AFTER, 1)])
async def test_a_server_error_before_creates_nothing_and_after_leaves_the_message(
    api: httpx.AsyncClient,
    sim: Simulator,
    kind: FaultKind,
    status: int,
    code: int,
    timing: FaultTiming,
    created: int,
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.faults.script(kind, timing=timing, route=SEND)
    response = await _send(api, chat["id"])
    assert (status, code) == error_of(response)
    assert created == sim.counters.messages_by_idempotency_key["k-1"]


async def test_a_dropped_connection_after_the_send_is_safe_to_retry_with_the_same_key(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.faults.script(FaultKind.DROP, timing=FaultTiming.AFTER, route=SEND)
    with pytest.raises(httpx.RemoteProtocolError):
        await _send(api, chat["id"])
    retried = await _send(api, chat["id"])
    assert 202 == retried.status_code
    assert 1 == sim.counters.messages_by_idempotency_key["k-1"]
    assert 2 == len(sim.world.messages)


async def test_a_dropped_connection_before_the_send_creates_nothing(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.faults.script(FaultKind.DROP, timing=FaultTiming.BEFORE, route=SEND)
    with pytest.raises(httpx.RemoteProtocolError):
        await _send(api, chat["id"])
    assert 1 == len(sim.world.messages)


@pytest.mark.parametrize(("timing", "messages"), [(FaultTiming.BEFORE, 1), (FaultTiming.AFTER, 2)])
async def test_a_hang_waits_then_times_out(
    api: httpx.AsyncClient,
    sim: Simulator,
    sleeps: FakeSleep,
    timing: FaultTiming,
    messages: int,
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.faults.script(FaultKind.HANG, timing=timing, route=SEND, hang_seconds=45)
    with pytest.raises(httpx.ReadTimeout):
        await _send(api, chat["id"])
    assert [45] == sleeps.calls
    assert messages == len(sim.world.messages)


@pytest.mark.parametrize(("timing", "messages"), [(FaultTiming.BEFORE, 1), (FaultTiming.AFTER, 2)])
async def test_a_malformed_answer_is_not_json(
    api: httpx.AsyncClient, sim: Simulator, timing: FaultTiming, messages: int
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.faults.script(FaultKind.MALFORMED, timing=timing, route=SEND)
    response = await _send(api, chat["id"])
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert messages == len(sim.world.messages)


async def test_a_scripted_fault_strikes_only_its_route_and_only_as_often_as_asked(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.faults.script(FaultKind.SERVER_ERROR, route=SEND, times=2)
    chat = await create_chat(api, sim.phone, GRANDMA)
    statuses = [(await _send(api, chat["id"], key=f"k{i}")).status_code for i in range(3)]
    assert [500, 500, 202] == statuses
    assert {"server_error:before": 2} == dict(sim.counters.faults)
    assert ["server_error:before", "server_error:before", None] == [
        r.fault for r in sim.counters.log if r.route == SEND
    ]


def test_random_faults_are_reproducible_from_the_seed() -> None:
    first = Simulator(faults=Faults(rate_500=0.3, rate_429=0.2, seed=11))
    again = Simulator(faults=Faults(rate_500=0.3, rate_429=0.2, seed=11))
    other = Simulator(faults=Faults(rate_500=0.3, rate_429=0.2, seed=12))
    runs = [
        [s.faults.for_request("GET /v3/phone_numbers") for _ in range(200)]
        for s in (first, again, other)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    struck = [f for f in runs[0] if f is not None]
    assert 70 <= len(struck) <= 130  # half of 200, give or take


async def test_random_faults_respect_the_route_filter(sleeps: FakeSleep) -> None:
    simulator = Simulator(sleep=sleeps, faults=Faults(rate_500=1.0, routes=[SEND]))
    simulator.add_recipient(GRANDMA)
    async with simulator.client() as api:
        chat = await create_chat(api, simulator.phone, GRANDMA)
        assert 500 == (await _send(api, chat["id"])).status_code


async def test_rate_one_makes_every_request_fail(sleeps: FakeSleep) -> None:
    simulator = Simulator(sleep=sleeps, faults=Faults(rate_503=1.0))
    async with simulator.client() as api:
        statuses = [(await api.get("/v3/phone_numbers")).status_code for _ in range(5)]
    assert [503] * 5 == statuses


async def test_faults_can_be_switched_off_mid_test(api: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.configure(Faults(rate_500=1.0))
    assert 500 == (await api.get("/v3/phone_numbers")).status_code
    sim.faults.clear()
    assert 200 == (await api.get("/v3/phone_numbers")).status_code


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rate_500": 1.5}, "faults.rate_500"),
        ({"rate_429": -0.1}, "faults.rate_429"),
        ({"rate_500": 0.6, "rate_503": 0.6}, "faults"),
        ({"hang_seconds": -1}, "faults.hang_seconds"),
    ],
)
def test_impossible_fault_rates_are_refused_naming_the_field(
    kwargs: dict[str, float], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Faults(**kwargs)  # type: ignore[arg-type]
    assert field == raised.value.field


def test_a_rate_limit_cannot_strike_after_the_request_took_effect(sim: Simulator) -> None:
    with pytest.raises(ValidationError, match="never takes effect"):
        sim.faults.script(FaultKind.RATE_LIMIT, timing=FaultTiming.AFTER)


async def test_a_malformed_answer_to_a_204_route_is_garbage_with_200(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.faults.script(FaultKind.MALFORMED, timing=FaultTiming.AFTER)
    response = await api.post(f"/v3/chats/{chat['id']}/read")
    assert 200 == response.status_code
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_a_fractional_retry_after_is_rounded_up_to_whole_seconds(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.faults.script(FaultKind.RATE_LIMIT, retry_after=0.4)
    response = await api.get("/v3/phone_numbers")
    assert "1" == response.headers["retry-after"]
