"""A 2xx answer to a send that cannot be read is asked for again under the same key.

The key makes the repeat safe: Linq answers with the message the first attempt
created and creates nothing. Other calls carry no key and surface at once.
"""

from __future__ import annotations

import httpx
import pytest

from adapters.linq import LinqClient
from adapters.linq.config import DEFAULT_MAX_ATTEMPTS
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.errors import ProtocolError

from .support import CHAT_ID, MESSAGE_ID, FakeLinq, body_of, chat_json, sent_message_json

SENT = {"chat_id": CHAT_ID, "message": sent_message_json()}
GARBAGE = [
    b"<html>accepted</html>",  # not JSON
    b'{"chat_id": "6f1c0d1e-5b7a-4c1e-9d55-2f0a8d4b9c10", "mess',  # cut off mid-body
    b'{"chat_id": 42, "message": null}',  # JSON of the wrong shape
    b"",  # no body at all
]


def _keys(requests: list[httpx.Request]) -> list[str | None]:
    return [r.headers.get("Idempotency-Key") for r in requests]


@pytest.mark.parametrize("garbage", GARBAGE)
async def test_an_unreadable_2xx_then_a_good_one_is_a_success_under_one_key(
    client: LinqClient, linq: FakeLinq, garbage: bytes
) -> None:
    linq.answer(202, content=garbage)
    linq.answer(202, SENT)

    sent = await client.send_message(
        CHAT_ID, OutgoingMessage.of_text("Pills at 9"), idempotency_key="pills-9"
    )

    assert (MESSAGE_ID, "pills-9") == (sent.message.id, sent.idempotency_key)
    assert ["pills-9", "pills-9"] == _keys(linq.requests)
    assert body_of(linq.requests[0]) == body_of(linq.requests[1])
    assert 1 == len(linq.slept)  # one backoff, within the budget


async def test_a_generated_key_is_the_same_on_the_repeat(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(202, content=b"<html>accepted</html>")
    linq.answer(202, SENT)

    sent = await client.send_message(CHAT_ID, OutgoingMessage.of_text("Pills at 9"))

    assert [sent.idempotency_key, sent.idempotency_key] == _keys(linq.requests)


async def test_unreadable_every_time_raises_an_unknown_outcome_naming_the_key(
    client: LinqClient, linq: FakeLinq
) -> None:
    for _ in range(DEFAULT_MAX_ATTEMPTS):
        linq.answer(202, content=b"<html>accepted</html>")

    with pytest.raises(ProtocolError) as caught:
        await client.send_message(
            CHAT_ID, OutgoingMessage.of_text("Pills at 9"), idempotency_key="pills-9"
        )

    error = caught.value
    assert (True, "pills-9", 202) == (error.outcome_unknown, error.idempotency_key, error.status)
    assert ["pills-9"] * DEFAULT_MAX_ATTEMPTS == _keys(linq.requests)


async def test_the_repeats_stop_at_the_retry_budget(linq: FakeLinq) -> None:
    client, http = linq.client(retry_budget_seconds=1.0, backoff_initial_seconds=0.5)
    for _ in range(DEFAULT_MAX_ATTEMPTS):
        linq.answer(202, content=b"<html>accepted</html>")

    async with http, client:
        with pytest.raises(ProtocolError) as caught:
            await client.send_message(CHAT_ID, OutgoingMessage.of_text("Pills at 9"))

    assert caught.value.outcome_unknown
    assert sum(linq.slept) <= 1.0
    assert len(linq.requests) == len(linq.slept) + 1 < DEFAULT_MAX_ATTEMPTS


async def test_a_single_attempt_client_does_not_repeat(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=1)
    linq.answer(202, content=b"<html>accepted</html>")

    async with http, client:
        with pytest.raises(ProtocolError):
            await client.send_message(CHAT_ID, OutgoingMessage.of_text("Pills at 9"))

    assert (1, []) == (len(linq.requests), linq.slept)


async def test_a_call_without_a_key_is_not_repeated(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, content=b"<html>maintenance</html>")
    linq.answer(200, chat_json())  # would be read if the call were repeated

    with pytest.raises(ProtocolError) as caught:
        await client.get_chat(CHAT_ID)

    assert (1, 200) == (len(linq.requests), caught.value.status)
