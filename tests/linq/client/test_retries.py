"""Retries: what is retried, how long the client waits, and what it gives up with."""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest

from adapters.linq import LinqClient
from caresupport_transport import OutgoingMessage
from caresupport_transport.errors import (
    ConflictError,
    ProviderError,
    RateLimitedError,
    TransportTimeoutError,
    UnreachableError,
)

from .support import CHAT_ID, NOW, FakeLinq, body_of, chat_json, error_json, sent_message_json

# With random() = 0.5 and the default backoff (0.5 s initial, equal jitter):
FIRST_BACKOFF = 0.375
SECOND_BACKOFF = 0.75


def created_json() -> dict[str, object]:
    return {"chat": {**chat_json(), "message": sent_message_json()}}


async def test_429_waits_exactly_retry_after_then_succeeds(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(429, error_json(429, 4001, "Too many requests"), headers={"Retry-After": "7"})
    linq.answer(200, chat_json())

    chat = await client.get_chat(CHAT_ID)

    assert CHAT_ID == chat.id
    assert [7.0] == linq.slept
    assert 2 == len(linq.requests)


async def test_retry_after_as_an_http_date_is_honoured(client: LinqClient, linq: FakeLinq) -> None:
    later = formatdate(NOW + 30, usegmt=True)
    linq.answer(503, error_json(503, 3006, "busy"), headers={"Retry-After": later})
    linq.answer(200, chat_json())

    await client.get_chat(CHAT_ID)

    assert [30.0] == linq.slept


async def test_5xx_backs_off_then_succeeds(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(502, content=b"<html>Bad gateway</html>")
    linq.answer(200, chat_json())

    await client.get_chat(CHAT_ID)

    assert [FIRST_BACKOFF] == linq.slept


async def test_connection_reset_is_retried_with_the_same_idempotency_key(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.fail(httpx.ReadError("connection reset by peer"))
    linq.fail(httpx.ConnectError("connection refused"))
    linq.answer(201, created_json())

    sent = await client.create_chat(["+15557654321"], OutgoingMessage.of_text("Pill at 2pm"))

    keys = [body_of(r)["message"]["idempotency_key"] for r in linq.requests]
    headers = [r.headers["Idempotency-Key"] for r in linq.requests]
    assert ["key-1", "key-1", "key-1"] == keys == headers
    assert "key-1" == sent.idempotency_key
    assert [FIRST_BACKOFF, SECOND_BACKOFF] == linq.slept


async def test_a_caller_key_is_reused_on_every_attempt(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(500, error_json(500, 3006, "internal"))
    linq.answer(201, created_json())

    sent = await client.create_chat(
        ["+15557654321"], OutgoingMessage.of_text("Appointment moved"), idempotency_key="appt-7"
    )

    assert ["appt-7", "appt-7"] == [body_of(r)["message"]["idempotency_key"] for r in linq.requests]
    assert "appt-7" == sent.idempotency_key


async def test_409_is_never_retried(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(409, error_json(409, 2014, "Card already active"))

    with pytest.raises(ConflictError) as caught:
        await client.get_chat(CHAT_ID)

    assert (409, 2014, "trace-1") == (caught.value.status, caught.value.code, caught.value.trace_id)
    assert (1, []) == (len(linq.requests), linq.slept)


async def test_other_4xx_are_not_retried(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(400, error_json(400, 1002, "Invalid E.164"))

    with pytest.raises(ProviderError) as caught:
        await client.get_chat(CHAT_ID)

    assert (400, 1002) == (caught.value.status, caught.value.code)
    assert (1, []) == (len(linq.requests), linq.slept)


async def test_408_is_retried(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(408)
    linq.answer(200, chat_json())

    await client.get_chat(CHAT_ID)

    assert 2 == len(linq.requests)


async def test_retry_after_beyond_the_budget_raises_rate_limited_without_sleeping(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": "120"})

    with pytest.raises(RateLimitedError) as caught:
        await client.get_chat(CHAT_ID)

    assert (120.0, 4001, "trace-1") == (
        caught.value.retry_after,
        caught.value.code,
        caught.value.trace_id,
    )
    assert ([], 1) == (linq.slept, len(linq.requests))
    assert "retry budget of 60 s" in str(caught.value)


async def test_waits_add_up_against_the_budget(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": "40"})
    linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": "40"})

    with pytest.raises(RateLimitedError) as caught:
        await client.get_chat(CHAT_ID)

    assert ([40.0], 40.0) == (linq.slept, caught.value.retry_after)


async def test_a_smaller_budget_from_config_is_respected(linq: FakeLinq) -> None:
    client, http = linq.client(retry_budget_seconds=5)
    linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": "6"})

    async with http, client:
        with pytest.raises(RateLimitedError):
            await client.get_chat(CHAT_ID)

    assert [] == linq.slept


async def test_max_attempts_is_respected(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=3)
    for _ in range(3):
        linq.answer(500, error_json(500, 3006, "internal"))

    async with http, client:
        with pytest.raises(ProviderError) as caught:
            await client.get_chat(CHAT_ID)

    assert (500, 3006) == (caught.value.status, caught.value.code)
    assert 3 == len(linq.requests)
    assert [FIRST_BACKOFF, SECOND_BACKOFF] == linq.slept


async def test_429_after_the_last_attempt_raises_rate_limited_with_retry_after(
    linq: FakeLinq,
) -> None:
    client, http = linq.client(max_attempts=2)
    for _ in range(2):
        linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": "1"})

    async with http, client:
        with pytest.raises(RateLimitedError) as caught:
            await client.get_chat(CHAT_ID)

    assert (1.0, [1.0]) == (caught.value.retry_after, linq.slept)


async def test_backoff_grows_and_is_capped(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=6, backoff_max_seconds=2)
    for _ in range(5):
        linq.fail(httpx.ConnectError("refused"))
    linq.answer(200, chat_json())

    async with http, client:
        await client.get_chat(CHAT_ID)

    assert [0.375, 0.75, 1.5, 1.5, 1.5] == linq.slept


async def test_timeouts_are_retried_then_raise_transport_timeout(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=2)
    linq.fail(httpx.ReadTimeout("slow"))
    linq.fail(httpx.ReadTimeout("slow"))

    async with http, client:
        with pytest.raises(TransportTimeoutError) as caught:
            await client.get_chat(CHAT_ID)

    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert 2 == len(linq.requests)


async def test_a_request_that_may_act_twice_is_not_repeated_after_an_unknown_outcome(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.fail(httpx.ReadError("connection reset"))

    with pytest.raises(UnreachableError):
        await client.share_contact_card(CHAT_ID)

    assert (1, []) == (len(linq.requests), linq.slept)


async def test_a_request_that_may_act_twice_is_not_repeated_after_a_5xx(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(503, error_json(503, 4004, "upstream busy"))

    with pytest.raises(ProviderError):
        await client.leave_chat(CHAT_ID)

    assert 1 == len(linq.requests)


async def test_a_request_that_may_act_twice_is_retried_when_it_was_never_sent(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.fail(httpx.ConnectError("refused"))
    linq.answer(429, error_json(429, 4001, "Slow down"), headers={"Retry-After": "2"})
    linq.answer(204)

    await client.share_contact_card(CHAT_ID)

    assert ([FIRST_BACKOFF, 2.0], 3) == (linq.slept, len(linq.requests))
