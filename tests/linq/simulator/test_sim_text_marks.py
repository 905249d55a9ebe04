"""The simulator takes mentions, decorations and link parts as Linq does, and echoes them."""

from __future__ import annotations

import httpx

from adapters.linq.simulator import Simulator
from caresupport_transport.content import (
    LinkPart,
    Mention,
    TextDecoration,
    TextPart,
    TextRange,
    TextStyle,
)
from caresupport_transport.handles import Handle

from .support import AUNT, GRANDMA, SON, UNCLE, create_chat, error_of

TEXT = "\U0001f48a Aunt: 1 pill"
MARKED = {
    "type": "text",
    "value": TEXT,
    "mention": AUNT,
    "mention_range": [3, 7],
    "text_decorations": [{"range": [9, 15], "style": "bold"}],
}


async def test_a_mention_and_a_decoration_are_kept_and_echoed(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, AUNT, UNCLE)
    sent = await api.post(f"/v3/chats/{chat['id']}/messages", json={"message": {"parts": [MARKED]}})
    assert 202 == sent.status_code, sent.text
    message_id = sent.json()["message"]["id"]
    expected = TextPart(
        TEXT,
        mentions=[Mention(Handle(AUNT), TextRange(3, 7))],
        decorations=[TextDecoration(TextRange(9, 15), TextStyle.BOLD)],
    )
    assert (expected,) == sim.world.messages[message_id].parts
    [part] = (await api.get(f"/v3/messages/{message_id}")).json()["parts"]
    assert (
        [{"handle": AUNT, "is_me": False, "range": [3, 7]}],
        [{"range": [9, 15], "style": "bold"}],
    ) == (part["mentions"], part["text_decorations"])


async def test_a_mention_in_a_direct_chat_is_409_2023(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    refused = await api.post(
        f"/v3/chats/{chat['id']}/messages",
        json={"message": {"parts": [{**MARKED, "mention": GRANDMA}]}},
    )
    assert (409, 2023) == error_of(refused)


async def test_a_link_part_is_echoed_and_refused_in_a_first_message(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    link = {"type": "link", "value": "https://care.example.org/plan"}
    first = await api.post(
        "/v3/chats", json={"from": sim.phone, "to": [SON], "message": {"parts": [link]}}
    )
    assert (400, 1005) == error_of(first)
    chat = await create_chat(api, sim.phone, GRANDMA)
    sent = await api.post(f"/v3/chats/{chat['id']}/messages", json={"message": {"parts": [link]}})
    message_id = sent.json()["message"]["id"]
    assert (LinkPart(link["value"]),) == sim.world.messages[message_id].parts
    assert [link | {"reactions": []}] == (await api.get(f"/v3/messages/{message_id}")).json()[
        "parts"
    ]
