"""Drive the simulator through Linq's own SDK (linq-python 0.65) with strict response validation.

Run as ``python -m tests.linq.sdk_oracle.oracle`` from the repository root (it
prints its findings as JSON): inside pytest the package ``tests/linq`` takes
the top-level name ``linq``, so the SDK cannot be imported there.

Every route the simulator serves has one SDK call here (:data:`OPERATIONS`);
:func:`run_operations` makes them all against a fresh simulator and records,
per route, whether the SDK accepted the answer. :func:`run_deliveries` makes
the simulator send every event type it can, in both payload versions, and
checks each delivery with the SDK's webhook verification and the event
type's own model. Setup (the chats and messages an operation acts on) goes
over plain HTTP, so one refused answer never hides another.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import attrs
import httpx
import pydantic

import linq.types
from adapters.linq.event_types import ALL_EVENT_TYPES
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from caresupport_transport.events import ConversationUpdated, LineReputation, LineStatus
from linq import AsyncLinqAPIV3

from ..simulator.support import (
    AUNT,
    COUSIN,
    DAUGHTER,
    GRANDMA,
    NURSE,
    SON,
    UNCLE,
    FakeSleep,
    Recorder,
    populate,
)

__all__ = ["OPERATIONS", "Outcome", "run_deliveries", "run_operations"]

WEBHOOK_URL = "http://127.0.0.1:9000/linq/webhooks"
TOKEN = "oracle-token"
LINE = "+15550100000"
SECOND_LINE = "+15550100001"
"""A line with no contact card and no audit yet, for the operations that create them."""
VERSIONS = ("2025-01-01", "2026-02-03")


@attrs.frozen
class Outcome:
    """Whether the SDK accepted one answer, and if not, why (its error, shortened)."""

    accepted: bool
    detail: str = ""


@attrs.define
class Setup:
    """What the operations act on, made over plain HTTP before the SDK is asked."""

    sim: Simulator
    api: httpx.AsyncClient
    values: dict[str, str] = attrs.Factory(dict)

    async def chat(self, *to: str, text: str = "Hello") -> dict[str, Any]:
        answer = await self.api.post(
            "/v3/chats",
            json={"from": self.sim.phone, "to": list(to), "message": _text(text)},
        )
        assert answer.status_code == 201, answer.text
        chat: dict[str, Any] = answer.json()["chat"]
        return chat


def _text(text: str) -> dict[str, Any]:
    return {"parts": [{"type": "text", "value": text}]}


Operation = Callable[[AsyncLinqAPIV3, Setup], Awaitable[object]]


async def _prepare(setup: Setup) -> None:
    """Chats, messages, an upload, a subscription, a card, a sticker and a share to act on."""
    sim, api, v = setup.sim, setup.api, setup.values
    direct = await setup.chat(GRANDMA, text="Morning")
    v["chat"], v["message"] = direct["id"], direct["message"]["id"]
    v["group"] = (await setup.chat(AUNT, UNCLE, COUSIN, text="Hi all"))["id"]
    v["leave_group"] = (await setup.chat(AUNT, UNCLE, DAUGHTER, text="Plans"))["id"]
    v["to_delete"] = (await setup.chat(NURSE, text="Shift at 7"))["message"]["id"]
    inbound = sim.inject_inbound_text(GRANDMA, "Thank you!")
    v["inbound"] = inbound.id
    sim.inject_reaction(GRANDMA, v["message"], "sticker")
    await sim.advance(5)
    message = (await api.get(f"/v3/messages/{v['message']}")).json()
    v["sticker"] = message["parts"][0]["reactions"][0]["id"]
    v["card"] = sim.send_app_card(v["chat"], "Ride on Tuesday").id
    poll = (
        await api.post(
            f"/v3/chats/{v['chat']}/polls",
            json={"poll": {"options": [{"text": "Mon 9am"}, {"text": "Mon 2pm"}]}},
        )
    ).json()
    v["poll"], v["poll_option"] = poll["message_id"], poll["poll"]["options"][0]["option_id"]
    announced = (
        await api.post(
            "/v3/attachments",
            json={"filename": "plan.pdf", "content_type": "application/pdf", "size_bytes": 4},
        )
    ).json()
    async with httpx.AsyncClient(transport=sim.transport()) as store:
        await store.put(
            announced["upload_url"], content=b"%PDF", headers=announced["required_headers"]
        )
    v["attachment"] = announced["attachment_id"]
    subscription = (
        await api.post(
            "/v3/webhook-subscriptions",
            json={"target_url": f"{WEBHOOK_URL}/setup", "subscribed_events": ["message.sent"]},
        )
    ).json()
    v["subscription"] = subscription["id"]
    v["line_id"] = (await api.get("/v3/phone_numbers")).json()["phone_numbers"][0]["id"]
    audit = (await api.post(f"/v3/phone_numbers/{sim.phone}/reputation_audit")).json()
    v["audit"] = audit["audit_id"]
    sim.share_location(GRANDMA, 44.95, -93.09, chat_id=v["chat"], locality="Saint Paul")
    v["sharing_chat"] = v["chat"]
    v["location_chat"] = (await setup.chat(DAUGHTER, text="Hi"))["id"]
    await sim.advance(60)  # the card is sent, the audit is done


def _message() -> dict[str, Any]:
    return {"parts": [{"type": "text", "value": "See you at 3"}]}


OPERATIONS: dict[str, Operation] = {
    # chats
    "POST /v3/chats": lambda c, s: c.chats.create(
        from_=s.sim.phone,
        to=[SON],
        message=_message(),  # type: ignore[arg-type]
    ),
    "GET /v3/chats": lambda c, s: c.chats.list_chats(from_=s.sim.phone),
    "GET /v3/chats/{chatId}": lambda c, s: c.chats.retrieve(s.values["chat"]),
    "PUT /v3/chats/{chatId}": lambda c, s: c.chats.update(s.values["group"], display_name="Care"),
    "POST /v3/chats/{chatId}/participants": lambda c, s: c.chats.participants.add(
        s.values["group"], handle=GRANDMA
    ),
    "DELETE /v3/chats/{chatId}/participants": lambda c, s: c.chats.participants.remove(
        s.values["group"], handle=GRANDMA
    ),
    "POST /v3/chats/{chatId}/typing": lambda c, s: c.chats.typing.start(s.values["chat"]),
    "DELETE /v3/chats/{chatId}/typing": lambda c, s: c.chats.typing.stop(s.values["chat"]),
    "POST /v3/chats/{chatId}/read": lambda c, s: c.chats.mark_as_read(s.values["chat"]),
    "POST /v3/chats/{chatId}/share_contact_card": lambda c, s: c.chats.share_contact_card(
        s.values["chat"]
    ),
    "POST /v3/chats/{chatId}/leave": lambda c, s: c.chats.leave_chat(s.values["leave_group"]),
    "POST /v3/chats/{chatId}/location/request": lambda c, s: c.chats.location.request(
        s.values["location_chat"]
    ),
    "GET /v3/chats/{chatId}/location": lambda c, s: c.chats.location.retrieve(
        s.values["sharing_chat"]
    ),
    "DELETE /v3/chats/{chatId}/location": lambda c, s: c.chats.location.stop(
        s.values["sharing_chat"], handle=GRANDMA
    ),
    "POST /v3/chats/{chatId}/background": lambda c, s: c.chats.background.set(
        s.values["chat"], type="dynamic", style="aurora", variant="green"
    ),
    "DELETE /v3/chats/{chatId}/background": lambda c, s: c.chats.background.remove(
        s.values["chat"]
    ),
    # messages
    "POST /v3/chats/{chatId}/messages": lambda c, s: c.chats.messages.send(
        s.values["chat"],
        message=_message(),  # type: ignore[arg-type]
    ),
    "GET /v3/chats/{chatId}/messages": lambda c, s: c.chats.messages.list(s.values["chat"]),
    "POST /v3/chats/{chatId}/voicememo": lambda c, s: c.chats.send_voicememo(
        s.values["chat"], voice_memo_url="https://example.org/memo.m4a"
    ),
    "POST /v3/messages": lambda c, s: c.messages.create(
        to=[GRANDMA],
        message=_message(),
        idempotency_key="oracle-1",  # type: ignore[arg-type]
    ),
    "GET /v3/messages/{messageId}": lambda c, s: c.messages.retrieve(s.values["message"]),
    "PATCH /v3/messages/{messageId}": lambda c, s: c.messages.update(
        s.values["message"], text="See you at 4", part_index=0
    ),
    "DELETE /v3/messages/{messageId}": lambda c, s: c.messages.delete(s.values["to_delete"]),
    "GET /v3/messages/{messageId}/thread": lambda c, s: c.messages.list_messages_thread(
        s.values["message"]
    ),
    "POST /v3/messages/{messageId}/reactions": lambda c, s: c.messages.add_reaction(
        s.values["inbound"], operation="add", type="love"
    ),
    "POST /v3/messages/{messageId}/update": lambda c, s: c.messages.update_app_card(
        s.values["card"], layout={"caption": "Ride on Wednesday"}
    ),
    "PATCH /v3/messages/{messageId}/reactions/{reactionId}": (
        lambda c, s: c.messages.update_sticker_placement(
            s.values["sticker"], message_id=s.values["message"], placement={"x": 0.5, "scale": 1}
        )
    ),
    # attachments
    "POST /v3/attachments": lambda c, s: c.attachments.create(
        filename="scan.png", content_type="image/png", size_bytes=1024
    ),
    "GET /v3/attachments/{attachmentId}": lambda c, s: c.attachments.retrieve(
        s.values["attachment"]
    ),
    "DELETE /v3/attachments/{attachmentId}": lambda c, s: c.attachments.delete(
        s.values["attachment"]
    ),
    # lines
    "GET /v3/phone_numbers": lambda c, s: c.phone_numbers.list(),
    "GET /v3/phonenumbers": lambda c, s: c.phonenumbers.list(),
    "PUT /v3/phone_numbers/{phoneNumberId}": lambda c, s: c.phone_numbers.update(
        s.values["line_id"], forwarding_number=GRANDMA
    ),
    "POST /v3/phone_numbers/{phoneNumber}/reputation_audit": (
        lambda c, s: c.phone_numbers.start_reputation_audit(SECOND_LINE)
    ),
    "GET /v3/phone_numbers/{phoneNumber}/reputation_audit/{auditId}": (
        lambda c, s: c.phone_numbers.get_reputation_audit(
            s.values["audit"], phone_number=s.sim.phone
        )
    ),
    "GET /v3/available_number": lambda c, s: c.available_number.retrieve(to=[GRANDMA]),
    "GET /v3/experiences": lambda c, s: c.experiences.list(),
    "GET /v3/experiences/{experience}": lambda c, s: c.experiences.retrieve("link"),
    # capability and contact cards
    "POST /v3/capability/check_imessage": lambda c, s: c.capability.check_i_message(
        address=GRANDMA
    ),
    "POST /v3/capability/check_rcs": lambda c, s: c.capability.check_RCS(address=NURSE),
    "GET /v3/contact_card": lambda c, s: c.contact_card.retrieve(phone_number=s.sim.phone),
    "POST /v3/contact_card": lambda c, s: c.contact_card.create(
        first_name="Care", phone_number=SECOND_LINE
    ),
    "PATCH /v3/contact_card": lambda c, s: c.contact_card.update(
        phone_number=s.sim.phone, first_name="Care Team"
    ),
    # webhooks
    "GET /v3/webhook-events": lambda c, s: c.webhook_events.list(),
    "POST /v3/webhook-subscriptions": lambda c, s: c.webhook_subscriptions.create(
        target_url=f"{WEBHOOK_URL}/oracle",
        subscribed_events=["message.received"],
        phone_numbers=[s.sim.phone],
        routing_key_header="X-Care-Route",
    ),
    "GET /v3/webhook-subscriptions": lambda c, s: c.webhook_subscriptions.list(),
    "GET /v3/webhook-subscriptions/{subscriptionId}": (
        lambda c, s: c.webhook_subscriptions.retrieve(s.values["subscription"])
    ),
    "PUT /v3/webhook-subscriptions/{subscriptionId}": lambda c, s: c.webhook_subscriptions.update(
        s.values["subscription"], is_active=False
    ),
    "DELETE /v3/webhook-subscriptions/{subscriptionId}": (
        lambda c, s: c.webhook_subscriptions.delete(s.values["subscription"])
    ),
    # blocked handles and polls
    "GET /v3/blocked_handles": lambda c, s: c.blocked_handles.list(),
    "POST /v3/blocked_handles": lambda c, s: c.blocked_handles.block(handle=SON),
    "DELETE /v3/blocked_handles": lambda c, s: c.blocked_handles.unblock(handle=SON),
    "POST /v3/chats/{chatId}/polls": lambda c, s: c.chats.polls.create(
        s.values["chat"], poll={"options": [{"text": "Tue 9am"}, {"text": "Tue 2pm"}]}
    ),
    "GET /v3/messages/{messageId}/poll": lambda c, s: c.messages.poll.retrieve(s.values["poll"]),
    "POST /v3/messages/{messageId}/poll/options": lambda c, s: c.messages.poll.add_options(
        s.values["poll"], options=[{"text": "Wed 9am"}]
    ),
    "POST /v3/messages/{messageId}/poll/votes": lambda c, s: c.messages.poll.vote(
        s.values["poll"], operation="add", option_id=s.values["poll_option"]
    ),
}


def _short(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return re.sub(r"\s+", " ", text)[:300]


def make_simulator(recorder: Recorder) -> Simulator:
    """A populated simulator that signs deliveries with the real clock (the SDK checks it)."""
    sim = Simulator(
        tokens={TOKEN: (LINE, SECOND_LINE)},
        sleep=FakeSleep(),
        webhook_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=recorder)),
        clock=time.time,
        seed=7,
    )
    populate(sim)
    del sim.backend.contact_cards[SECOND_LINE]
    return sim


def sdk_client(sim: Simulator) -> AsyncLinqAPIV3:
    return AsyncLinqAPIV3(
        api_key=sim.token,
        base_url=IN_PROCESS_BASE_URL,
        http_client=httpx.AsyncClient(transport=sim.transport()),
        max_retries=0,
        _strict_response_validation=True,
    )


async def run_operations() -> dict[str, Outcome]:
    """Route key -> whether the SDK accepted the simulator's answer, for every operation."""
    outcomes: dict[str, Outcome] = {}
    sim = make_simulator(Recorder())
    async with sim, sim.client() as api:
        setup = Setup(sim, api)
        await _prepare(setup)
        async with sdk_client(sim) as sdk:
            for key, operation in OPERATIONS.items():
                try:
                    await operation(sdk, setup)
                except Exception as error:  # the SDK's own errors: recorded, not raised
                    outcomes[key] = Outcome(False, _short(error))
                else:
                    outcomes[key] = Outcome(True)
    return outcomes


