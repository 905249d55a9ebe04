"""Fuzz: the simulator's HTTP surface answers nonsense in Linq's words, never with a 5xx.

``tests/linq/simulator`` sends random JSON bodies to every route. Added here:
bodies that are not JSON, odd content types, random query strings, random
ids in the path (unicode, percent signs, very long), odd idempotency keys and
methods no route has. Without faults nothing may answer 5xx; with random
faults, a 5xx (or a dropped connection) happens only where a fault was injected.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.linq.simulator import ROUTES, Faults, FaultTiming, Simulator
from adapters.memory import RecipientKind

from .strategies import json_values

GRANDMA = "+16515550101"

ids = st.one_of(
    st.just("{real}"),
    st.text(max_size=40),
    st.text(alphabet="%/.?#&=:;", max_size=6),
    st.integers(min_value=300, max_value=3_000).map(lambda n: "x" * n),
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda value: str(value).encode()),
    st.just(b'{"message": {"parts": [{"type": "text", "value": "hi"'),
    st.just(b""),
)
content_types = st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "json; charset=x"]
)
queries = st.lists(
    st.tuples(
        st.sampled_from(["limit", "cursor", "from", "to", "order", "x"]) | st.text(max_size=5),
        st.text(max_size=12),
    ),
    max_size=4,
)
headers = st.dictionaries(
    st.sampled_from(["Idempotency-Key", "Accept", "X-Trace-Id", "Content-Encoding"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300),
    max_size=3,
)
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"])


def fill(template: str, chat: dict[str, Any], raw_id: str) -> str:
    """The route's path with its id: the real one, or a random one (percent-encoded)."""
    if raw_id == "{real}":
        chat_id, message_id = chat["id"], chat["message"]["id"]
    else:
        chat_id = message_id = quote(raw_id, safe="")
    path = template.replace("{chatId}", chat_id).replace("{messageId}", message_id)
    return path.replace("{attachmentId}", message_id).replace("{subscriptionId}", chat_id)


async def one_request(
    faults: Faults | None,
    route: Any,
    method: str,
    raw_id: str,
    body: bytes,
    content_type: str,
    query: list[tuple[str, str | int | float | bool | None]],
    extra: dict[str, str],
) -> tuple[int | None, str | None, Simulator]:
    """One fuzzed request: its status (``None``: the connection dropped), its fault, the sim."""
    sim = Simulator(seed=3, sleep=no_wait)
    sim.add_recipient(GRANDMA, RecipientKind.IMESSAGE)
    async with sim.client() as api:
        message = {"parts": [{"type": "text", "value": "Hello"}]}
        answer = await api.post(
            "/v3/chats", json={"from": sim.phone, "to": [GRANDMA], "message": message}
        )
        chat = answer.json()["chat"]
        if faults is not None:
            sim.faults.configure(faults)
        try:
            response = await api.request(
                method,
                fill(route.template, chat, raw_id),
                content=body,
                params=query,
                headers={"Content-Type": content_type, **extra} if content_type else extra,
            )
        except httpx.TransportError:
            return None, sim.counters.log[-1].fault, sim
    record = sim.counters.log[-1] if sim.counters.log else None
    if response.status_code >= 400 and method != "HEAD":
        error = response.json()
        assert (False, response.status_code) == (error["success"], error["error"]["status"])
        assert isinstance(error["error"]["code"], int)
    return response.status_code, record.fault if record else None, sim


async def no_wait(_: float) -> None:
    return None


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    route=st.sampled_from(ROUTES),
    method=st.one_of(st.none(), methods),
    raw_id=ids,
    body=bodies,
    content_type=content_types,
    query=queries,
    extra=headers,
)
def test_any_request_without_faults_gets_a_linq_answer_below_500(
    route: Any,
    method: str | None,
    raw_id: str,
    body: bytes,
    content_type: str,
    query: list[tuple[str, str | int | float | bool | None]],
    extra: dict[str, str],
) -> None:
    status, fault, sim = asyncio.run(
        one_request(None, route, method or route.method, raw_id, body, content_type, query, extra)
    )

    assert status is not None
    assert status < 500
    assert fault is None
    assert {} == dict(sim.counters.faults)


@FUZZ
@given(
    route=st.sampled_from(ROUTES),
    raw_id=ids,
    body=bodies,
    rates=st.tuples(*[st.floats(min_value=0, max_value=0.15)] * 5),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_with_random_faults_a_5xx_or_a_drop_happens_only_where_a_fault_was_injected(
    route: Any, raw_id: str, body: bytes, rates: tuple[float, ...], seed: int
) -> None:
    rate_429, rate_500, rate_503, rate_hang, rate_drop = rates
    faults = Faults(
        rate_429=rate_429,
        rate_500=rate_500,
        rate_503=rate_503,
        rate_hang=rate_hang,
        hang_seconds=0.0,
        rate_drop=rate_drop,
        timing=FaultTiming.EITHER,
        seed=seed,
    )

    status, fault, _ = asyncio.run(
        one_request(faults, route, route.method, raw_id, body, "application/json", [], {})
    )

    if status is None or status >= 500:
        assert fault is not None
