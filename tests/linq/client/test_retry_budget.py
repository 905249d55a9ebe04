"""Retries: the budget bounds every wait, odd ``Retry-After`` values, what an error says was sent.

Each test here was written for a change that the mutation script
(``tools/mutate.py retry http_retries``) showed the suite did not notice.
"""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest

from adapters.linq import Replay
from adapters.linq._retry import backoff_delay
from caresupport_transport import OutgoingMessage
from caresupport_transport.errors import (
    ProtocolError,
    ProviderError,
    RateLimitedError,
    TransportTimeoutError,
    UnreachableError,
)

from .support import CHAT_ID, NOW, TOKEN, FakeLinq, chat_json, error_json

# With random() = 0.5 and the default backoff (0.5 s initial, equal jitter, 8 s cap):
BACKOFFS = [0.375, 0.75, 1.5, 3.0, 6.0, 6.0]
PILLS = OutgoingMessage.of_text("Pills at 9")


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param((500, error_json(500, 3006, "internal")), id="500"),
        pytest.param((503, error_json(503, 3006, "busy")), id="503"),
        pytest.param((408, None), id="408"),
    ],
)
async def test_backoff_after_a_refusal_stops_where_the_budget_ends(
    linq: FakeLinq, refusal: tuple[int, object]
) -> None:
    status, body = refusal
    client, http = linq.client(max_attempts=10, retry_budget_seconds=1.0)
    for _ in range(3):
        linq.answer(status, body)

    async with http, client:
        with pytest.raises(ProviderError) as caught:
            await client.get_chat(CHAT_ID)

    assert status == caught.value.status
    # 0.375 + 0.75 would be 1.125 s of waiting: over the budget, so no second wait.
    assert ([0.375], 2) == (linq.slept, len(linq.requests))


async def test_backoff_that_exactly_fills_the_budget_is_waited(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=10, retry_budget_seconds=1.125)
    linq.answer(502, content=b"bad gateway")
    linq.answer(502, content=b"bad gateway")
    linq.answer(200, chat_json())

    async with http, client:
        await client.get_chat(CHAT_ID)

    assert [0.375, 0.75] == linq.slept


async def test_backoff_after_no_answer_stops_where_the_budget_ends(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=10, retry_budget_seconds=1.0)
    for _ in range(3):
        linq.fail(httpx.ConnectError("connection refused"))

    async with http, client:
        with pytest.raises(UnreachableError):
            await client.get_chat(CHAT_ID)

    assert ([0.375], 2) == (linq.slept, len(linq.requests))


async def test_backoff_after_no_answer_that_exactly_fills_the_budget_is_waited(
    linq: FakeLinq,
) -> None:
    client, http = linq.client(max_attempts=10, retry_budget_seconds=1.125)
    linq.fail(httpx.ConnectError("connection refused"))
    linq.fail(httpx.ConnectError("connection refused"))
    linq.answer(200, chat_json())

    async with http, client:
        await client.get_chat(CHAT_ID)

    assert [0.375, 0.75] == linq.slept


async def test_a_retry_after_that_exactly_fills_the_budget_is_waited(linq: FakeLinq) -> None:
    client, http = linq.client(retry_budget_seconds=5)
    linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": "5"})
    linq.answer(200, chat_json())

    async with http, client:
        await client.get_chat(CHAT_ID)

    assert [5.0] == linq.slept


async def test_a_5xx_retry_after_beyond_the_budget_raises_the_5xx_at_once(linq: FakeLinq) -> None:
    linq.answer(503, error_json(503, 3006, "busy"), headers={"Retry-After": "120"})
    client, http = linq.client()

    async with http, client:
        with pytest.raises(ProviderError) as caught:
            await client.get_chat(CHAT_ID)

    assert not isinstance(caught.value, RateLimitedError)
    assert (503, [], 1) == (caught.value.status, linq.slept, len(linq.requests))


async def test_the_backoff_is_used_until_the_attempts_run_out(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=7)
    for _ in range(6):
        linq.answer(500, error_json(500, 3006, "internal"))
    linq.answer(200, chat_json())

    async with http, client:
        await client.get_chat(CHAT_ID)

    assert BACKOFFS == linq.slept


@pytest.mark.parametrize("value", ["-5", "-0.5", "nan", "inf", "-inf", "soon", ""])
async def test_an_unusable_retry_after_falls_back_to_the_backoff(
    linq: FakeLinq, value: str
) -> None:
    client, http = linq.client()
    linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": value})
    linq.answer(200, chat_json())

    async with http, client:
        await client.get_chat(CHAT_ID)

    assert [0.375] == linq.slept


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("0", id="zero"),
        pytest.param(" 0 ", id="padded-zero"),
        pytest.param(formatdate(NOW - 30, usegmt=True), id="date-in-the-past"),
    ],
)
async def test_a_retry_after_of_zero_or_in_the_past_retries_at_once(
    linq: FakeLinq, value: str
) -> None:
    client, http = linq.client()
    linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": value})
    linq.answer(200, chat_json())

    async with http, client:
        await client.get_chat(CHAT_ID)

    assert [0.0] == linq.slept


