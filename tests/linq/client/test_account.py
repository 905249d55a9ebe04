"""Lines, webhook subscriptions, capability checks and contact cards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.linq import LinqClient, codes
from adapters.linq.wire_account import HandleCheck, PhoneCapabilities, PhoneNumber
from caresupport_transport import Handle
from caresupport_transport.errors import ProviderError, UnreachableError, ValidationError

from .support import (
    CHAT_ID,
    LINE,
    SUBSCRIPTION_ID,
    WHEN,
    FakeLinq,
    body_of,
    error_json,
    path_of,
    query_of,
)

TARGET = "https://care.example.org/hooks/linq?version=2026-02-03"


def subscription_json(**changes: Any) -> dict[str, Any]:
    return {
        "id": SUBSCRIPTION_ID,
        "target_url": TARGET,
        "subscribed_events": ["message.received", "message.delivered"],
        "is_active": True,
        "created_at": WHEN,
        "updated_at": WHEN,
        **changes,
    }


def card_json(**changes: Any) -> dict[str, Any]:
    return {
        "phone_number": LINE,
        "first_name": "CareSupport",
        "last_name": "Team",
        "image_url": "https://cdn.example.org/logo.png",
        "is_active": True,
        **changes,
    }


async def test_list_phone_numbers_reads_the_lines(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, {"phone_numbers": [{"id": CHAT_ID, "phone_number": LINE}]})

    lines = await client.list_phone_numbers()

    assert ("GET", "/v3/phone_numbers") == (linq.last.method, path_of(linq.last))
    assert (PhoneNumber(CHAT_ID, LINE),) == lines
    linq.check_against_reference()


async def test_list_phone_numbers_legacy_reads_type_and_capabilities(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(
        200,
        {
            "phone_numbers": [
                {
                    "id": CHAT_ID,
                    "phone_number": LINE,
                    "type": "APPLE_ID",
                    "country_code": "US",
                    "capabilities": {"sms": True, "mms": True, "voice": False},
                }
            ]
        },
    )

    (line,) = await client.list_phone_numbers_legacy()

    assert "/v3/phonenumbers" == path_of(linq.last)
    assert ("APPLE_ID", PhoneCapabilities(sms=True, mms=True, voice=False)) == (
        line.type,
        line.capabilities,
    )
    linq.check_against_reference()


async def test_list_webhook_event_types_keeps_unknown_types(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(
        200,
        {
            "events": ["message.received", "reaction.added"],
            "doc_url": "https://apidocs.linqapp.com/documentation/webhook-events",
        },
    )

    events = await client.list_webhook_event_types()

    assert ("GET", "/v3/webhook-events") == (linq.last.method, path_of(linq.last))
    assert ("message.received", "reaction.added") == events
    linq.check_against_reference()


async def test_create_webhook_subscription_posts_url_and_events_and_hides_the_secret(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(201, subscription_json(signing_secret="whsec_bmV3c2VjcmV0"))

    created = await client.create_webhook_subscription(
        TARGET, ["message.received", "message.delivered"]
    )

    assert ("POST", "/v3/webhook-subscriptions") == (linq.last.method, path_of(linq.last))
    assert {
        "target_url": TARGET,
        "subscribed_events": ["message.received", "message.delivered"],
    } == body_of(linq.last)
    assert "whsec_bmV3c2VjcmV0" == created.signing_secret.reveal()
    assert "whsec_bmV3c2VjcmV0" not in repr(created)
    linq.check_against_reference()


async def test_create_webhook_subscription_is_not_repeated_after_an_unknown_outcome(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.fail(httpx.ReadTimeout("slow"))

    with pytest.raises(UnreachableError):
        await client.create_webhook_subscription(TARGET, ["message.received"])

    assert 1 == len(linq.requests)


async def test_list_webhook_subscriptions(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, {"subscriptions": [subscription_json(), subscription_json(is_active=False)]})

    subscriptions = await client.list_webhook_subscriptions()

    assert ("GET", "/v3/webhook-subscriptions") == (linq.last.method, path_of(linq.last))
    assert [True, False] == [s.is_active for s in subscriptions]
    linq.check_against_reference()


async def test_get_webhook_subscription(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, subscription_json())

    subscription = await client.get_webhook_subscription(SUBSCRIPTION_ID)

    assert f"/v3/webhook-subscriptions/{SUBSCRIPTION_ID}" == path_of(linq.last)
    assert ("message.received", "message.delivered") == subscription.subscribed_events
    linq.check_against_reference()


async def test_update_webhook_subscription_puts_only_what_changes(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, subscription_json(is_active=False))

    updated = await client.update_webhook_subscription(SUBSCRIPTION_ID, is_active=False)

    assert ("PUT", f"/v3/webhook-subscriptions/{SUBSCRIPTION_ID}") == (
        linq.last.method,
        path_of(linq.last),
    )
    assert {"is_active": False} == body_of(linq.last)
    assert False is updated.is_active
    linq.check_against_reference()


async def test_delete_webhook_subscription(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(204)

    await client.delete_webhook_subscription(SUBSCRIPTION_ID)

    assert ("DELETE", f"/v3/webhook-subscriptions/{SUBSCRIPTION_ID}") == (
        linq.last.method,
        path_of(linq.last),
    )
    linq.check_against_reference()


async def test_check_imessage_posts_address_and_line(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, {"address": "grandma@example.org", "available": True})

    result = await client.check_imessage(Handle("grandma@example.org"))

    assert ("POST", "/v3/capability/check_imessage") == (linq.last.method, path_of(linq.last))
    assert {"address": "grandma@example.org", "from": LINE} == body_of(linq.last)
    assert HandleCheck("grandma@example.org", True) == result
    linq.check_against_reference()


async def test_check_rcs_posts_the_phone(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, {"address": "+15557654321", "available": False})

    result = await client.check_rcs("+15557654321", from_="+15559998888")

    assert ("POST", "/v3/capability/check_rcs") == (linq.last.method, path_of(linq.last))
    assert {"address": "+15557654321", "from": "+15559998888"} == body_of(linq.last)
    assert False is result.available
    linq.check_against_reference()


async def test_an_unknown_capability_is_a_provider_error_with_an_upstream_code(
    linq: FakeLinq,
) -> None:
    client, http = linq.client(max_attempts=2)
    for _ in range(2):
        linq.answer(503, error_json(503, 4009, "Upstream unavailable"))

    async with http, client:
        with pytest.raises(ProviderError) as caught:
            await client.check_rcs("+15557654321")

    assert caught.value.code in codes.UPSTREAM_UNAVAILABLE
    assert 2 == len(linq.requests)


async def test_get_contact_cards_reads_every_card(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, {"contact_cards": [card_json(), card_json(phone_number="+15552223333")]})

    cards = await client.get_contact_cards()

    assert ("GET", "/v3/contact_card", []) == (
        linq.last.method,
        path_of(linq.last),
        query_of(linq.last),
    )
    assert [LINE, "+15552223333"] == [c.phone_number for c in cards]


async def test_create_contact_card_posts_it_and_is_never_repeated_after_a_503(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(503, error_json(503, 4004, "Upstream rate limited"))

    with pytest.raises(ProviderError) as caught:
        await client.create_contact_card(
            first_name="CareSupport", image_url="https://cdn.example.org/logo.png"
        )

    assert ("POST", "/v3/contact_card") == (linq.last.method, path_of(linq.last))
    assert {
        "phone_number": LINE,
        "first_name": "CareSupport",
        "image_url": "https://cdn.example.org/logo.png",
    } == body_of(linq.last)
    assert (4004, 1) == (caught.value.code, len(linq.requests))


async def test_update_contact_card_patches_with_the_phone_in_the_query(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, card_json(first_name="Care"))

    card = await client.update_contact_card(first_name="Care")

    assert ("PATCH", "/v3/contact_card", [("phone_number", LINE)]) == (
        linq.last.method,
        path_of(linq.last),
        query_of(linq.last),
    )
    assert {"first_name": "Care"} == body_of(linq.last)
    assert "Care" == card.first_name


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda c: c.create_webhook_subscription("ftp://x.org", ["message.received"]),
            "target_url",
        ),
        (lambda c: c.create_webhook_subscription(TARGET, []), "events"),
        (lambda c: c.create_webhook_subscription(TARGET, "message.received"), "events"),
        (lambda c: c.create_webhook_subscription(TARGET, ["Message Received"]), "events[0]"),
        (lambda c: c.update_webhook_subscription(SUBSCRIPTION_ID), "update_webhook_subscription"),
        (lambda c: c.get_webhook_subscription("a/b"), "subscription_id"),
        (lambda c: c.check_rcs("care@example.org"), "address"),
        (lambda c: c.check_imessage("nobody"), "address"),
        (lambda c: c.get_contact_cards(phone_number="care@example.org"), "phone_number"),
        (lambda c: c.create_contact_card(first_name=" "), "first_name"),
        (
            lambda c: c.create_contact_card(first_name="A", image_url="http://x.org/i.png"),
            "image_url",
        ),
        (lambda c: c.update_contact_card(), "update_contact_card"),
    ],
)
async def test_account_operations_refuse_bad_input_before_any_request(
    client: LinqClient, linq: FakeLinq, call: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await call(client)

    assert (field, []) == (caught.value.field, linq.requests)


async def test_card_operations_need_a_line(linq: FakeLinq) -> None:
    client, http = linq.client(phone_number=None)

    async with http, client:
        with pytest.raises(ValidationError) as caught:
            await client.create_contact_card(first_name="CareSupport")

    assert "phone_number" == caught.value.field