def model_of(event_type: str) -> type[pydantic.BaseModel] | None:
    """``linq.types.<Type>WebhookEvent`` for an event type (``None`` when the SDK has none)."""
    name = "".join(word.capitalize() for word in re.split(r"[._]", event_type))
    model = getattr(linq.types, f"{name}WebhookEvent", None)
    return model if isinstance(model, type) and issubclass(model, pydantic.BaseModel) else None


async def _cause_every_event(sim: Simulator, setup: Setup) -> None:
    """Make the simulator send each event type it knows at least once."""
    api = setup.api
    direct = await setup.chat(GRANDMA, text="Morning")  # chat.created, message.sent/delivered
    sim.inject_inbound_text(GRANDMA, "Thank you!")  # message.received
    await sim.advance(30)
    message_id = direct["message"]["id"]
    await api.post(f"/v3/chats/{direct['id']}/read")  # message.read (inbound read by us)
    await api.patch(f"/v3/messages/{message_id}", json={"text": "Morning!", "part_index": 0})
    await api.post(
        f"/v3/messages/{message_id}/reactions", json={"operation": "add", "type": "love"}
    )
    await api.post(
        f"/v3/messages/{message_id}/reactions", json={"operation": "remove", "type": "love"}
    )
    sim.inject_typing(GRANDMA, direct["id"])
    sim.inject_typing(GRANDMA, direct["id"], typing=False)
    group = await setup.chat(AUNT, UNCLE, COUSIN, text="Hi all")
    await api.post(f"/v3/chats/{group['id']}/participants", json={"handle": DAUGHTER})
    await api.request("DELETE", f"/v3/chats/{group['id']}/participants", json={"handle": DAUGHTER})
    await api.put(f"/v3/chats/{group['id']}", json={"display_name": "Care team"})
    await api.put(
        f"/v3/chats/{group['id']}", json={"group_chat_icon": "https://example.org/icon.png"}
    )
    world = sim.world
    for change in ("name", "icon"):
        world.outbox.append(
            ConversationUpdated(f"evt-failed-{change}", world.now, group["id"], change, failed=True)
        )
    sim.fail_next_send(SON)
    await setup.chat(SON, text="Are you coming?")  # message.failed
    await api.post(
        f"/v3/chats/{direct['id']}/background", json={"type": "color", "variant": "mango"}
    )
    sim.share_location(GRANDMA, 44.95, -93.09, chat_id=direct["id"])
    sim.stop_sharing_location(GRANDMA)
    line_id = (await api.get("/v3/phone_numbers")).json()["phone_numbers"][0]["id"]
    await api.put(f"/v3/phone_numbers/{line_id}", json={"forwarding_number": GRANDMA})
    await sim.advance(120)
    await _cause_the_2026_events(sim, setup, direct["id"])


