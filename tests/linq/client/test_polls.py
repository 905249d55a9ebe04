"""Poll operations: the request each sends, what it reads back, what it refuses first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.linq import LinqClient
from adapters.linq._poll_domain import poll_from_envelope
from caresupport_transport.errors import ProtocolError, ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.polls import Poll, PollOption, PollVote

from .support import CHAT_ID, LINE, MESSAGE_ID, WHEN, FakeLinq, body_of, handle_json, path_of

DAUGHTER = "+15557654321"
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def envelope_json(voters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "chat_id": CHAT_ID,
        "message_id": MESSAGE_ID,
        "created_at": WHEN,
        "updated_at": WHEN,
        "poll": {
            "options": [
                {
                    "option_id": "opt-1",
                    "text": "Tue 9am",
                    "creator_handle": handle_json(LINE, is_me=True),
                    "can_be_edited": False,
                    "voters": voters or [],
                },
                {
                    "option_id": "opt-2",
                    "text": "Tue 2pm",
                    "creator_handle": handle_json(LINE, is_me=True),
                    "can_be_edited": False,
                    "voters": [],
                },
            ],
            "total_voters": len(voters or []),
        },
        "reactions": [],
        "trace_id": "trace-1",
    }


async def test_create_poll_posts_the_options_and_the_key_in_body_and_header(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, envelope_json())
    envelope = await client.create_poll(CHAT_ID, ["Tue 9am", "Tue 2pm"], idempotency_key="ask-1")
    assert ("POST", f"/v3/chats/{CHAT_ID}/polls") == (linq.last.method, path_of(linq.last))
    assert {
        "poll": {"options": [{"text": "Tue 9am"}, {"text": "Tue 2pm"}], "idempotency_key": "ask-1"}
    } == body_of(linq.last)
    assert "ask-1" == linq.last.headers["Idempotency-Key"]
    assert (MESSAGE_ID, ("opt-1", "opt-2")) == (
        envelope.message_id,
        tuple(o.option_id for o in envelope.poll.options),
    )


async def test_create_poll_retries_under_one_key_after_a_server_error(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(503, {"success": False, "error": {"status": 503, "code": 4004, "message": "x"}})
    linq.answer(200, envelope_json())
    await client.create_poll(CHAT_ID, ["Tue 9am", "Tue 2pm"])
    keys = [r.headers["Idempotency-Key"] for r in linq.requests]
    bodies = [body_of(r)["poll"]["idempotency_key"] for r in linq.requests]
    assert 2 == len(linq.requests)
    assert [keys[0]] * 4 == [*keys, *bodies]


async def test_get_poll_reads_options_voters_and_creators(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, envelope_json([{"handle": DAUGHTER, "voted_at": WHEN}]))
    envelope = await client.get_poll(MESSAGE_ID)
    assert ("GET", f"/v3/messages/{MESSAGE_ID}/poll", b"") == (
        linq.last.method,
        path_of(linq.last),
        linq.last.content,
    )
    me = Handle(LINE)
    expected = Poll(
        MESSAGE_ID,
        CHAT_ID,
        [
            PollOption("opt-1", "Tue 9am", [PollVote(Handle(DAUGHTER), AT)], creator=me),
            PollOption("opt-2", "Tue 2pm", creator=me),
        ],
        creator=me,
    )
    assert expected == poll_from_envelope(envelope)


async def test_add_poll_options_posts_only_the_new_texts(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, envelope_json())
    await client.add_poll_options(MESSAGE_ID, ["Wed 10am"])
    assert (
        "POST",
        f"/v3/messages/{MESSAGE_ID}/poll/options",
        {"options": [{"text": "Wed 10am"}]},
    ) == (
        linq.last.method,
        path_of(linq.last),
        body_of(linq.last),
    )


@pytest.mark.parametrize(("remove", "operation"), [(False, "add"), (True, "remove")])
async def test_vote_poll_posts_the_operation_and_option(
    client: LinqClient, linq: FakeLinq, remove: bool, operation: str
) -> None:
    linq.answer(200, envelope_json())
    await client.vote_poll(MESSAGE_ID, "opt-2", remove=remove)
    assert (
        "POST",
        f"/v3/messages/{MESSAGE_ID}/poll/votes",
        {"operation": operation, "option_id": "opt-2"},
    ) == (linq.last.method, path_of(linq.last), body_of(linq.last))


async def test_an_envelope_without_options_is_a_protocol_error(
    client: LinqClient, linq: FakeLinq
) -> None:
    body = envelope_json()
    del body["poll"]["options"]
    linq.answer(200, body)
    with pytest.raises(ProtocolError):
        await client.get_poll(MESSAGE_ID)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (["Only one"], "options"),
        ([], "options"),
        ("Tue 9am", "options"),
        (["Tue 9am", "   "], "options[1]"),
        (["Tue 9am", 3], "options[1]"),
    ],
)
async def test_create_poll_refuses_bad_options_before_any_request(
    client: LinqClient, linq: FakeLinq, options: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await client.create_poll(CHAT_ID, options)
    assert (field, []) == (refused.value.field, linq.requests)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.add_poll_options(MESSAGE_ID, []), "options"),
        (lambda c: c.add_poll_options("a/b", ["x"]), "message_id"),
        (lambda c: c.vote_poll(MESSAGE_ID, "opt 2"), "option_id"),
        (lambda c: c.get_poll(""), "message_id"),
        (
            lambda c: c.create_poll(CHAT_ID, ["a", "b"], idempotency_key="has space"),
            "idempotency_key",
        ),
    ],
)
async def test_other_poll_operations_refuse_bad_input_before_any_request(
    client: LinqClient, linq: FakeLinq, call: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await call(client)
    assert (field, []) == (refused.value.field, linq.requests)
