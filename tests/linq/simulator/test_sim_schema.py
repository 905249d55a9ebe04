"""Every answer of the simulator fits Linq's published schemas (when the YAML is present).

One scenario calls every documented operation; each answer, success or refusal,
is validated against that operation's documented response. Webhook payloads
are validated against the documented webhook schemas of their version.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import attrs
import httpx
import jsonschema
import pytest
import yaml

from adapters.linq.simulator import Simulator

from ..schema import REFERENCE, LinqSchema
from .support import AUNT, COUSIN, GRANDMA, NURSE, UNCLE, WEBHOOK_URL, Recorder, text_message

DOCUMENTED_OPERATIONS = 30
"""The YAML's 33 minus the three ``/v3/my_cards`` operations Linq has removed."""
NEWER_SHAPES = {("GET", "/v3/webhook-events")}
"""Answers that changed since the YAML (0.65 lists 75 event types, the YAML's enum 18);
the SDK oracle (``tests/linq/sdk_oracle``) holds them to the newer shape instead."""


@attrs.frozen
class Answer:
    method: str
    path: str
    status: int
    body: Any


class Recording:
    """A client wrapper that keeps every answer for validation afterwards."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.answers: list[Answer] = []

    async def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.client.request(method, path, **kwargs)
        body = response.json() if response.content else None
        self.answers.append(
            Answer(
                method, response.url.path.removeprefix("/api/partner"), response.status_code, body
            )
        )
        return body


async def _every_operation(call: Recording, sim: Simulator) -> None:
    phone = sim.phone
    chat = (
        await call(
            "POST",
            "/v3/chats",
            json={"from": phone, "to": [GRANDMA], "message": text_message("Morning")},
        )
    )["chat"]
    chat_id, first_id = chat["id"], chat["message"]["id"]
    await call("GET", "/v3/chats", params={"from": phone})
    await call("GET", f"/v3/chats/{chat_id}")
    group = (
        await call(
            "POST",
            "/v3/chats",
            json={"from": phone, "to": [AUNT, UNCLE, COUSIN], "message": text_message("Hi all")},
        )
    )["chat"]
    await call("PUT", f"/v3/chats/{group['id']}", json={"display_name": "Care team"})
    await call("POST", f"/v3/chats/{group['id']}/participants", json={"handle": GRANDMA})
    await call("DELETE", f"/v3/chats/{group['id']}/participants", json={"handle": UNCLE})
    await call("POST", f"/v3/chats/{chat_id}/typing")
    await call("DELETE", f"/v3/chats/{chat_id}/typing")
    await call("POST", f"/v3/chats/{chat_id}/read")
    await call("POST", f"/v3/chats/{chat_id}/share_contact_card")
    announced = await call(
        "POST",
        "/v3/attachments",
        json={"filename": "plan.pdf", "content_type": "application/pdf", "size_bytes": 4},
    )
    async with httpx.AsyncClient(transport=sim.transport()) as store:
        await store.put(
            announced["upload_url"], content=b"%PDF", headers=announced["required_headers"]
        )
    await call("GET", f"/v3/attachments/{announced['attachment_id']}")
    rich = {
        "parts": [
            {"type": "text", "value": "Your plan"},
            {"type": "media", "attachment_id": announced["attachment_id"]},
            {"type": "text", "value": "and a photo"},
            {"type": "media", "url": "https://example.org/photo.jpg"},
        ],
        "effect": {"screen_effect": "confetti"},
        "reply_to": {"message_id": first_id},
        "idempotency_key": "plan-1",
    }
    sent = await call("POST", f"/v3/chats/{chat_id}/messages", json={"message": rich})
    sent_id = sent["message"]["id"]
    await call(
        "POST", f"/v3/messages/{sent_id}/reactions", json={"operation": "add", "type": "love"}
    )
    inbound = sim.inject_inbound_text(GRANDMA, "Thank you!")
    sim.inject_reaction(GRANDMA, sent_id, "like")
    await call(
        "POST",
        f"/v3/messages/{inbound.id}/reactions",
        json={"operation": "add", "type": "custom", "custom_emoji": "🌷"},
    )
    await call(
        "POST",
        f"/v3/chats/{chat_id}/voicememo",
        json={"from": phone, "voice_memo_url": "https://example.org/memo.m4a"},
    )
    await sim.advance(5)
    await call("GET", f"/v3/chats/{chat_id}/messages")
    await call("GET", f"/v3/messages/{sent_id}/thread")
    await call("GET", f"/v3/messages/{sent_id}")
    await call("PATCH", f"/v3/messages/{sent_id}", json={"part_index": 0, "text": "Your new plan"})
    await call("DELETE", f"/v3/messages/{first_id}")
    await call("GET", "/v3/phonenumbers")
    await call("GET", "/v3/phone_numbers")
    await call("GET", "/v3/webhook-events")
    subscription = await call(
        "POST",
        "/v3/webhook-subscriptions",
        json={"target_url": WEBHOOK_URL, "subscribed_events": ["message.received"]},
    )
    await call("GET", "/v3/webhook-subscriptions")
    await call("GET", f"/v3/webhook-subscriptions/{subscription['id']}")
    await call("PUT", f"/v3/webhook-subscriptions/{subscription['id']}", json={"is_active": False})
    await call("DELETE", f"/v3/webhook-subscriptions/{subscription['id']}")
    await call("POST", "/v3/capability/check_imessage", json={"address": GRANDMA})
    await call("POST", "/v3/capability/check_rcs", json={"address": NURSE})


async def _refusals(call: Recording, sim: Simulator) -> None:
    await call(
        "POST", "/v3/chats", json={"from": sim.phone, "to": ["555"], "message": text_message()}
    )
    await call("GET", "/v3/chats/not-a-chat")
    await call("GET", "/v3/messages/not-a-message")
    sim.make_capability_unknown(NURSE)
    await call("POST", "/v3/capability/check_rcs", json={"address": NURSE})
    async with sim.client(token="wrong") as stranger:
        refused = Recording(stranger)
        await refused("GET", "/v3/phone_numbers")
    call.answers.extend(refused.answers)


async def test_every_documented_operation_answers_in_its_documented_shape(
    linq_schema: LinqSchema, api: httpx.AsyncClient, sim: Simulator
) -> None:
    call = Recording(api)
    await _every_operation(call, sim)
    await _refusals(call, sim)
    documented = set()
    for answer in call.answers:
        if linq_schema.has(answer.method, answer.path):
            operation = (answer.method, linq_schema.template(answer.method, answer.path))
            if operation not in NEWER_SHAPES:
                linq_schema.validate_response(
                    answer.method, answer.path, answer.status, answer.body
                )
            if answer.status < 300:
                documented.add(operation)
    assert DOCUMENTED_OPERATIONS == len(documented)
    assert {400, 401, 404, 503} <= {a.status for a in call.answers}


def _allow_null(node: Any) -> Any:
    if isinstance(node, list):
        return [_allow_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _allow_null(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.mark.parametrize(("version", "suffix"), [("2025-01-01", "v2025"), ("2026-02-03", "v2026")])
async def test_every_webhook_payload_fits_the_documented_schema_of_its_version(
    linq_schema: LinqSchema,
    api: httpx.AsyncClient,
    sim: Simulator,
    recorder: Recorder,
    version: str,
    suffix: str,
) -> None:
    document = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    schemas = _allow_null(copy.deepcopy(document["components"]["schemas"]))
    sim.subscribe(f"{WEBHOOK_URL}?version={version}")
    await _every_operation(Recording(api), sim)
    await api.post(
        "/v3/chats",
        json={
            "from": sim.phone,
            "to": ["+16515550103"],
            "message": text_message(preferred_service="iMessage"),
        },
    )
    await sim.advance(120)
    checked = set()
    for delivery in recorder.received:
        payload = json.loads(delivery.body)
        key = f"{payload['event_type']}.{suffix}"
        if key not in document["webhooks"]:
            continue  # newer than the YAML (message.edited)
        body = document["webhooks"][key]["post"]["requestBody"]["content"]["application/json"]
        schema = {"$ref": body["schema"]["$ref"], "components": {"schemas": schemas}}
        jsonschema.Draft202012Validator(schema).validate(payload)
        checked.add(payload["event_type"])
    assert {
        "message.sent",
        "message.received",
        "message.delivered",
        "message.failed",
        "reaction.added",
        "participant.added",
        "participant.removed",
        "chat.created",
        "chat.group_name_updated",
    } <= checked
