"""The simulator keeps no messaging facts of its own: what it serves is what the World records."""

from __future__ import annotations

import httpx

from adapters.linq.simulator import Simulator
from caresupport_transport.handles import Handle

from .support import AUNT, COUSIN, GRANDMA, UNCLE, create_chat, error_of, text_message


async def test_leaving_over_http_is_recorded_in_the_world(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, AUNT, UNCLE, COUSIN)
    await api.post(f"/v3/chats/{chat['id']}/leave")
    assert {chat["id"]} == sim.world.left_conversations


async def test_a_group_left_in_the_world_is_left_for_the_api(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, AUNT, UNCLE)
    sim.world.leave(chat["id"])
    response = await api.post(f"/v3/chats/{chat['id']}/messages", json={"message": text_message()})
    listed = (await api.get("/v3/chats", params={"from": sim.phone})).json()["chats"]
    assert 409 == error_of(response)[0]
    assert chat["id"] not in [c["id"] for c in listed]


async def test_deleting_over_http_is_recorded_in_the_world(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    message_id = chat["message"]["id"]
    await api.request("DELETE", f"/v3/messages/{message_id}", json={"chat_id": chat["id"]})
    assert {message_id} == sim.world.deleted_message_ids
    assert [] == sim.world.history(chat["id"])


async def test_a_message_deleted_in_the_world_is_gone_from_the_api(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    message_id = chat["message"]["id"]
    sim.world.delete_message(message_id)
    listed = (await api.get(f"/v3/chats/{chat['id']}/messages")).json()["messages"]
    assert (404, 2001) == error_of(await api.get(f"/v3/messages/{message_id}"))
    assert [] == listed


async def test_a_sent_message_carries_the_key_and_pin_the_world_recorded(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    body = {"message": text_message(idempotency_key="k-7", preferred_service="iMessage")}
    sent = (await api.post(f"/v3/chats/{chat['id']}/messages", json=body)).json()["message"]
    assert "k-7" == sim.world.message_keys[sent["id"]]
    assert "iMessage" == sent["preferred_service"]


async def test_chat_and_join_times_come_from_the_world(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, AUNT, UNCLE, COUSIN)
    await sim.advance(60)
    await api.post(f"/v3/chats/{chat['id']}/participants", json={"handle": GRANDMA})
    got = (await api.get(f"/v3/chats/{chat['id']}")).json()
    joined = {h["handle"]: h["joined_at"] for h in got["handles"]}
    assert "2026-01-01T09:00:00.000Z" == got["created_at"] == joined[AUNT]
    assert "2026-01-01T09:01:00.000Z" == joined[GRANDMA]
    assert sim.world.joined_at(chat["id"], Handle(GRANDMA)).minute == 1