async def _cause_the_2026_events(sim: Simulator, setup: Setup, chat_id: str) -> None:
    """Polls, a participant's edit, a reconciled and a recovered message, cards, line status."""
    api, world = setup.api, sim.world
    inbound = sim.inject_inbound_text(GRANDMA, "See you soon")
    sim.inject_edit(inbound.id, "See you at 3")  # message.edited, direction inbound
    sim.inject_reconciled(GRANDMA, "Sent yesterday", sent_at=world.now - timedelta(hours=1))
    poll = (
        await api.post(
            f"/v3/chats/{chat_id}/polls",
            json={"poll": {"options": [{"text": "Mon 9am"}, {"text": "Mon 2pm"}]}},
        )
    ).json()  # poll.sent, poll.delivered, poll.read
    await sim.advance(120)
    poll_id, option = poll["message_id"], poll["poll"]["options"][0]["option_id"]
    sim.inject_vote(GRANDMA, poll_id, option)  # poll.vote.added
    sim.inject_vote(GRANDMA, poll_id, option, remove=True)  # poll.vote.removed
    await api.post(f"/v3/messages/{poll_id}/poll/options", json={"options": [{"text": "Wed"}]})
    sim.inject_poll(GRANDMA, ["Pizza", "Soup"])  # poll.received
    sim.fail_next_send(GRANDMA)
    await api.post(
        f"/v3/chats/{chat_id}/polls",
        json={"poll": {"options": [{"text": "Tue 9am"}, {"text": "Tue 2pm"}]}},
    )  # poll.failed
    sim.fail_next_send(GRANDMA)
    failed = await api.post(f"/v3/chats/{chat_id}/messages", json={"message": _text("Bye")})
    await sim.advance(30)
    sim.deliver_after_failure(failed.json()["message"]["id"])  # delivered after failed
    sim.share_contact_card_with_line(GRANDMA, "Ingrid", "Berg")  # contact_card.received
    sim.set_line_status(LineStatus.FLAGGED, LineReputation.AT_RISK)  # phone_number.status_updated
    # webhook_subscription.disabled|enabled|deleted, of a subscription made on Linq's dashboard
    for change in ({"enabled": False}, {"enabled": True}, {"enabled": False, "deleted": True}):
        world.set_webhook_subscription("dashboard-subscription", **change)
    sim.backend.sync()
    await sim.advance(120)


