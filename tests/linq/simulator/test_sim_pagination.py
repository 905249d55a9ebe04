"""Pagination: every item once, whatever the page size, with ``next_cursor`` null at the end."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.linq.simulator import Simulator
from adapters.memory import RecipientKind

from .support import GRANDMA, create_chat, text_message


async def _all_pages(api: httpx.AsyncClient, path: str, key: str, **params: Any) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = (await api.get(path, params=query)).json()
        seen.extend(item["id"] for item in body[key])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("limit", [1, 7, 20, 100])
async def test_listing_chats_page_by_page_returns_each_chat_once(
    api: httpx.AsyncClient, sim: Simulator, limit: int
) -> None:
    people = [f"+1651556{i:04d}" for i in range(23)]
    for person in people:
        sim.add_recipient(person, RecipientKind.IMESSAGE)
        await create_chat(api, sim.phone, person)
    ids = await _all_pages(api, "/v3/chats", "chats", **{"from": sim.phone, "limit": limit})
    assert sorted(sim.world.conversations) == sorted(ids)
    assert len(ids) == len(set(ids))


async def test_the_default_chat_page_is_20(api: httpx.AsyncClient, sim: Simulator) -> None:
    for i in range(21):
        await create_chat(api, sim.phone, f"+1651557{i:04d}")
    body = (await api.get("/v3/chats", params={"from": sim.phone})).json()
    assert (20, "20") == (len(body["chats"]), body["next_cursor"])


async def test_listing_chats_filtered_by_to_finds_the_chats_with_that_person(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    theirs = await create_chat(api, sim.phone, GRANDMA)
    await create_chat(api, sim.phone, "+16515558888")
    body = (await api.get("/v3/chats", params={"from": sim.phone, "to": GRANDMA})).json()
    assert [theirs["id"]] == [c["id"] for c in body["chats"]]


@pytest.mark.parametrize("limit", [1, 4, 50])
async def test_listing_messages_newest_first_returns_each_once(
    api: httpx.AsyncClient, sim: Simulator, limit: int
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    for i in range(9):
        sim.world.advance(1)
        await api.post(
            f"/v3/chats/{chat['id']}/messages", json={"message": text_message(f"note {i}")}
        )
    ids = await _all_pages(api, f"/v3/chats/{chat['id']}/messages", "messages", limit=limit)
    assert [m.id for m in sim.world.history(chat["id"])] == ids


async def test_a_message_arriving_between_pages_does_not_shift_the_next_page(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    for i in range(4):
        await api.post(f"/v3/chats/{chat['id']}/messages", json={"message": text_message(f"{i}")})
    path = f"/v3/chats/{chat['id']}/messages"
    first = (await api.get(path, params={"limit": 2})).json()
    sim.inject_inbound_text(GRANDMA, "a new message arrives meanwhile")
    second = (await api.get(path, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    older = [m.id for m in sim.world.history(chat["id"])][3:5]
    assert older == [m["id"] for m in second["messages"]]


async def test_a_thread_lists_the_originator_and_its_replies_oldest_first(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA, text="Did you take the 9am pill?")
    root = chat["message"]["id"]
    url = f"/v3/chats/{chat['id']}/messages"
    reply = text_message("Reminder again", reply_to={"message_id": root, "part_index": 0})
    replied = (await api.post(url, json={"message": reply})).json()["message"]["id"]
    await api.post(url, json={"message": text_message("unrelated")})
    body = (await api.get(f"/v3/messages/{replied}/thread")).json()
    assert [root, replied] == [m["id"] for m in body["messages"]]
    desc = (await api.get(f"/v3/messages/{root}/thread", params={"order": "desc"})).json()
    assert [replied, root] == [m["id"] for m in desc["messages"]]
