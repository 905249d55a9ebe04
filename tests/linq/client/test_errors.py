"""Linq's failures become the library's errors, with status, code, message and trace id."""

from __future__ import annotations

import httpx
import pytest

from adapters.linq import LinqClient, codes
from adapters.linq.config import DEFAULT_MAX_ATTEMPTS
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.errors import (
    NotFoundError,
    ProtocolError,
    ProviderError,
    TransportTimeoutError,
    UnreachableError,
)

from .support import CHAT_ID, FakeLinq, chat_json, error_json


async def test_404_is_not_found_with_linq_code_message_and_trace_id(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(404, error_json(404, codes.NOT_FOUND, "Chat not found", trace_id="tr-404"))

    with pytest.raises(NotFoundError) as caught:
        await client.get_chat(CHAT_ID)

    error = caught.value
    assert (404, codes.NOT_FOUND, "tr-404") == (error.status, error.code, error.trace_id)
    assert "get_chat: Chat not found (status=404, code=2001, trace_id=tr-404)" == str(error)


async def test_a_refusal_keeps_linq_code_for_callers_to_compare_by_name(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(403, error_json(403, codes.RECIPIENT_OPTED_OUT, "Recipient opted out"))

    with pytest.raises(ProviderError) as caught:
        await client.get_chat(CHAT_ID)

    assert codes.RECIPIENT_OPTED_OUT == caught.value.code


async def test_an_error_body_that_is_not_json_still_gives_the_status(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(401, content=b"<html>nope</html>")

    with pytest.raises(ProviderError) as caught:
        await client.get_chat(CHAT_ID)

    assert (401, None, None, "get_chat: HTTP 401") == (
        caught.value.status,
        caught.value.code,
        caught.value.trace_id,
        caught.value.message,
    )


async def test_a_success_that_is_not_json_is_a_protocol_error(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, content=b"<html>maintenance</html>")

    with pytest.raises(ProtocolError) as caught:
        await client.get_chat(CHAT_ID)

    assert 200 == caught.value.status


async def test_a_success_of_the_wrong_shape_is_a_protocol_error_naming_the_field(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, {**chat_json(), "handles": "+15557654321", "trace_id": "tr-shape"})

    with pytest.raises(ProtocolError) as caught:
        await client.get_chat(CHAT_ID)

    assert "tr-shape" == caught.value.trace_id
    assert "$.handles" in str(caught.value)
    assert "+15557654321" not in str(caught.value)  # values are personal data: not echoed


async def test_a_refused_connection_is_unreachable_from_the_httpx_error(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=1)
    linq.fail(httpx.ConnectError("connection refused"))

    async with http, client:
        with pytest.raises(UnreachableError) as caught:
            await client.get_chat(CHAT_ID)

    assert not isinstance(caught.value, TransportTimeoutError)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_a_pool_timeout_is_a_transport_timeout(linq: FakeLinq) -> None:
    client, http = linq.client(max_attempts=1)
    linq.fail(httpx.PoolTimeout("no connection free"))

    async with http, client:
        with pytest.raises(TransportTimeoutError):
            await client.get_chat(CHAT_ID)


async def test_a_garbled_encoding_is_a_protocol_error(client: LinqClient, linq: FakeLinq) -> None:
    linq.fail(httpx.DecodingError("bad gzip"))

    with pytest.raises(ProtocolError):
        await client.get_chat(CHAT_ID)


async def test_a_cursor_that_does_not_advance_is_a_protocol_error_not_a_loop(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, {"chats": [chat_json("c1")], "next_cursor": "5"})
    linq.answer(200, {"chats": [chat_json("c2")], "next_cursor": "5"})

    chats = client.list_chats()
    seen = [(await anext(chats)).id, (await anext(chats)).id]
    with pytest.raises(ProtocolError):
        await anext(chats)

    assert ["c1", "c2"] == seen


async def test_an_unreadable_answer_to_a_send_says_the_send_may_have_happened(
    client: LinqClient, linq: FakeLinq
) -> None:
    # A send is asked again under its key (test_unreadable_answers.py): unreadable every time.
    for _ in range(DEFAULT_MAX_ATTEMPTS):
        linq.answer(202, content=b"<html>accepted</html>")

    with pytest.raises(ProtocolError) as caught:
        await client.send_message(CHAT_ID, OutgoingMessage.of_text("Pills at 9"))

    assert caught.value.outcome_unknown


async def test_a_refusal_on_the_only_attempt_is_not_an_unknown_outcome(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(404, error_json(404, codes.NOT_FOUND, "Chat not found"))

    with pytest.raises(NotFoundError) as caught:
        await client.send_message(CHAT_ID, OutgoingMessage.of_text("Pills at 9"))

    assert not caught.value.outcome_unknown


async def test_a_5xx_before_a_final_refusal_marks_the_outcome_unknown(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(503, error_json(503, codes.INTERNAL, "busy"))
    linq.answer(409, error_json(409, 2014, "conflict"))

    with pytest.raises(ProviderError) as caught:
        await client.send_message(CHAT_ID, OutgoingMessage.of_text("Pills at 9"))

    assert (409, True) == (caught.value.status, caught.value.outcome_unknown)
