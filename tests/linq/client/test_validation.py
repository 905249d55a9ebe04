"""Bad input is refused before any request, naming the argument and the rule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adapters.linq import LinqClient
from caresupport_transport import (
    Effect,
    OutgoingMessage,
    ReplyTo,
)
from caresupport_transport.errors import InvalidHandleError, ValidationError

from .support import CHAT_ID, FakeLinq

Call = Callable[[LinqClient], Awaitable[Any]]
HELLO = OutgoingMessage.of_text("Hello")


async def refused(client: LinqClient, linq: FakeLinq, call: Call) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        await call(client)
    assert [] == linq.requests
    return caught.value


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.create_chat([], HELLO), "to"),
        (lambda c: c.create_chat([f"+1555000{n:04d}" for n in range(32)], HELLO), "to"),
        (lambda c: c.create_chat("+15557654321", HELLO), "to"),
        (lambda c: c.create_chat(["+15557654321", "555-1234"], HELLO), "to[1]"),
        (lambda c: c.create_chat(["+15557654321"], HELLO, from_="care@example.org"), "from_"),
        (
            lambda c: c.create_chat(["+15557654321"], HELLO, idempotency_key="k" * 256),
            "idempotency_key",
        ),
        (
            lambda c: c.create_chat(["+15557654321"], HELLO, idempotency_key="has space"),
            "idempotency_key",
        ),
        (
            lambda c: c.create_chat(["+15557654321"], OutgoingMessage.of_text("see https://x.org")),
            "message",
        ),
        (
            lambda c: c.create_chat(
                ["+15557654321"], OutgoingMessage.of_text("Hi", effect=Effect.screen("confetti"))
            ),
            "message.effect",
        ),
        (
            lambda c: c.create_chat(
                ["+15557654321"], OutgoingMessage.of_text("Hi", reply_to=ReplyTo("m1"))
            ),
            "message.reply_to",
        ),
        (lambda c: c.get_chat(""), "chat_id"),
        (lambda c: c.get_chat("../phone_numbers"), "chat_id"),
        (lambda c: c.get_chat("a b"), "chat_id"),
        (lambda c: c.update_chat(CHAT_ID), "update_chat"),
        (lambda c: c.update_chat(CHAT_ID, display_name="  "), "display_name"),
        (lambda c: c.update_chat(CHAT_ID, group_chat_icon="http://x.org/i.png"), "group_chat_icon"),
        (lambda c: c.add_participant(CHAT_ID, "not a handle"), "handle"),
    ],
)
async def test_chat_operations_refuse_bad_input_before_any_request(
    client: LinqClient, linq: FakeLinq, call: Call, field: str
) -> None:
    error = await refused(client, linq, call)

    assert field == error.field
    assert error.rule


async def test_a_bad_handle_is_an_invalid_handle_error_naming_its_position(
    client: LinqClient, linq: FakeLinq
) -> None:
    error = await refused(
        client, linq, lambda c: c.create_chat(["+15557654321", "(555) 123"], HELLO)
    )

    assert isinstance(error, InvalidHandleError)
    assert "to[1]: '(555) 123' is not an E.164 phone number" in str(error)


async def test_no_sender_line_anywhere_is_refused(linq: FakeLinq) -> None:
    client, http = linq.client(phone_number=None)

    async with http, client:
        error = await refused(client, linq, lambda c: c.create_chat(["+15557654321"], HELLO))

    assert "from_" == error.field


@pytest.mark.parametrize("limit", [0, 101, True, 2.5])
def test_list_chats_checks_the_page_size_at_the_call(
    client: LinqClient, linq: FakeLinq, limit: Any
) -> None:
    with pytest.raises(ValidationError) as caught:
        client.list_chats(limit=limit)

    assert "limit" == caught.value.field


def test_list_chats_refuses_a_single_handle_as_to(client: LinqClient) -> None:
    with pytest.raises(ValidationError) as caught:
        client.list_chats(to="+15557654321")

    assert "to" == caught.value.field