async def test_a_retry_after_date_without_a_zone_falls_back_to_the_backoff(
    linq: FakeLinq,
) -> None:
    client, http = linq.client()
    naive = formatdate(NOW + 30, usegmt=True).replace("GMT", "-0000")
    linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": naive})
    linq.answer(200, chat_json())

    async with http, client:
        await client.get_chat(CHAT_ID)

    assert [0.375] == linq.slept


async def test_a_fractional_retry_after_is_waited_as_given(linq: FakeLinq) -> None:
    client, http = linq.client()
    linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": "1.5"})
    linq.answer(200, chat_json())

    async with http, client:
        await client.get_chat(CHAT_ID)

    assert [1.5] == linq.slept


async def test_a_refused_connection_means_the_send_surely_did_not_happen(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=2)
    linq.fail(httpx.ConnectError("connection refused"))
    linq.fail(httpx.ConnectTimeout("no connection in time"))

    async with http, client:
        with pytest.raises(UnreachableError) as caught:
            await client.send_message(CHAT_ID, PILLS)

    assert not caught.value.outcome_unknown
    assert 2 == len(linq.requests)


async def test_a_timeout_after_a_refused_connection_may_have_sent(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=2)
    linq.fail(httpx.ConnectError("connection refused"))
    linq.fail(httpx.ReadTimeout("no answer in time"))

    async with http, client:
        with pytest.raises(TransportTimeoutError) as caught:
            await client.send_message(CHAT_ID, PILLS)

    assert caught.value.outcome_unknown


@pytest.mark.parametrize("status", [500, 502, 599])
async def test_a_5xx_to_a_send_may_have_sent_it(linq: FakeLinq, status: int) -> None:
    client, http = linq.client(max_attempts=1)
    linq.answer(status, error_json(status, 3006, "internal"))

    async with http, client:
        with pytest.raises(ProviderError) as caught:
            await client.send_message(CHAT_ID, PILLS)

    assert (status, True) == (caught.value.status, caught.value.outcome_unknown)


@pytest.mark.parametrize("status", [408, 429, 499])
async def test_a_4xx_to_a_send_did_not_send_it(linq: FakeLinq, status: int) -> None:
    client, http = linq.client(max_attempts=1)
    linq.answer(status, error_json(status, 4001, "refused"))

    async with http, client:
        with pytest.raises(ProviderError) as caught:
            await client.send_message(CHAT_ID, PILLS)

    assert (status, False) == (caught.value.status, caught.value.outcome_unknown)


async def test_a_status_beyond_599_is_not_retried(linq: FakeLinq) -> None:
    client, http = linq.client()
    linq.answer(600, content=b"?")

    async with http, client:
        with pytest.raises(ProviderError):
            await client.get_chat(CHAT_ID)

    assert (1, []) == (len(linq.requests), linq.slept)


@pytest.mark.parametrize(("status", "requests"), [(499, 1), (500, 2), (599, 2), (600, 1)])
async def test_only_500_to_599_are_retried_as_server_errors(
    linq: FakeLinq, status: int, requests: int
) -> None:
    client, http = linq.client(max_attempts=2)
    for _ in range(2):
        linq.answer(status, error_json(status, 3006, "refused"))

    async with http, client:
        with pytest.raises(ProviderError):
            await client.get_chat(CHAT_ID)

    assert requests == len(linq.requests)


def test_the_backoff_exponent_stops_growing_after_62_doublings() -> None:
    # Tiny steps and a huge cap: only the exponent's own bound limits the delay.
    delay = backoff_delay(100, initial=1e-30, maximum=1e30, random=lambda: 0.0)
    assert 1e-30 * 2**62 / 2 == delay


@pytest.mark.parametrize(("jitter", "delay"), [(-0.5, 0.25), (0.0, 0.25), (1.0, 0.5), (7.0, 0.5)])
def test_jitter_from_a_misbehaving_source_is_clamped_to_0_1(jitter: float, delay: float) -> None:
    assert delay == backoff_delay(1, initial=0.5, maximum=8.0, random=lambda: jitter)


def test_replay_kinds_keep_their_public_values() -> None:
    assert {"safe": Replay.SAFE, "if unsent": Replay.IF_UNSENT} == {r.value: r for r in Replay}


async def test_the_cause_of_a_failure_is_scrubbed_of_the_token_too(linq: FakeLinq) -> None:
    """A traceback prints the ``from`` exception's text as well as the error's own."""
    client, http = linq.client(max_attempts=1)
    linq.fail(httpx.ConnectError(f"proxy refused token {TOKEN}"))

    async with http, client:
        with pytest.raises(UnreachableError) as caught:
            await client.get_chat(CHAT_ID)

    cause = caught.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    assert TOKEN not in str(cause)
    assert TOKEN not in repr(cause.args)


async def test_an_undecodable_answer_is_a_protocol_error_naming_the_operation(
    linq: FakeLinq,
) -> None:
    client, http = linq.client()
    linq.fail(httpx.DecodingError("bad gzip"))

    async with http, client:
        with pytest.raises(ProtocolError) as caught:
            await client.get_chat(CHAT_ID)

    assert str(caught.value).endswith(": unreadable answer (DecodingError)")
    assert str(caught.value) != ": unreadable answer (DecodingError)"
    assert 1 == len(linq.requests)
