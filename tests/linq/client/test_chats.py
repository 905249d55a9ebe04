"""Chat operations: the request each one sends, and what it makes of the answer."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.linq import LinqClient
from adapters.linq.wire_account import Accepted
from adapters.linq.wire_chats import Chat, ChatHandle, HandleStatus
from caresupport_transport import Handle, OutgoingMessage, Service
from caresupport_transport.model import DeliveryStatus

from .support import (
    CHAT_ID,
    HANDLE_ID,
    LINE,
    MESSAGE_ID,
    FakeLinq,
    accepted_json,
    body_of,
    chat_json,
    handle_json,
    path_of,
    query_of,
    sent_message_json,
)

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_create_chat_posts_sender_recipients_and_first_message_with_its_key(
    client: LinqClient, linq: FakeLinq
) -> None:
    created = {
        "chat": {
            "id": CHAT_ID,
            "display_name": None,
            "service": "iMessage",
            "is_group": False,
            "handles": [handle_json(LINE, is_me=True), handle_json()],
            "message": sent_message_json(),
        }
    }
    linq.answer(201, created)

    chat = await client.create_chat(
        ["+15557654321"], OutgoingMessage.of_text("See you at 3"), idempotency_key="visit-42"
    )

    assert ("POST", "/v3/chats") == (linq.last.method, path_of(linq.last))
    assert {
        "from": LINE,
        "to": ["+15557654321"],
        "message": {
            "parts": [{"type": "text", "value": "See you at 3"}],
            "idempotency_key": "visit-42",
        },
    } == body_of(linq.last)
    assert "visit-42" == linq.last.headers["Idempotency-Key"]
    assert (CHAT_ID, Service.IMESSAGE, "visit-42") == (chat.id, chat.service, chat.idempotency_key)
    assert MESSAGE_ID == chat.message.id
    assert DeliveryStatus.QUEUED == chat.message.delivery_status
    linq.check_against_reference()


async def test_create_chat_makes_a_key_when_none_is_given_and_pins_a_service_on_request(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(201, {"chat": {**chat_json(), "message": sent_message_json()}})

    chat = await client.create_chat(
        [Handle("care@example.org"), "+15557654321"],
        OutgoingMessage.of_text("Hello from the care team"),
        from_="+15559998888",
        preferred_service=Service.SMS,
    )

    sent = body_of(linq.last)
    assert "+15559998888" == sent["from"]
    assert ["care@example.org", "+15557654321"] == sent["to"]
    assert ("key-1", "SMS") == (
        sent["message"]["idempotency_key"],
        sent["message"]["preferred_service"],
    )
    assert "key-1" == chat.idempotency_key
    linq.check_against_reference()


async def test_list_chats_follows_next_cursor_with_from_to_and_limit(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, {"chats": [chat_json("c1"), chat_json("c2")], "next_cursor": "20"})
    linq.answer(200, {"chats": [chat_json("c3")], "next_cursor": None})

    ids = [chat.id async for chat in client.list_chats(to=["+15557654321", "a@b.org"], limit=2)]

    assert ["c1", "c2", "c3"] == ids
    assert [("GET", "/v3/chats"), ("GET", "/v3/chats")] == [
        (r.method, path_of(r)) for r in linq.requests
    ]
    assert [("from", LINE), ("to", "+15557654321"), ("to", "a@b.org"), ("limit", "2")] == query_of(
        linq.requests[0]
    )
    assert ("cursor", "20") == query_of(linq.requests[1])[-1]
    assert "%2B15557654321" in str(linq.requests[0].url)  # the + of E.164 is encoded
    linq.check_against_reference()


async def test_list_chats_fetches_nothing_until_iterated_and_one_page_at_a_time(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, {"chats": [chat_json("c1")], "next_cursor": "1"})
    linq.answer(200, {"chats": [chat_json("c2")], "next_cursor": None})

    chats = client.list_chats()
    assert [] == linq.requests
    first = await anext(chats)
    assert ("c1", 1) == (first.id, len(linq.requests))
    await anext(chats)
    assert 2 == len(linq.requests)


async def test_get_chat_reads_the_chat_with_its_handles(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, chat_json(display_name="Mum's care team", is_group=True))

    chat = await client.get_chat(CHAT_ID)

    assert ("GET", f"/v3/chats/{CHAT_ID}", None) == (
        linq.last.method,
        path_of(linq.last),
        body_of(linq.last),
    )
    assert (
        Chat(
            id=CHAT_ID,
            display_name="Mum's care team",
            handles=(
                ChatHandle(
                    HANDLE_ID, LINE, Service.IMESSAGE, WHEN, HandleStatus.ACTIVE, None, True
                ),
                ChatHandle(
                    HANDLE_ID,
                    "+15557654321",
                    Service.IMESSAGE,
                    WHEN,
                    HandleStatus.ACTIVE,
                    None,
                    False,
                ),
            ),
            is_group=True,
            created_at=WHEN,
            updated_at=WHEN,
            is_archived=False,
            service=Service.IMESSAGE,
        )
        == chat
    )
    linq.check_against_reference()


async def test_update_chat_puts_only_the_fields_given(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, chat_json(display_name="Dad's meds"))

    chat = await client.update_chat(CHAT_ID, display_name="Dad's meds")

    assert ("PUT", f"/v3/chats/{CHAT_ID}") == (linq.last.method, path_of(linq.last))
    assert {"display_name": "Dad's meds"} == body_of(linq.last)
    assert "Dad's meds" == chat.display_name
    linq.check_against_reference()


async def test_update_chat_sends_a_group_icon(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, chat_json())

    await client.update_chat(CHAT_ID, group_chat_icon="https://cdn.example.org/icon.png")

    assert {"group_chat_icon": "https://cdn.example.org/icon.png"} == body_of(linq.last)
    linq.check_against_reference()


async def test_add_participant_posts_the_handle_and_reads_the_acceptance(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(202, accepted_json("Participant addition queued"))

    accepted = await client.add_participant(CHAT_ID, "+15553334444")

    assert ("POST", f"/v3/chats/{CHAT_ID}/participants") == (linq.last.method, path_of(linq.last))
    assert {"handle": "+15553334444"} == body_of(linq.last)
    assert Accepted("accepted", "Participant addition queued", "trace-accepted") == accepted
    linq.check_against_reference()


async def test_remove_participant_deletes_with_the_handle_in_the_body(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(202, accepted_json("Participant removal queued"))

    accepted = await client.remove_participant(CHAT_ID, Handle("aunt@example.org"))

    assert ("DELETE", f"/v3/chats/{CHAT_ID}/participants") == (linq.last.method, path_of(linq.last))
    assert {"handle": "aunt@example.org"} == body_of(linq.last)
    assert "Participant removal queued" == accepted.message
    linq.check_against_reference()


async def test_start_typing_posts_without_a_body(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(204)

    await client.start_typing(CHAT_ID)

    assert ("POST", f"/v3/chats/{CHAT_ID}/typing", None) == (
        linq.last.method,
        path_of(linq.last),
        body_of(linq.last),
    )
    linq.check_against_reference()


async def test_stop_typing_deletes_the_indicator(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(204)

    await client.stop_typing(CHAT_ID)

    assert ("DELETE", f"/v3/chats/{CHAT_ID}/typing") == (linq.last.method, path_of(linq.last))
    linq.check_against_reference()


async def test_mark_read_posts_to_read(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(204)

    await client.mark_read(CHAT_ID)

    assert ("POST", f"/v3/chats/{CHAT_ID}/read") == (linq.last.method, path_of(linq.last))
    linq.check_against_reference()


async def test_share_contact_card_posts_to_the_deprecated_path(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(204)

    await client.share_contact_card(CHAT_ID)

    assert ("POST", f"/v3/chats/{CHAT_ID}/share_contact_card") == (
        linq.last.method,
        path_of(linq.last),
    )
    linq.check_against_reference()


async def test_leave_chat_posts_to_leave_and_accepts_an_empty_answer(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(204)

    accepted = await client.leave_chat(CHAT_ID)

    assert ("POST", f"/v3/chats/{CHAT_ID}/leave") == (linq.last.method, path_of(linq.last))
    assert Accepted() == accepted


async def test_path_ids_are_quoted_so_they_stay_one_segment(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, chat_json("a:b"))

    await client.get_chat("a:b")

    assert "/api/partner/v3/chats/a%3Ab" == linq.last.url.raw_path.decode()
