"""Capability checks answer from the World's recipients; 503 means unknown."""

from __future__ import annotations

import httpx
import pytest

from adapters.linq.simulator import Simulator

from .support import DAUGHTER, GRANDMA, NURSE, SON, error_of


@pytest.mark.parametrize(
    ("address", "imessage", "rcs"),
    [
        (GRANDMA, True, False),
        (NURSE, False, True),
        (SON, False, False),
        (DAUGHTER, True, False),
        ("+16515559999", False, False),
    ],
)
async def test_capability_checks_answer_from_the_world(
    api: httpx.AsyncClient, address: str, imessage: bool, rcs: bool
) -> None:
    got_imessage = await api.post("/v3/capability/check_imessage", json={"address": address})
    got_rcs = await api.post("/v3/capability/check_rcs", json={"address": address})
    assert {"address": address, "available": imessage} == _without_trace(got_imessage.json())
    assert {"address": address, "available": rcs} == _without_trace(got_rcs.json())


async def test_an_unknown_capability_is_503_4004_not_unavailable(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.make_capability_unknown(NURSE)
    response = await api.post("/v3/capability/check_rcs", json={"address": NURSE})
    assert (503, 4004) == error_of(response)


async def test_a_capability_check_of_a_malformed_address_is_400_1002(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post("/v3/capability/check_imessage", json={"address": "651-555"})
    assert (400, 1002) == error_of(response)


def _without_trace(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k != "trace_id"}
