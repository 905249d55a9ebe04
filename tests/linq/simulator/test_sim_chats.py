"""Chat and message actions: groups, typing, read, contact card, leave, rename, edit, react."""

from __future__ import annotations

import json

import httpx

from adapters.linq.simulator import Simulator
from caresupport_transport.content import ReactionKind, TextPart

from .support import (
    AUNT,
    COUSIN,
    GRANDMA,
    SON,
    UNCLE,
    WEBHOOK_URL,
    Recorder,
    create_chat,
    error_of,
    text_message,
)


async def test_a_chat_lists_the_line_first_then_the_participants(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    got = (await api.get(f"/v3/chats/{chat['id']}")).json()
    assert [(sim.phone, True), (GRANDMA, False)] == [
        (h["handle"], h["is_me"]) for h in got["handles"]
    ]
    assert (False, "iMessage") == (got["is_group"], got["service"])


async def test_participants_are_added_to_and_removed_from_a_big_enough_group(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, AUNT, UNCLE, COUSIN)
    path = f"/v3/chats/{chat['id']}/participants"
    added = await api.post(path, json={"handle": GRANDMA})
    assert (202, "accepted") == (added.status_code, added.json()["status"])
    removed = await api.request("DELETE", path, json={"handle": UNCLE})
    assert 202 == removed.status_code
    assert (AUNT, COUSIN, GRANDMA) == tuple(
        str(h) for h in sim.world.conversations[chat["id"]].participants
    )


async def test_adding_to_a_group_of_two_is_400(api: httpx.AsyncClient, sim: Simulator) -> None:
    chat = await create_chat(api, sim.phone, AUNT, UNCLE)
    response = await api.post(f"/v3/chats/{chat['id']}/participants", json={"handle": GRANDMA})
    assert 400 == error_of(response)[0]


async def test_typing_read_and_contact_card_answer_204_in_an_imessage_chat(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    base = f"/v3/chats/{chat['id']}"
    statuses = [
        (await api.post(f"{base}/typing")).status_code,
        (await api.delete(f"{base}/typing")).status_code,
        (await api.post(f"{base}/read")).status_code,
        (await api.post(f"{base}/share_contact_card")).status_code,
    ]
    assert [204] * 4 == statuses
    assert [chat["id"]] == sim.world.contact_cards_shared


async def test_the_removed_my_cards_operations_are_not_served(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    statuses = [
        (await api.get("/v3/my_cards")).status_code,
        (await api.post("/v3/my_cards", json={"phone_number": sim.phone})).status_code,
        (await api.post(f"/v3/my_cards/{chat['id']}/share")).status_code,
    ]
    assert [404, 404, 404] == statuses
    assert [] == sim.world.contact_cards_shared


async def test_typing_in_a_group_or_an_sms_chat_is_400(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    group = await create_chat(api, sim.phone, AUNT, UNCLE)
    sms = await create_chat(api, sim.phone, SON)
    assert 400 == error_of(await api.post(f"/v3/chats/{group['id']}/typing"))[0]
    assert 400 == error_of(await api.post(f"/v3/chats/{sms['id']}/typing"))[0]


async def test_sharing_a_contact_card_needs_one_set_up(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.backend.contact_cards.clear()
    chat = await create_chat(api, sim.phone, GRANDMA)
    response = await api.post(f"/v3/chats/{chat['id']}/share_contact_card")
    assert (404, 2012) == error_of(response)


async def test_a_contact_card_is_read_and_updated(api: httpx.AsyncClient, sim: Simulator) -> None:
    patched = await api.patch(
        "/v3/contact_card", params={"phone_number": sim.phone}, json={"first_name": "Care Team"}
    )
    assert "Care Team" == patched.json()["first_name"]
    cards = (await api.get("/v3/contact_card")).json()["contact_cards"]
    assert ["Care Team"] == [c["first_name"] for c in cards]


async def test_renaming_a_group_changes_its_display_name(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, AUNT, UNCLE)
    response = await api.put(f"/v3/chats/{chat['id']}", json={"display_name": "Mum's care team"})
    assert "Mum's care team" == response.json()["display_name"]


async def test_a_left_group_refuses_new_messages_with_409(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, AUNT, UNCLE, COUSIN)
    left = await api.post(f"/v3/chats/{chat['id']}/leave")
    assert (202, "accepted") == (left.status_code, left.json()["status"])
    response = await api.post(f"/v3/chats/{chat['id']}/messages", json={"message": text_message()})
    assert (409, None) == error_of(response)


async def test_after_leaving_every_interaction_with_the_chat_is_409_and_reads_work(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, AUNT, UNCLE, COUSIN)
    base = f"/v3/chats/{chat['id']}"
    await api.post(f"{base}/leave")

    statuses = [
        error_of(await api.post(f"{base}/read")),
        error_of(await api.post(f"{base}/typing")),
        error_of(await api.put(base, json={"display_name": "Care team"})),
        error_of(await api.post(f"{base}/participants", json={"handle": GRANDMA})),
        error_of(await api.post(f"{base}/background", json={"type": "color", "variant": "ice"})),
        error_of(await api.post(f"{base}/leave")),
    ]

    assert [(409, None)] * 6 == statuses  # Linq states no code for these
    assert 200 == (await api.get(base)).status_code


async def test_only_an_imessage_group_of_four_or_more_can_be_left(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    small = await create_chat(api, sim.phone, AUNT, UNCLE)
    direct = await create_chat(api, sim.phone, GRANDMA)
    mixed = await create_chat(api, sim.phone, AUNT, UNCLE, SON)
    refusals = [
        error_of(await api.post(f"/v3/chats/{chat['id']}/leave"))[0]
        for chat in (small, direct, mixed)
    ]
    assert [400, 400, 400] == refusals
    assert not any(sim.world.has_left(chat["id"]) for chat in (small, direct, mixed))


async def test_leaving_sends_participant_removed_for_the_line(
    api: httpx.AsyncClient, sim: Simulator, recorder: Recorder
) -> None:
    sim.subscribe(WEBHOOK_URL, events=["participant.removed"])
    chat = await create_chat(api, sim.phone, AUNT, UNCLE, COUSIN)
    await api.post(f"/v3/chats/{chat['id']}/leave")
    await sim.deliver_webhooks()
    data = [json.loads(r.body)["data"] for r in recorder.received]
    assert [(chat["id"], sim.phone, "removed")] == [
        (d["chat_id"], d["handle"], d["participant"]["status"]) for d in data
    ]


async def test_an_imessage_message_is_edited_at_most_five_times(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA, text="Appointment at 3")
    path = f"/v3/messages/{chat['message']['id']}"
    statuses = [
        (await api.patch(path, json={"part_index": 0, "text": f"Appointment at {h}"})).status_code
        for h in range(4, 10)
    ]
    assert [200, 200, 200, 200, 200, 400] == statuses
    refused = await api.patch(path, json={"part_index": 0, "text": "Appointment at 10"})
    assert ((400, 1003), "a message can be edited at most 5 times") == (
        error_of(refused),
        refused.json()["error"]["message"],
    )
    assert (TextPart("Appointment at 8"),) == sim.world.messages[chat["message"]["id"]].parts


async def test_an_edit_after_15_minutes_is_400(api: httpx.AsyncClient, sim: Simulator) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA, text="Appointment at 3")
    await sim.advance(15 * 60 + 1)
    response = await api.patch(f"/v3/messages/{chat['message']['id']}", json={"text": "at 4"})
    assert (400, 1003) == error_of(response)


async def test_a_received_message_cannot_be_edited(api: httpx.AsyncClient, sim: Simulator) -> None:
    inbound = sim.inject_inbound_text(GRANDMA, "I took it")
    response = await api.patch(f"/v3/messages/{inbound.id}", json={"text": "I did not"})
    assert (403, 2005) == error_of(response)


async def test_a_deleted_message_disappears_from_the_api_only(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    message_id = chat["message"]["id"]
    deleted = await api.delete(f"/v3/messages/{message_id}")  # no body since 0.65
    assert 204 == deleted.status_code
    assert (404, 2001) == error_of(await api.get(f"/v3/messages/{message_id}"))
    assert message_id in sim.world.messages


async def test_reactions_are_added_and_removed(api: httpx.AsyncClient, sim: Simulator) -> None:
    inbound = sim.inject_inbound_text(GRANDMA, "I took my pills")
    path = f"/v3/messages/{inbound.id}/reactions"
    added = await api.post(path, json={"operation": "add", "type": "love"})
    assert (202, "accepted") == (added.status_code, added.json()["status"])
    listed = (await api.get(f"/v3/messages/{inbound.id}")).json()
    assert ["love"] == [r["type"] for r in listed["parts"][0]["reactions"]]
    await api.post(path, json={"operation": "remove", "type": "love"})
    assert [] == sim.world.reactions_on(inbound.id)


async def test_a_custom_reaction_needs_an_emoji_and_a_sticker_cannot_be_sent(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    inbound = sim.inject_inbound_text(GRANDMA, "Good morning")
    path = f"/v3/messages/{inbound.id}/reactions"
    assert 400 == error_of(await api.post(path, json={"operation": "add", "type": "custom"}))[0]
    assert 400 == error_of(await api.post(path, json={"operation": "add", "type": "sticker"}))[0]
    custom = {"operation": "add", "type": "custom", "custom_emoji": "🌷"}
    assert 202 == (await api.post(path, json=custom)).status_code
    assert [ReactionKind.CUSTOM] == [r.reaction.kind for r in sim.world.reactions_on(inbound.id)]


async def test_a_reaction_on_an_sms_message_is_400(api: httpx.AsyncClient, sim: Simulator) -> None:
    inbound = sim.inject_inbound_text(SON, "ok")
    response = await api.post(
        f"/v3/messages/{inbound.id}/reactions", json={"operation": "add", "type": "like"}
    )
    assert 400 == error_of(response)[0]


async def test_a_chat_gets_the_contact_card_at_most_once_per_five_minutes(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    path = f"/v3/chats/{chat['id']}/share_contact_card"

    first = await api.post(path)
    again = await api.post(path)
    await sim.advance(300)
    later = await api.post(path)

    assert (204, (429, 4001), "300", 204) == (
        first.status_code,
        error_of(again),
        again.headers["retry-after"],
        later.status_code,
    )
    assert [chat["id"], chat["id"]] == sim.world.contact_cards_shared
