"""Opt-outs, chat health and the blocklist in the simulator, as Linq has them in 0.65."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from adapters.linq.simulator import Simulator
from caresupport_transport import ConversationHealth, Handle

from .support import (
    AUNT,
    GRANDMA,
    SON,
    UNCLE,
    WEBHOOK_URL,
    Recorder,
    create_chat,
    error_of,
    text_message,
)

SECOND_LINE = "+15550100001"


async def _send(api: httpx.AsyncClient, chat_id: str, **extra: Any) -> httpx.Response:
    return await api.post(
        f"/v3/chats/{chat_id}/messages", json={"message": text_message(), **extra}
    )


async def _health(api: httpx.AsyncClient, chat_id: str) -> str:
    status: str = (await api.get(f"/v3/chats/{chat_id}")).json()["health_status"]["status"]
    return status


async def test_a_keyword_marks_only_its_chat_opted_out_and_refuses_sends_in_every_chat(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    direct = await create_chat(api, sim.phone, GRANDMA)
    group = await create_chat(api, sim.phone, GRANDMA, AUNT)
    sim.inject_inbound_text(GRANDMA, "  STOP\n")
    assert ("OPTED_OUT", "HEALTHY") == (
        await _health(api, direct["id"]),
        await _health(api, group["id"]),
    )
    assert (403, 2024) == error_of(await _send(api, direct["id"]))
    assert 202 == (await _send(api, group["id"])).status_code  # groups are exempt


@pytest.mark.parametrize("text", ["Stop", "stop", "please stop", "STOP!", "START"])
async def test_words_that_are_not_exactly_a_keyword_do_not_opt_out(
    api: httpx.AsyncClient, sim: Simulator, text: str
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.inject_inbound_text(GRANDMA, text)
    assert 202 == (await _send(api, chat["id"])).status_code


@pytest.mark.parametrize("text", ["opt out", "Opt-Out", "OPTOUT", "optout", "QUIT"])
async def test_opt_out_in_any_casing_and_the_other_keywords_opt_out(
    api: httpx.AsyncClient, sim: Simulator, text: str
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.inject_inbound_text(GRANDMA, text)
    assert (403, 2024) == error_of(await _send(api, chat["id"]))


async def test_a_keyword_in_a_group_changes_nothing(api: httpx.AsyncClient, sim: Simulator) -> None:
    direct = await create_chat(api, sim.phone, GRANDMA)
    group = await create_chat(api, sim.phone, GRANDMA, AUNT)
    sim.inject_inbound_text(GRANDMA, "STOP", conversation_id=group["id"])
    assert "HEALTHY" == await _health(api, group["id"])
    assert 202 == (await _send(api, direct["id"])).status_code


async def test_a_message_in_a_group_opts_the_person_back_in(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    direct = await create_chat(api, sim.phone, GRANDMA)
    group = await create_chat(api, sim.phone, GRANDMA, AUNT)
    sim.inject_inbound_text(GRANDMA, "STOP")
    sim.inject_inbound_text(GRANDMA, "thanks all", conversation_id=group["id"])
    assert "HEALTHY" == await _health(api, direct["id"])
    assert 202 == (await _send(api, direct["id"])).status_code


async def test_an_opt_out_holds_on_every_line_of_the_account_and_clears_from_any() -> None:
    sim = Simulator(tokens={"tok": ["+15550100000", SECOND_LINE]})
    sim.add_recipient(GRANDMA)
    async with sim, sim.client(token="tok") as api:
        first = await create_chat(api, "+15550100000", GRANDMA)
        second = await create_chat(api, SECOND_LINE, GRANDMA)
        sim.inject_inbound_text(GRANDMA, "STOP")
        assert (403, 2024) == error_of(await _send(api, second["id"]))
        sim.inject_inbound_text(GRANDMA, "ok", line=SECOND_LINE)
        assert 202 == (await _send(api, first["id"])).status_code


async def test_override_optout_lets_exactly_one_send_through_and_is_counted(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.inject_inbound_text(GRANDMA, "STOP")
    assert 202 == (await _send(api, chat["id"], override_optout=True)).status_code
    assert (403, 2024) == error_of(await _send(api, chat["id"]))
    assert 1 == sim.counters.opt_out_overrides
    assert [(chat["id"], Handle(GRANDMA))] == sim.world.opt_out_overrides


async def test_override_optout_must_be_a_boolean(api: httpx.AsyncClient, sim: Simulator) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    assert 400 == (await _send(api, chat["id"], override_optout="yes")).status_code


async def test_create_chat_and_send_by_handle_refuse_before_creating_a_chat(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.opt_out(SON)
    created = await api.post(
        "/v3/chats", json={"from": sim.phone, "to": [SON], "message": text_message()}
    )
    by_handle = await api.post("/v3/messages", json={"to": [SON], "message": text_message()})
    assert [(403, 2024), (403, 2024)] == [error_of(created), error_of(by_handle)]
    assert {} == sim.world.conversations
    allowed = await api.post(
        "/v3/messages", json={"to": [SON], "message": text_message(), "override_optout": True}
    )
    assert 202 == allowed.status_code


async def test_chats_carry_health_status_and_the_test_hook_sets_at_risk(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    assert "HEALTHY" == chat["health_status"]["status"]
    assert chat["health_status"]["doc_url"].startswith("https://")
    sim.set_health(chat["id"], ConversationHealth.AT_RISK)
    listed = (await api.get("/v3/chats", params={"from": sim.phone})).json()["chats"]
    assert ["AT_RISK"] == [c["health_status"]["status"] for c in listed]


async def test_message_events_of_2026_carry_the_chat_health(
    sim: Simulator, recorder: Recorder
) -> None:
    sim.subscribe(WEBHOOK_URL + "?version=2026-02-03", events=["message.received"])
    sim.inject_inbound_text(GRANDMA, "STOP")
    await sim.deliver_webhooks()
    (body,) = [json.loads(r.body) for r in recorder.received]
    assert "OPTED_OUT" == body["data"]["chat"]["health_status"]["status"]


async def test_blocking_is_idempotent_normalized_and_listed_newest_first(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    first = await api.post(
        "/v3/blocked_handles", json={"handle": "Spam@Example.org", "reason": "spam"}
    )
    await sim.advance(60)
    await api.post("/v3/blocked_handles", json={"handle": SON})
    again = await api.post("/v3/blocked_handles", json={"handle": "spam@example.org"})
    assert "spam@example.org" == first.json()["blocked_handle"]["handle"]
    assert first.json()["blocked_handle"] == again.json()["blocked_handle"]
    listed = (await api.get("/v3/blocked_handles")).json()["blocked_handles"]
    assert [SON, "spam@example.org"] == [entry["handle"] for entry in listed]
    deleted = await api.request("DELETE", "/v3/blocked_handles", json={"handle": SON})
    assert 204 == deleted.status_code
    listed = (await api.get("/v3/blocked_handles")).json()["blocked_handles"]
    assert ["spam@example.org"] == [entry["handle"] for entry in listed]


async def test_inbound_from_a_blocked_handle_is_dropped_before_any_webhook(
    sim: Simulator, recorder: Recorder
) -> None:
    sim.subscribe(WEBHOOK_URL, events=["message.received", "chat.created"])
    sim.block(UNCLE)
    dropped = sim.inject_inbound_text(UNCLE, "hello?")
    await sim.deliver_webhooks()
    assert ([], [dropped]) == (recorder.received, sim.world.dropped_inbound)
    assert dropped.id not in sim.world.messages


async def test_a_group_with_one_unblocked_member_is_not_restricted(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    group = await create_chat(api, sim.phone, GRANDMA, AUNT)
    sim.block(AUNT)
    assert 202 == (await _send(api, group["id"])).status_code
