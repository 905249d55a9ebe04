"""The console over HTTP (no browser): who may ask, what actions refuse, what is never shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.linq.simulator import Simulator
from adapters.linq.simulator.console import FAULT_SWITCHES, export_pytest
from adapters.linq.simulator.console.snapshot import public_target
from adapters.memory import RecipientKind
from caresupport_transport import (
    Degradation,
    DegradationAction,
    DeliveryStatus,
    Feature,
    Handle,
    OutgoingMessage,
    SendReceipt,
    Service,
)
from caresupport_transport.inbound import MemoryEventStore
from caresupport_transport.inbound.inbox_entry import InboxEntry, InboxState
from caresupport_transport.outbound import Outbox

PERSON = "+16515550101"
SECRET = "whsec_c2VjcmV0LWtleS1mb3ItdGhlLWNvbnNvbGU="
ACT = {"X-Console": "1"}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(seed=5) as simulator:
        simulator.add_recipient(PERSON, RecipientKind.IMESSAGE)
        yield simulator


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://127.0.0.1") as c:
        yield c


async def test_the_page_and_its_state_carry_neither_the_token_nor_a_signing_secret(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.subscribe("http://127.0.0.1:9/hooks?version=2026-02-03&key=private", secret=SECRET)
    sim.inject_inbound_text(PERSON, "hello")
    bodies = [(await http.get(path)).text for path in ("/console", "/console/api/state")]
    bodies.append((await http.get("/console/static/console.js")).text)
    for body in bodies:
        assert sim.token not in body
        assert SECRET not in body
        assert "private" not in body
    assert "hello" in bodies[1]


async def test_the_page_forbids_inline_scripts_and_framing(http: httpx.AsyncClient) -> None:
    response = await http.get("/console")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script>" not in response.text


@pytest.mark.parametrize("host", ["attacker.example", "192.168.1.20", "10.0.0.1:8787"])
async def test_a_request_naming_a_host_off_loopback_is_refused(sim: Simulator, host: str) -> None:
    async with httpx.AsyncClient(transport=sim.transport(), base_url=f"http://{host}") as c:
        assert (await c.get("/console/api/state")).status_code == 403
        answer = await c.post("/console/api/send", json={"from": PERSON, "text": "x"}, headers=ACT)
    assert answer.status_code == 403
    assert sim.world.messages == {}


async def test_allow_remote_serves_a_host_off_loopback(sim: Simulator) -> None:
    sim.console.allow_remote = True
    async with httpx.AsyncClient(transport=sim.transport(), base_url="http://10.0.0.1") as c:
        assert (await c.get("/console/api/state")).status_code == 200


async def test_an_action_without_the_console_header_changes_nothing(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    answer = await http.post("/console/api/send", json={"from": PERSON, "text": "forged"})
    assert answer.status_code == 403
    assert sim.world.messages == {}


async def test_sending_as_a_person_delivers_a_signed_webhook_to_the_subscriber(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    sim.deliverer.client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    sim.subscribe("http://127.0.0.1:9/hooks", secret=SECRET)
    answer = await http.post(
        "/console/api/send",
        json={"from": PERSON, "text": "Can you call me?", "media_url": "https://x.test/a.jpg"},
        headers=ACT,
    )
    assert answer.status_code == 200
    await sim.console.settle()
    await sim.deliverer.client.aclose()
    [request] = [r for r in received if r.headers["x-webhook-event"] == "message.received"]
    assert "webhook-signature" in request.headers
    assert "x-webhook-signature" in request.headers
    assert b"Can you call me?" in request.content
    assert b"https://x.test/a.jpg" in request.content


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("send", {"from": PERSON}, "text"),
        ("send", {"from": "not a handle", "text": "hi"}, "handle"),
        ("send", {"from": PERSON, "text": "hi", "chat_id": "nope"}, "chat_id"),
        ("send", {"from": PERSON, "media_url": "ftp://x.test/a.jpg"}, "media.url"),
        ("tapback", {"from": PERSON, "message_id": "m", "type": "wave"}, "type"),
        ("person", {"handle": "+16515550109", "kind": "pigeon"}, "kind"),
        ("advance", {"seconds": -1}, "seconds"),
        ("advance", {"seconds": True}, "seconds"),
        ("fault", {"name": "meteor", "on": True}, "name"),
        ("fault", {"name": "429", "on": "yes"}, "on"),
        ("redeliver", {"index": -1}, "index"),
    ],
)
async def test_each_action_refuses_bad_input_naming_the_field(
    sim: Simulator, http: httpx.AsyncClient, action: str, body: dict[str, object], field: str
) -> None:
    answer = await http.post(f"/console/api/{action}", json=body, headers=ACT)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == field
    assert sim.world.messages == {}


async def test_redelivering_a_delivery_that_does_not_exist_is_refused(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post("/console/api/redeliver", json={"index": 3}, headers=ACT)
    assert answer.status_code == 400
    assert "3" in answer.json()["error"]["rule"]


async def test_adding_a_person_and_advancing_the_clock_change_the_world(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    start = sim.world.now
    person = {"handle": "+16515550109", "kind": "rcs"}
    assert (await http.post("/console/api/person", json=person, headers=ACT)).status_code == 200
    assert (await http.post("/console/api/advance", json={"seconds": 90}, headers=ACT)).is_success
    assert sim.world.kind_of(Handle("+16515550109")) is RecipientKind.RCS
    assert (sim.world.now - start).total_seconds() == 90


@pytest.mark.parametrize("name", sorted(FAULT_SWITCHES))
async def test_a_fault_switch_sets_its_rate_and_clears_it(
    sim: Simulator, http: httpx.AsyncClient, name: str
) -> None:
    field, rate = FAULT_SWITCHES[name]
    await http.post("/console/api/fault", json={"name": name, "on": True}, headers=ACT)
    assert getattr(sim.faults.faults, field) == rate
    assert (await http.get("/console/api/state")).json()["faults"] == [name]
    await http.post("/console/api/fault", json={"name": name, "on": False}, headers=ACT)
    assert getattr(sim.faults.faults, field) == 0.0


async def test_the_export_is_a_download_of_valid_python(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.inject_inbound_text(PERSON, 'quote " and \\ backslash')
    response = await http.get("/console/api/export")
    assert "attachment" in response.headers["content-disposition"]
    compile(response.text, "exported.py", "exec")
    assert response.text == export_pytest(sim)


@given(
    host=st.sampled_from(["127.0.0.1", "localhost", "example.org"]),
    path=st.text(alphabet="abc/", max_size=10),
    query=st.text(alphabet="abc=&", max_size=10),
)
def test_a_public_target_never_keeps_a_query_or_credentials(
    host: str, path: str, query: str
) -> None:
    shown = public_target(f"http://user:pw@{host}:9000/{path}?{query}")
    assert "pw" not in shown
    assert "?" not in shown
    assert urlsplit(shown).hostname == host


async def test_the_care_line_shows_what_the_simulator_dropped_and_what_the_receipt_said(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.add_recipient("+16515550103", RecipientKind.SMS_ONLY)
    chat = await http.post(
        "/api/partner/v3/chats",
        json={
            "from": sim.phone,
            "to": ["+16515550103"],
            "message": {"parts": [{"type": "text", "value": "Hello"}]},
        },
        headers={"Authorization": f"Bearer {sim.token}"},
    )
    chat_id = chat.json()["chat"]["id"]
    sent = await http.post(
        f"/api/partner/v3/chats/{chat_id}/messages",
        json={
            "message": {
                "parts": [{"type": "text", "value": "Party!"}],
                "effect": {"type": "screen", "name": "confetti"},
            }
        },
        headers={"Authorization": f"Bearer {sim.token}"},
    )
    message_id = sent.json()["message"]["id"]
    said = Degradation(Feature.TYPING, DegradationAction.SKIPPED, "SMS has no typing indicators")
    sim.console.note_receipt(
        SendReceipt((message_id,), chat_id, Service.SMS, DeliveryStatus.SENT, "k", (said,))
    )
    state = (await http.get("/console/api/state")).json()
    [bubble] = [m for c in state["chats"] for m in c["messages"] if m["id"] == message_id]
    assert bubble["degradations"] == [str(said), "effect dropped: SMS has no effects"]


async def test_without_stores_the_state_has_no_store_views(http: httpx.AsyncClient) -> None:
    assert (await http.get("/console/api/state")).json()["stores"] is None


async def test_the_inbox_view_lists_a_dead_letter_and_replay_puts_it_back_in_line(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    store = MemoryEventStore()
    now = datetime.now(UTC)
    entry = InboxEntry(
        id="evt-1", order_key="chat-1", keys=("event:evt-1",), payload="{}",
        received_at=now, due_at=now,
    )  # fmt: skip
    await store.enqueue(entry, now=now)
    [lease] = await store.take(now=now, until=now + timedelta(minutes=1), limit=1)
    await store.bury(lease, error="KeyError in care_logic")
    sim.console.inbox_store = store
    inbox = (await http.get("/console/api/state")).json()["stores"]["inbox"]
    assert (inbox["dead"], inbox["entries"][0]["id"]) == (1, "evt-1")
    assert inbox["entries"][0]["last_error"] == "KeyError in care_logic"
    answer = await http.post("/console/api/inbox_replay", json={"id": "evt-1"}, headers=ACT)
    assert answer.status_code == 200
    assert (await store.entry("evt-1")).state is InboxState.PENDING  # type: ignore[union-attr]
    missing = await http.post("/console/api/inbox_replay", json={"id": "nope"}, headers=ACT)
    assert missing.status_code == 400


async def test_the_outbox_view_lists_intents_and_pending_jobs_and_retry_requeues(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    store = MemoryEventStore()
    outbox = Outbox(store)
    intent = await outbox.send_message(
        "chat-1", OutgoingMessage.of_text("Pills at 8"), idempotency_key="pills-0800"
    )
    sim.console.outbox_store = store
    view = (await http.get("/console/api/state")).json()["stores"]["outbox"]
    assert [(i["id"], i["state"]) for i in view["intents"]] == [(intent, "queued")]
    assert len(view["deadlines"]) == 1
    assert "Pills" not in str(view)
    answer = await http.post("/console/api/outbox_retry", json={"id": intent}, headers=ACT)
    assert answer.status_code == 200
    view = (await http.get("/console/api/state")).json()["stores"]["outbox"]
    assert len(view["deadlines"]) == 2


async def test_store_actions_without_a_store_are_refused(http: httpx.AsyncClient) -> None:
    for action in ("inbox_replay", "outbox_retry"):
        answer = await http.post(f"/console/api/{action}", json={"id": "x"}, headers=ACT)
        assert answer.status_code == 400
        assert "no" in answer.json()["error"]["rule"]


async def test_a_failed_background_task_is_logged_by_its_class_only(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing() -> None:
        raise KeyError("Astrid's blood pressure")

    sim.console.spawn(failing())
    await sim.console.settle()
    assert "KeyError" in caplog.text
    assert "blood" not in caplog.text
