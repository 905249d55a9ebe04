"""The simulator's poll routes follow Linq's rules; its poll webhooks are signed and parse back."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.linq.simulator import Simulator
from adapters.linq.webhook_events import parse_delivery
from adapters.linq.webhooks import WebhookVerifier
from caresupport_transport.events import (
    MessageStatusChanged,
    PollOptionsAdded,
    PollReceived,
    PollVoteAdded,
    PollVoteRemoved,
)
from caresupport_transport.handles import Handle

from .conftest import SIGNING_NOW
from .support import GRANDMA, SON, WEBHOOK_URL, Recorder, text_message

OPTIONS = [{"text": "Tue 9am"}, {"text": "Tue 2pm"}]


async def chat_with(api: httpx.AsyncClient, sim: Simulator, person: str) -> str:
    answer = await api.post(
        "/v3/chats", json={"from": sim.phone, "to": [person], "message": text_message()}
    )
    chat_id: str = answer.json()["chat"]["id"]
    return chat_id


async def create(api: httpx.AsyncClient, chat_id: str, **poll: Any) -> httpx.Response:
    return await api.post(f"/v3/chats/{chat_id}/polls", json={"poll": {"options": OPTIONS, **poll}})


async def test_a_poll_in_an_imessage_chat_answers_the_envelope(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat_id = await chat_with(api, sim, GRANDMA)
    answer = await create(api, chat_id)
    envelope = answer.json()
    assert (200, chat_id, ["Tue 9am", "Tue 2pm"], 0) == (
        answer.status_code,
        envelope["chat_id"],
        [o["text"] for o in envelope["poll"]["options"]],
        envelope["poll"]["total_voters"],
    )
    assert envelope == {
        **(await api.get(f"/v3/messages/{envelope['message_id']}/poll")).json(),
        "trace_id": envelope["trace_id"],
    }


async def test_a_poll_in_an_sms_chat_is_refused_with_400_2017_and_nothing_made(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat_id = await chat_with(api, sim, SON)
    answer = await create(api, chat_id)
    assert (400, 2017) == (answer.status_code, answer.json()["error"]["code"])
    assert {} == sim.world.polls


async def test_a_poll_needs_two_non_blank_options(api: httpx.AsyncClient, sim: Simulator) -> None:
    chat_id = await chat_with(api, sim, GRANDMA)
    one = await api.post(f"/v3/chats/{chat_id}/polls", json={"poll": {"options": [{"text": "a"}]}})
    blank = await api.post(
        f"/v3/chats/{chat_id}/polls", json={"poll": {"options": [{"text": "a"}, {"text": " "}]}}
    )
    assert (400, 400, {}) == (one.status_code, blank.status_code, sim.world.polls)


async def test_the_same_key_answers_the_first_poll_and_makes_no_second(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat_id = await chat_with(api, sim, GRANDMA)
    first = (await create(api, chat_id, idempotency_key="drive-tue")).json()
    again = (await create(api, chat_id, idempotency_key="drive-tue")).json()
    assert (first["message_id"], 1) == (again["message_id"], len(sim.world.polls))


async def test_options_are_add_only(api: httpx.AsyncClient, sim: Simulator) -> None:
    chat_id = await chat_with(api, sim, GRANDMA)
    poll_id = (await create(api, chat_id)).json()["message_id"]
    added = await api.post(
        f"/v3/messages/{poll_id}/poll/options", json={"options": [{"text": "Wed"}]}
    )
    removed = await api.request(
        "DELETE", f"/v3/messages/{poll_id}/poll/options", json={"options": [{"text": "Wed"}]}
    )
    assert ["Tue 9am", "Tue 2pm", "Wed"] == [o["text"] for o in added.json()["poll"]["options"]]
    assert 405 == removed.status_code


async def test_our_vote_toggles_and_an_unknown_option_is_refused(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat_id = await chat_with(api, sim, GRANDMA)
    envelope = (await create(api, chat_id)).json()
    poll_id, option = envelope["message_id"], envelope["poll"]["options"][1]["option_id"]
    voted = await api.post(
        f"/v3/messages/{poll_id}/poll/votes", json={"operation": "add", "option_id": option}
    )
    taken = await api.post(
        f"/v3/messages/{poll_id}/poll/votes", json={"operation": "remove", "option_id": option}
    )
    unknown = await api.post(
        f"/v3/messages/{poll_id}/poll/votes", json={"operation": "add", "option_id": "nope"}
    )
    assert (1, 0, 400) == (
        voted.json()["poll"]["total_voters"],
        taken.json()["poll"]["total_voters"],
        unknown.status_code,
    )
    assert [sim.phone] == [v["handle"] for v in voted.json()["poll"]["options"][1]["voters"]]


async def test_a_message_that_is_no_poll_has_no_poll(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    answer = await api.post(
        "/v3/chats", json={"from": sim.phone, "to": [GRANDMA], "message": text_message()}
    )
    message_id = answer.json()["chat"]["message"]["id"]
    assert 404 == (await api.get(f"/v3/messages/{message_id}/poll")).status_code


async def test_poll_events_are_delivered_signed_and_parse_into_domain_events(
    api: httpx.AsyncClient, sim: Simulator, recorder: Recorder
) -> None:
    subscription = sim.subscribe(f"{WEBHOOK_URL}?version=2026-02-03")
    chat_id = await chat_with(api, sim, GRANDMA)
    envelope = (await create(api, chat_id)).json()
    poll_id, option = envelope["message_id"], envelope["poll"]["options"][0]["option_id"]
    await sim.advance(120)
    sim.inject_vote(GRANDMA, poll_id, option)
    sim.inject_vote(GRANDMA, poll_id, option, remove=True)
    await api.post(f"/v3/messages/{poll_id}/poll/options", json={"options": [{"text": "Wed"}]})
    sim.inject_poll(GRANDMA, ["Pizza", "Soup"])
    await sim.deliver_webhooks()
    verifier = WebhookVerifier(subscription.secret, clock=lambda: SIGNING_NOW)
    events = []
    for delivery in recorder.received:
        verifier.verify(delivery.body, delivery.headers)
        if delivery.headers["x-webhook-event"].startswith("poll."):
            events.append((delivery.headers["x-webhook-event"], parse_delivery(delivery.body)))
    kinds = [(kind, type(event)) for kind, event in events]
    assert [
        ("poll.sent", MessageStatusChanged),
        ("poll.delivered", MessageStatusChanged),
        ("poll.read", MessageStatusChanged),
        ("poll.vote.added", PollVoteAdded),
        ("poll.vote.removed", PollVoteRemoved),
        ("poll.updated", PollOptionsAdded),
        ("poll.received", PollReceived),
    ] == kinds
    vote = events[3][1]
    assert (poll_id, option, Handle(GRANDMA)) == (vote.poll_id, vote.option_id, vote.voter)
