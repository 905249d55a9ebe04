"""What the simulator refuses, with Linq's status and code, before anything is created."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.linq.simulator import Simulator

from .support import GRANDMA, create_chat, error_of, text_message


async def _create(api: httpx.AsyncClient, sim: Simulator, **overrides: Any) -> httpx.Response:
    body: dict[str, Any] = {"from": sim.phone, "to": [GRANDMA], "message": text_message()}
    body.update(overrides)
    return await api.post("/v3/chats", json=body)


@pytest.mark.parametrize("bad", ["6515550101", "+0651555", "(651) 555-0101", "+1 651 555 0101"])
async def test_a_recipient_not_in_e164_is_400_1002(
    api: httpx.AsyncClient, sim: Simulator, bad: str
) -> None:
    response = await _create(api, sim, to=[bad])
    assert (400, 1002) == error_of(response)
    assert {} == sim.world.conversations


async def test_a_sender_not_in_e164_is_400_1002(api: httpx.AsyncClient, sim: Simulator) -> None:
    assert (400, 1002) == error_of(await _create(api, sim, **{"from": "15550100000"}))


@pytest.mark.parametrize(
    "text", ["See https://example.org/care", "see http://x.io", "www.example.org/plan"]
)
async def test_a_link_in_a_new_chats_first_message_is_400_1005(
    api: httpx.AsyncClient, sim: Simulator, text: str
) -> None:
    response = await _create(api, sim, message=text_message(text))
    assert (400, 1005) == error_of(response)
    assert {} == sim.world.messages


async def test_a_link_later_in_a_chat_is_fine(api: httpx.AsyncClient, sim: Simulator) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    response = await api.post(
        f"/v3/chats/{chat['id']}/messages",
        json={"message": text_message("Plan: https://example.org/plan")},
    )
    assert 202 == response.status_code


@pytest.mark.parametrize(
    "extra",
    [{"effect": {"type": "screen", "name": "confetti"}}, {"reply_to": {"message_id": "x"}}],
)
async def test_an_effect_or_reply_in_a_new_chats_first_message_is_refused(
    api: httpx.AsyncClient, sim: Simulator, extra: dict[str, Any]
) -> None:
    response = await _create(api, sim, message=text_message("Welcome", **extra))
    assert 400 == error_of(response)[0]


@pytest.mark.parametrize(
    ("to", "why"),
    [([], "no recipients"), ([f"+1651555{i:04d}" for i in range(32)], "32 recipients")],
)
async def test_recipients_must_number_one_to_31(
    api: httpx.AsyncClient, sim: Simulator, to: list[str], why: str
) -> None:
    assert 400 == error_of(await _create(api, sim, to=to))[0], why


@pytest.mark.parametrize(
    ("parts", "why"),
    [
        ([], "no parts"),
        ([{"type": "text", "value": "a"}, {"type": "text", "value": "b"}], "two texts in a row"),
        ([{"type": "text", "value": "x" * 10_001}], "text over 10,000 characters"),
        ([{"type": "text", "value": "   "}], "blank text"),
        ([{"type": "media", "url": "http://example.org/a.png"}], "media by plain http"),
        ([{"type": "media"}], "media with neither url nor attachment"),
        ([{"type": "sticker"}], "unknown part type"),
        (
            [{"type": "text", "value": "ok"}]
            + [{"type": "media", "url": "https://e.org/a.png"}] * 41,
            "41 media parts by URL",
        ),
    ],
)
async def test_malformed_parts_are_400(
    api: httpx.AsyncClient, sim: Simulator, parts: list[dict[str, Any]], why: str
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    response = await api.post(
        f"/v3/chats/{chat['id']}/messages", json={"message": {"parts": parts}}
    )
    assert 400 == error_of(response)[0], why
    assert 1 == len(sim.world.messages)


async def test_an_unknown_effect_is_400(api: httpx.AsyncClient, sim: Simulator) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    response = await api.post(
        f"/v3/chats/{chat['id']}/messages",
        json={"message": text_message("hi", effect={"screen_effect": "glitter"})},
    )
    assert (400, 1001) == error_of(response)


async def test_an_idempotency_key_over_255_characters_is_400(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    response = await _create(api, sim, message=text_message(idempotency_key="k" * 256))
    assert 400 == error_of(response)[0]


async def test_a_body_over_one_megabyte_is_413_5001(api: httpx.AsyncClient, sim: Simulator) -> None:
    response = await api.post("/v3/chats", content=b'{"pad": "' + b"x" * (1024 * 1024) + b'"}')
    assert (413, 5001) == error_of(response)


async def test_a_body_that_is_not_json_is_400(api: httpx.AsyncClient) -> None:
    response = await api.post("/v3/chats", content=b"from=+1555")
    assert (400, 1001) == error_of(response)


@pytest.mark.parametrize(
    "path",
    [
        "/v3/chats/no-such-chat",
        "/v3/messages/no-such-message",
        "/v3/attachments/nope",
        "/v3/webhook-subscriptions/nope",
        "/v3/chats/no-such-chat/messages",
    ],
)
async def test_an_unknown_resource_is_404_2001(api: httpx.AsyncClient, path: str) -> None:
    assert (404, 2001) == error_of(await api.get(path))


async def test_an_unknown_path_is_404_and_a_wrong_method_405(api: httpx.AsyncClient) -> None:
    assert 404 == error_of(await api.get("/v3/nothing-here"))[0]
    assert 405 == error_of(await api.delete("/v3/chats"))[0]


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
async def test_a_list_limit_outside_1_to_100_is_400(
    api: httpx.AsyncClient, sim: Simulator, limit: str
) -> None:
    response = await api.get("/v3/chats", params={"from": sim.phone, "limit": limit})
    assert (400, 1001) == error_of(response)


async def test_listing_chats_requires_from(api: httpx.AsyncClient) -> None:
    assert 400 == error_of(await api.get("/v3/chats"))[0]


async def test_a_cursor_the_api_never_issued_is_400(api: httpx.AsyncClient, sim: Simulator) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    assert 400 == error_of(await api.get(f"/v3/chats/{chat['id']}/messages?cursor=abc"))[0]
    assert 400 == error_of(await api.get("/v3/chats", params={"from": sim.phone, "cursor": "x"}))[0]


async def test_adding_someone_already_in_the_group_is_409_without_a_code(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    from .support import AUNT, COUSIN, UNCLE

    chat = await create_chat(api, sim.phone, AUNT, UNCLE, COUSIN)
    response = await api.post(f"/v3/chats/{chat['id']}/participants", json={"handle": AUNT})
    assert (409, None) == error_of(response)  # Linq states no code for it


async def test_creating_a_second_contact_card_is_409_2014(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    response = await api.post(
        "/v3/contact_card", json={"phone_number": sim.phone, "first_name": "Care"}
    )
    assert (409, 2014) == error_of(response)


@pytest.mark.parametrize(
    "query",
    [{}, {"phone_number": ""}, {"phone_number": "6515550101"}, {"phone_number": "+1 651 555 0101"}],
)
async def test_updating_a_contact_card_without_a_valid_phone_number_query_is_400_naming_it(
    api: httpx.AsyncClient, sim: Simulator, query: dict[str, str]
) -> None:
    """The line is read from the query string only: one in the body does not count."""
    response = await api.patch(
        "/v3/contact_card",
        params=query,
        json={"phone_number": sim.phone, "first_name": "Care Team"},
    )

    assert 400 == error_of(response)[0]
    assert "phone_number" in response.json()["error"]["message"]
    assert "CareSupport" == sim.backend.contact_cards[sim.phone].first_name