@attrs.frozen
class Delivery:
    """One signed delivery: its type, version, and what the SDK made of it."""

    event_type: str
    version: str
    verified: bool
    unwrapped_as: str
    validated: bool
    detail: str = ""


async def run_deliveries() -> list[Delivery]:
    """Every delivery of every event type the simulator sends, in both versions, checked."""
    recorder = Recorder()
    sim = make_simulator(recorder)
    secrets: dict[str, str] = {}
    async with sim, sim.client() as api:
        for version in VERSIONS:
            created = (
                await api.post(
                    "/v3/webhook-subscriptions",
                    json={
                        "target_url": f"{WEBHOOK_URL}?version={version}",
                        "subscribed_events": list(ALL_EVENT_TYPES),
                    },
                )
            ).json()
            secrets[version] = created["signing_secret"]
        await _cause_every_event(sim, Setup(sim, api))
        async with sdk_client(sim) as sdk:
            return [_check(sdk, secrets, received) for received in recorder.received]


def _check(sdk: AsyncLinqAPIV3, secrets: dict[str, str], received: Any) -> Delivery:
    payload = json.loads(received.body)
    event_type, version = payload["event_type"], payload["webhook_version"]
    raw = received.body.decode()
    try:
        unwrapped = sdk.webhooks.unwrap(raw, headers=received.headers, key=secrets[version])
    except Exception as error:
        return Delivery(event_type, version, False, "", False, _short(error))
    model = model_of(event_type)
    if model is None:
        return Delivery(event_type, version, True, type(unwrapped).__name__, False, "no model")
    try:
        # unwrap builds its union without validating, and picks one class for every
        # event: the event type's own model is what holds the payload to the SDK's shape.
        model.model_validate_json(raw)
    except pydantic.ValidationError as error:
        return Delivery(event_type, version, True, type(unwrapped).__name__, False, _short(error))
    return Delivery(event_type, version, True, type(unwrapped).__name__, True)


async def _main() -> dict[str, Any]:
    operations = await run_operations()
    found: dict[str, list[Any]] = {}
    for delivery in await run_deliveries():
        key = f"{delivery.event_type}@{delivery.version}"
        seen = found.get(key)
        # Every delivery counts (a reconciled message is a later message.received):
        # a key keeps its first refusal, else its first delivery.
        if seen is None or (seen[0] and seen[1] and not (delivery.verified and delivery.validated)):
            found[key] = [
                delivery.verified,
                delivery.validated,
                delivery.unwrapped_as,
                delivery.detail,
            ]
    return {
        "operations": {key: [o.accepted, o.detail] for key, o in operations.items()},
        "deliveries": found,
    }


if __name__ == "__main__":
    # Run as its own process: under pytest the top-level name ``linq`` is tests/linq.
    import asyncio

    print(json.dumps(asyncio.run(_main())))
