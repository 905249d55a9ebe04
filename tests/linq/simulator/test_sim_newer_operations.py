"""The operations Linq added by SDK 0.65, with the rules the simulator applies to them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.linq.simulator import Simulator
from adapters.linq.simulator._routes_lines import AUDIT_SECONDS

from .support import (
    AUNT,
    COUSIN,
    GRANDMA,
    NURSE,
    SON,
    UNCLE,
    WEBHOOK_URL,
    FakeSleep,
    Recorder,
    create_chat,
    error_of,
    populate,
)

TOKEN = "two-lines"
FIRST, SECOND = "+15550100000", "+15550100001"


@pytest.fixture
async def lines(recorder: Recorder) -> AsyncIterator[Simulator]:
    """A simulator whose token owns two lines."""
    async with recorder.client() as webhooks:
        sim = Simulator(tokens={TOKEN: (FIRST, SECOND)}, sleep=FakeSleep(), webhook_client=webhooks)
        populate(sim)
        yield sim
        await sim.aclose()


def delivered(recorder: Recorder, event_type: str) -> list[dict[str, object]]:
    bodies = [json.loads(r.body) for r in recorder.received]
    return [b["data"] for b in bodies if b["event_type"] == event_type]


# -- location ------------------------------------------------------------------------------


async def test_a_location_request_is_refused_in_groups_sms_and_while_sharing(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    group = await create_chat(api, sim.phone, AUNT, UNCLE)
    sms = await create_chat(api, sim.phone, SON)
    rcs = await create_chat(api, sim.phone, NURSE)
    direct = await create_chat(api, sim.phone, GRANDMA)
    sim.share_location(GRANDMA, 44.95, -93.09)

    refusals = [
        error_of(await api.post(f"/v3/chats/{chat['id']}/location/request"))
        for chat in (group, sms, rcs, direct)
    ]

    assert [(409, 2016), (409, 2017), (409, 2017), (409, None)] == refusals


async def test_a_chat_may_be_asked_for_its_location_again_only_after_a_minute(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    direct = await create_chat(api, sim.phone, GRANDMA)
    path = f"/v3/chats/{direct['id']}/location/request"

    first = await api.post(path)
    again = await api.post(path)
    await sim.advance(60)
    later = await api.post(path)

    assert (200, True) == (first.status_code, first.json()["success"])
    assert ((429, 4001), "60") == (error_of(again), again.headers["retry-after"])
    assert 200 == later.status_code


async def test_locations_are_geojson_points_and_a_stop_ends_the_share(
    api: httpx.AsyncClient, sim: Simulator, recorder: Recorder
) -> None:
    sim.subscribe(WEBHOOK_URL, events=["location.sharing.started", "location.sharing.stopped"])
    direct = await create_chat(api, sim.phone, GRANDMA)
    path = f"/v3/chats/{direct['id']}/location"
    empty = (await api.get(path)).json()
    sim.share_location(GRANDMA, 44.95, -93.09, chat_id=direct["id"], locality="Saint Paul")

    located = (await api.get(path)).json()
    stopped = await api.request("DELETE", path, json={"handle": GRANDMA})
    again = await api.request("DELETE", path, json={"handle": GRANDMA})
    await sim.deliver_webhooks()

    assert ("FeatureCollection", []) == (empty["data"]["type"], empty["data"]["features"])
    (feature,) = located["data"]["features"]
    assert ([-93.09, 44.95], GRANDMA, "Saint Paul") == (
        feature["geometry"]["coordinates"],
        feature["properties"]["handle"],
        feature["properties"]["locality"],
    )
    assert (202, (404, 2001)) == (stopped.status_code, error_of(again))
    assert [(GRANDMA, sim.phone)] == [
        (d["shared_by"], d["shared_with"]) for d in delivered(recorder, "location.sharing.stopped")
    ]
    assert 1 == len(delivered(recorder, "location.sharing.started"))


# -- backgrounds ---------------------------------------------------------------------------


async def test_a_background_is_accepted_then_reported_only_on_imessage(
    api: httpx.AsyncClient, sim: Simulator, recorder: Recorder
) -> None:
    sim.subscribe(WEBHOOK_URL, events=["chat.background_updated"])
    imessage = await create_chat(api, sim.phone, GRANDMA)
    sms = await create_chat(api, sim.phone, SON)
    color = {"type": "color", "variant": "mango"}

    answers = [
        (await api.post(f"/v3/chats/{chat['id']}/background", json=color)).status_code
        for chat in (imessage, sms)
    ]
    reset = await api.delete(f"/v3/chats/{imessage['id']}/background")
    await sim.deliver_webhooks()

    assert ([202, 202], 204) == (answers, reset.status_code)
    assert [(imessage["id"], color)] == [
        (d["chat"]["id"], d["background"])  # type: ignore[index]
        for d in delivered(recorder, "chat.background_updated")
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "color", "variant": "teal"},
        {"type": "color", "variant": "custom"},
        {"type": "dynamic", "style": "sky", "variant": "dark"},
        {"type": "photo", "image_url": "http://example.org/a.jpg"},
        {"type": "gradient"},
    ],
)
async def test_a_background_breaking_a_rule_is_400_and_nothing_is_applied(
    api: httpx.AsyncClient, sim: Simulator, body: dict[str, str]
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)

    answer = await api.post(f"/v3/chats/{chat['id']}/background", json=body)

    assert (400, {}) == (error_of(answer)[0], sim.backend.backgrounds)


# -- lines ---------------------------------------------------------------------------------


async def test_phone_numbers_carry_reputation_and_call_forwarding(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    (line,) = (await api.get("/v3/phone_numbers")).json()["phone_numbers"]

    set_to = await api.put(f"/v3/phone_numbers/{line['id']}", json={"forwarding_number": GRANDMA})
    listed = (await api.get("/v3/phone_numbers")).json()["phone_numbers"][0]
    cleared = await api.put(f"/v3/phone_numbers/{line['id']}", json={"forwarding_number": None})
    unknown = await api.put("/v3/phone_numbers/nope", json={"forwarding_number": None})
    malformed = await api.put(f"/v3/phone_numbers/{line['id']}", json={"forwarding_number": "555"})

    assert ("HEALTHY", None, "iMessage") == (
        line["reputation"]["status"],
        line["forwarding_number"],
        line["line_type"],
    )
    assert (GRANDMA, GRANDMA, None) == (
        set_to.json()["forwarding_number"],
        listed["forwarding_number"],
        cleared.json()["forwarding_number"],
    )
    assert ((404, 2001), (400, 1002)) == (error_of(unknown), error_of(malformed))


async def test_one_reputation_audit_runs_per_line_then_a_cooldown(
    lines: Simulator,
) -> None:
    async with lines.client(token=TOKEN) as api:
        path = f"/v3/phone_numbers/{FIRST}/reputation_audit"
        started = (await api.post(path)).json()
        repeated = (await api.post(path)).json()
        pending = (await api.get(f"{path}/{started['audit_id']}")).json()
        await lines.advance(AUDIT_SECONDS)
        done = (await api.get(f"{path}/{started['audit_id']}")).json()
        cooling = await api.post(path)
        elsewhere = await api.get(
            f"/v3/phone_numbers/{SECOND}/reputation_audit/{started['audit_id']}"
        )

    assert (started["audit_id"], "pending") == (repeated["audit_id"], pending["status"])
    assert ("complete", "HEALTHY") == (done["status"], done["report"]["severity"])
    assert ((429, 4001), "3600") == (error_of(cooling), cooling.headers["retry-after"])
    assert "audit_id" not in cooling.json()
    assert (404, 2001) == error_of(elsewhere)


async def test_the_available_number_rotates_and_sticks_to_an_existing_chat(
    lines: Simulator,
) -> None:
    async with lines.client(token=TOKEN) as api:
        rotation = [
            (await api.get("/v3/available_number")).json()["phone_number"] for _ in range(3)
        ]
        await create_chat(api, SECOND, GRANDMA)
        sticky = [
            (await api.get("/v3/available_number", params={"to": GRANDMA})).json()["phone_number"]
            for _ in range(2)
        ]
        excluded = (await api.get("/v3/available_number", params={"exclude_from": [FIRST]})).json()
        every = await api.get("/v3/available_number", params={"exclude_from": [FIRST, SECOND]})
        malformed = await api.get("/v3/available_number", params={"exclude_from": "4155551234"})
        rcs = await api.get("/v3/available_number", params={"type": "rcs"})

    assert [FIRST, SECOND, FIRST] == rotation
    assert [SECOND, SECOND] == sticky
    assert (SECOND, True) == (excluded["phone_number"], excluded["vcf_url"].endswith(".vcf"))
    assert ((400, 1001), (400, 1002), 503) == (
        error_of(every),
        error_of(malformed),
        rcs.status_code,
    )


async def test_experiences_are_listed_and_read_by_name(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/v3/experiences")).json()["experiences"]
    link = (await api.get("/v3/experiences/link")).json()

    assert {"agentpay", "agentcard", "link"} == {e["experience"] for e in listed}
    assert ["open"] == [a["name"] for a in link["actions"]]
    assert (404, 2001) == error_of(await api.get("/v3/experiences/nope"))


# -- message and reaction updates ----------------------------------------------------------


async def test_an_app_card_update_answers_a_new_message_each_time(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    card = sim.send_app_card(chat["id"], "Ride on Tuesday")
    early = await api.post(f"/v3/messages/{card.id}/update", json={"layout": {"caption": "x"}})
    await sim.advance(5)

    first = (
        await api.post(f"/v3/messages/{card.id}/update", json={"layout": {"caption": "Wed"}})
    ).json()
    await sim.advance(5)
    second = (
        await api.post(
            f"/v3/messages/{first['message']['id']}/update", json={"layout": {"caption": "Thu"}}
        )
    ).json()
    not_a_card = await api.post(
        f"/v3/messages/{chat['message']['id']}/update", json={"layout": {"caption": "x"}}
    )

    assert (409, None) == error_of(early)  # not sent yet: Linq states no code
    assert len({card.id, first["message"]["id"], second["message"]["id"]}) == 3
    assert "Thu" == second["message"]["parts"][0]["value"]
    assert (400, 1001) == error_of(not_a_card)


async def test_a_sticker_can_be_moved_and_a_tapback_cannot(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    message_id = chat["message"]["id"]
    sim.inject_reaction(GRANDMA, message_id, "sticker")
    sim.inject_reaction(GRANDMA, message_id, "love")
    reactions = (await api.get(f"/v3/messages/{message_id}")).json()["parts"][0]["reactions"]
    ids = {r["type"]: r["id"] for r in reactions}
    base = f"/v3/messages/{message_id}/reactions"

    moved = await api.patch(f"{base}/{ids['sticker']}", json={"placement": {"x": 0.5, "scale": 2}})
    tapback = await api.patch(f"{base}/{ids['love']}", json={"placement": {"x": 0.5}})
    unknown = await api.patch(f"{base}/nope", json={"placement": {"x": 0.5}})
    outside = await api.patch(f"{base}/{ids['sticker']}", json={"placement": {"x": 2}})

    assert (200, {"x": 0.5, "scale": 2.0}) == (
        moved.status_code,
        sim.backend.sticker_placements[ids["sticker"]],
    )
    assert [400, 404, 400] == [error_of(a)[0] for a in (tapback, unknown, outside)]


# -- changed shapes ------------------------------------------------------------------------


async def test_a_subscription_limited_to_lines_gets_only_their_events(
    lines: Simulator, recorder: Recorder
) -> None:
    async with lines.client(token=TOKEN) as api:
        created = await api.post(
            "/v3/webhook-subscriptions",
            json={
                "target_url": WEBHOOK_URL,
                "subscribed_events": ["chat.created"],
                "phone_numbers": [SECOND],
                "routing_key_header": "X-Care-Route",
            },
        )
        duplicate = await api.post(
            "/v3/webhook-subscriptions",
            json={"target_url": WEBHOOK_URL, "subscribed_events": ["chat.created"]},
        )
        await create_chat(api, FIRST, GRANDMA)
        on_second = await create_chat(api, SECOND, AUNT, UNCLE, COUSIN)
        await lines.deliver_webhooks()

    assert ([SECOND], "X-Care-Route") == (
        created.json()["phone_numbers"],
        created.json()["routing_key_header"],
    )
    assert (409, None) == error_of(duplicate)
    assert [on_second["id"]] == [d["id"] for d in delivered(recorder, "chat.created")]


async def test_the_event_list_is_linqs_75_types_with_its_doc_url(api: httpx.AsyncClient) -> None:
    answer = (await api.get("/v3/webhook-events")).json()

    assert (75, True) == (len(answer["events"]), answer["doc_url"].startswith("https://docs."))
    assert {"poll.vote.added", "location.sharing.stopped", "team_member.signed_out"} <= set(
        answer["events"]
    )


async def test_send_by_handle_refuses_a_malformed_exclude_from_and_continuation(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    message = {"parts": [{"type": "text", "value": "Hi"}]}

    bad_line = await api.post(
        "/v3/messages", json={"to": [GRANDMA], "message": message, "exclude_from": ["555"]}
    )
    bad_text = await api.post(
        "/v3/messages",
        json={"to": [GRANDMA], "message": message, "continuation_message": {"text": " "}},
    )

    assert ((400, 1002), (400, 1001), 0) == (
        error_of(bad_line),
        error_of(bad_text),
        len(sim.world.messages),
    )


async def test_a_group_shows_its_icon_and_the_line_its_line_type(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    group = await create_chat(api, sim.phone, AUNT, UNCLE)
    icon = "https://example.org/family.png"
    await api.put(f"/v3/chats/{group['id']}", json={"group_chat_icon": icon})

    got = (await api.get(f"/v3/chats/{group['id']}")).json()

    assert icon == got["group_chat_icon"]
    assert [("iMessage", True)] == [
        (h["line_type"], h["is_me"]) for h in got["handles"] if "line_type" in h
    ]
