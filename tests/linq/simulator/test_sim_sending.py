"""Sending: the provider's fallback, pinned services, idempotency keys, opt-outs."""

from __future__ import annotations

import httpx
import pytest

from adapters.linq.simulator import Simulator

from .support import (
    DAUGHTER,
    GRANDMA,
    LOST,
    NURSE,
    SON,
    create_chat,
    error_of,
    text_message,
)


@pytest.mark.parametrize(
    ("recipient", "service"),
    [(GRANDMA, "iMessage"), (DAUGHTER, "iMessage"), (NURSE, "RCS"), (SON, "SMS")],
)
async def test_with_no_preference_the_server_falls_back_imessage_rcs_sms(
    api: httpx.AsyncClient, sim: Simulator, recipient: str, service: str
) -> None:
    chat = await create_chat(api, sim.phone, recipient)
    assert (service, service) == (chat["service"], chat["message"]["service"])


async def test_a_group_gets_the_first_service_everyone_has(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA, SON)
    assert ("SMS", True) == (chat["service"], chat["is_group"])


async def test_a_send_is_accepted_pending_and_moves_on_as_the_clock_advances(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    message_id = chat["message"]["id"]
    assert "pending" == chat["message"]["delivery_status"]
    await sim.advance(5)
    delivered = (await api.get(f"/v3/messages/{message_id}")).json()
    assert (True, False) == (delivered["is_delivered"], delivered["is_read"])
    await sim.advance(120)
    read = (await api.get(f"/v3/messages/{message_id}")).json()
    assert (True, True) == (read["is_delivered"], read["is_read"])


async def test_a_pinned_service_the_recipient_lacks_makes_the_message_fail(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, SON, text="hi", preferred_service="iMessage")
    assert ("iMessage", "pending") == (
        chat["message"]["service"],
        chat["message"]["delivery_status"],
    )
    await sim.advance(10)
    fetched = (await api.get(f"/v3/messages/{chat['message']['id']}")).json()
    assert ("failed", False) == (fetched["delivery_status"], fetched["is_delivered"])


async def test_a_received_message_reads_as_received(api: httpx.AsyncClient, sim: Simulator) -> None:
    inbound = sim.inject_inbound_text(GRANDMA, "Good morning")
    fetched = (await api.get(f"/v3/messages/{inbound.id}")).json()
    assert ("received", False, GRANDMA) == (
        fetched["delivery_status"],
        fetched["is_from_me"],
        fetched["from"],
    )


async def test_a_pinned_service_the_recipient_has_is_used_without_fallback(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA, preferred_service="SMS")
    assert ("SMS", "SMS") == (chat["message"]["service"], chat["message"]["preferred_service"])


async def test_an_unreachable_recipient_accepts_the_send_then_fails(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, LOST)
    await sim.advance(10)
    assert "failed" == sim.world.messages[chat["message"]["id"]].status.value


async def test_a_repeated_idempotency_key_returns_the_original_and_creates_nothing(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    body = {"message": text_message("Your pills are at 9", idempotency_key="dose-reminder-1")}
    first = await api.post(f"/v3/chats/{chat['id']}/messages", json=body)
    second = await api.post(f"/v3/chats/{chat['id']}/messages", json=body)
    assert (202, 202) == (first.status_code, second.status_code)
    assert first.json()["message"]["id"] == second.json()["message"]["id"]
    assert 1 == sim.counters.messages_by_idempotency_key["dose-reminder-1"]
    assert 2 == len(sim.world.messages)


async def test_a_repeated_create_chat_with_the_same_key_creates_nothing(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    first = await create_chat(api, sim.phone, GRANDMA, idempotency_key="first-contact")
    second = await create_chat(api, sim.phone, GRANDMA, idempotency_key="first-contact")
    assert (first["id"], first["message"]["id"]) == (second["id"], second["message"]["id"])
    assert 1 == len(sim.world.messages)
    assert 1 == sim.counters.messages_by_idempotency_key["first-contact"]


async def test_an_idempotency_key_reused_for_other_content_is_a_409_conflict(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    url = f"/v3/chats/{chat['id']}/messages"
    await api.post(url, json={"message": text_message("one", idempotency_key="k")})
    response = await api.post(url, json={"message": text_message("two", idempotency_key="k")})
    assert (409, None) == error_of(response)
    assert 2 == len(sim.world.messages)


async def test_an_idempotency_key_whose_message_was_deleted_answers_404(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    url = f"/v3/chats/{chat['id']}/messages"
    body = {"message": text_message("once", idempotency_key="gone")}
    sent = (await api.post(url, json=body)).json()["message"]
    await api.request("DELETE", f"/v3/messages/{sent['id']}", json={"chat_id": chat["id"]})
    response = await api.post(url, json=body)
    assert (404, 2001) == error_of(response)
    assert 1 == sim.counters.messages_by_idempotency_key["gone"]


async def test_a_send_to_someone_who_opted_out_is_refused_with_403_2024(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.inject_inbound_text(GRANDMA, "STOP")
    response = await api.post(f"/v3/chats/{chat['id']}/messages", json={"message": text_message()})
    assert (403, 2024) == error_of(response)


async def test_any_later_message_opts_the_sender_back_in(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.inject_inbound_text(GRANDMA, "STOP")
    sim.inject_inbound_text(GRANDMA, "sorry, wrong button")
    response = await api.post(f"/v3/chats/{chat['id']}/messages", json={"message": text_message()})
    assert 202 == response.status_code


async def test_stop_inside_a_longer_message_does_not_opt_out(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    sim.inject_inbound_text(GRANDMA, "please stop the 9am reminder")
    response = await api.post(f"/v3/chats/{chat['id']}/messages", json={"message": text_message()})
    assert 202 == response.status_code


async def test_a_send_to_a_handle_on_our_own_blocklist_is_refused_with_403_2026(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.block(SON)
    response = await api.post(
        "/v3/chats", json={"from": sim.phone, "to": [SON], "message": text_message()}
    )
    assert (403, 2026) == error_of(response)


async def test_send_by_handle_creates_a_chat_then_reuses_it(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    body = {"to": [GRANDMA], "message": text_message("Checking in")}
    first = (await api.post("/v3/messages", json=body)).json()
    second = (await api.post("/v3/messages", json=body)).json()
    assert (True, False) == (first["created_new_chat"], second["created_new_chat"])
    assert first["chat_id"] == second["chat_id"]
    assert ("new_best_number", "reused_active_chat") == (
        first["from_selection"]["reason"],
        second["from_selection"]["reason"],
    )
    assert sim.phone == first["from"]


async def test_send_by_handle_honours_the_idempotency_key_header(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    body = {"to": [GRANDMA], "message": text_message("Checking in")}
    headers = {"Idempotency-Key": "check-in-1"}
    first = await api.post("/v3/messages", json=body, headers=headers)
    second = await api.post("/v3/messages", json=body, headers=headers)
    assert first.json()["message"]["id"] == second.json()["message"]["id"]
    assert 1 == sim.counters.messages_by_idempotency_key["check-in-1"]


async def test_send_by_handle_may_carry_a_link_in_a_new_chats_first_message(
    api: httpx.AsyncClient,
) -> None:
    body = {"to": [GRANDMA], "message": text_message("Forms: https://example.org/forms")}
    response = await api.post("/v3/messages", json=body)
    assert 202 == response.status_code


async def test_a_failure_injected_for_the_next_send_is_reported_after_acceptance(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.fail_next_send(GRANDMA, "phone switched off")
    chat = await create_chat(api, sim.phone, GRANDMA)
    assert "pending" == chat["message"]["delivery_status"]
    await sim.advance(10)
    fetched = (await api.get(f"/v3/messages/{chat['message']['id']}")).json()
    assert "failed" == fetched["delivery_status"]
    assert "phone switched off" == sim.world.failure_reasons[chat["message"]["id"]]
