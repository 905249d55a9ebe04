"""The capability cache: answers kept for their TTL, "unknown" never taken for "unavailable"."""

from __future__ import annotations

import asyncio

import pytest

from adapters.linq import LinqTransport
from caresupport_transport import (
    Availability,
    Handle,
    OutgoingMessage,
    ProviderError,
    Service,
)

from .support import (
    CHAT_ID,
    GRANDMA,
    Clock,
    RoutedLinq,
    error_json,
    one_to_one_json,
    reply,
    sent_json,
)

UNAVAILABLE_503 = reply(503, error_json(503, 4004, "iMessage check temporarily unavailable"))


def checks_made(linq: RoutedLinq) -> int:
    return len(linq.sent("POST", "/v3/capability/check_(imessage|rcs)"))


async def test_a_lookup_asks_linq_for_imessage_and_rcs(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.capable(GRANDMA, imessage=False, rcs=True)
    caps = await transport.capabilities(Handle(GRANDMA))
    assert (Availability.UNAVAILABLE, Availability.AVAILABLE, Availability.AVAILABLE) == (
        caps.imessage,
        caps.rcs,
        caps.sms,
    )
    assert [{"address": GRANDMA, "from": "+15550001111"}] * 2 == linq.bodies(
        "POST", "/v3/capability/check_(imessage|rcs)"
    )


async def test_answers_are_kept_for_the_ttl_then_asked_again(
    linq: RoutedLinq, transport: LinqTransport, clock: Clock
) -> None:
    linq.capable(GRANDMA, imessage=True)
    await transport.capabilities(Handle(GRANDMA))
    clock.now += 3599
    await transport.capabilities(Handle(GRANDMA))
    assert 2 == checks_made(linq)
    clock.now += 2
    await transport.capabilities(Handle(GRANDMA))
    assert 4 == checks_made(linq)


async def test_a_503_means_unknown_not_unavailable(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.capable(GRANDMA, imessage=UNAVAILABLE_503, rcs=False)
    caps = await transport.capabilities(Handle(GRANDMA))
    assert (Availability.UNKNOWN, Availability.UNAVAILABLE) == (caps.imessage, caps.rcs)


async def test_an_unknown_answer_is_kept_only_briefly(
    linq: RoutedLinq, transport: LinqTransport, clock: Clock
) -> None:
    linq.capable(GRANDMA, imessage=UNAVAILABLE_503, rcs=False)
    await transport.capabilities(Handle(GRANDMA))
    asked = checks_made(linq)  # the client retried the 503 before giving up
    clock.now += 59
    await transport.capabilities(Handle(GRANDMA))
    assert asked == checks_made(linq)
    linq.capable(GRANDMA, imessage=True, rcs=False)
    clock.now += 2
    caps = await transport.capabilities(Handle(GRANDMA))
    assert (Availability.AVAILABLE, asked + 1) == (caps.imessage, checks_made(linq))


async def test_unknown_capability_lets_linq_fall_back_without_degrading(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.capable(GRANDMA, imessage=UNAVAILABLE_503, rcs=UNAVAILABLE_503)
    linq.on_json("GET", f"/v3/chats/{CHAT_ID}", body=one_to_one_json(CHAT_ID, GRANDMA))
    linq.on_json("POST", f"/v3/chats/{CHAT_ID}/messages", 202, sent_json())
    receipt = await transport.send_message(CHAT_ID, OutgoingMessage.of_text("Lunch at noon"))
    assert (Service.IMESSAGE, ()) == (receipt.service, receipt.degradations)
    [body] = linq.bodies("POST", f"/v3/chats/{CHAT_ID}/messages")
    assert "preferred_service" not in body["message"]


async def test_a_refusal_that_is_not_unknown_is_raised(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.capable(GRANDMA, imessage=reply(401, error_json(401, 2004, "Unauthorized")))
    with pytest.raises(ProviderError) as info:
        await transport.capabilities(Handle(GRANDMA))
    assert (401, 2004) == (info.value.status, info.value.code)


async def test_an_email_address_is_not_checked_for_rcs(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.capable("daughter@example.org", imessage=True)
    caps = await transport.capabilities(Handle("daughter@example.org"))
    assert (Availability.AVAILABLE, Availability.UNAVAILABLE, Availability.UNAVAILABLE) == (
        caps.imessage,
        caps.rcs,
        caps.sms,
    )
    assert [] == linq.sent("POST", "/v3/capability/check_rcs")


async def test_concurrent_lookups_of_one_handle_ask_once(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.capable(GRANDMA, imessage=True)
    found = await asyncio.gather(*(transport.capabilities(Handle(GRANDMA)) for _ in range(5)))
    assert {Availability.AVAILABLE} == {c.imessage for c in found}
    assert 2 == checks_made(linq)


async def test_a_surprise_fallback_by_linq_makes_the_cache_ask_again(
    linq: RoutedLinq, transport: LinqTransport
) -> None:
    linq.capable(GRANDMA, imessage=True)
    linq.on_json("GET", f"/v3/chats/{CHAT_ID}", body=one_to_one_json(CHAT_ID, GRANDMA))
    linq.on_json("POST", f"/v3/chats/{CHAT_ID}/messages", 202, sent_json(service="SMS"))
    await transport.send_message(CHAT_ID, OutgoingMessage.of_text("One"))
    await transport.send_message(CHAT_ID, OutgoingMessage.of_text("Two"))
    assert 2 == len(linq.sent("POST", "/v3/capability/check_imessage"))
