"""Fuzz: the receiver over validly signed, bent copies of every real delivery we hold.

``tests/linq/receiver`` already throws random methods, headers and bodies at
the raw ASGI app. What it cannot reach is the part behind the signature check:
here each delivery is a real fixture (every event type, both payload versions)
with values replaced or keys removed, signed as Linq would, and posted through
``httpx.ASGITransport``. Whatever the body, the answer is 200 or 400, the
handler runs exactly when the answer says ``handled``, a redelivery never runs
it again, and a delivery whose envelope is intact is never refused (a refused
delivery is lost once Linq stops retrying).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.linq.asgi import WebhookReceiver
from adapters.linq.webhook_events import parse_delivery
from adapters.linq.webhooks import WebhookVerifier, sign_legacy, sign_standard
from caresupport_transport.errors import ProtocolError
from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound import InboundDispatcher, MemoryEventStore

from .strategies import json_values, near, paths

SECRET = "whsec_ZnV6ei1yZWNlaXZlci1zZWNyZXQtMzI="
NOW = 1_780_000_000
FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "webhooks").glob("*/*.json"))
ENVELOPE_KEYS = ("api_version", "webhook_version", "event_type", "event_id", "created_at")


def load(path: Path) -> Any:
    return json.loads(path.read_text())


class Recorder:
    def __init__(self) -> None:
        self.handled: list[InboundEvent] = []

    async def __call__(self, event: InboundEvent) -> None:
        self.handled.append(event)


async def deliver_twice(body: bytes, legacy: bool) -> tuple[list[tuple[int, str]], int]:
    """Post ``body`` twice, signed; the (status, outcome) answers and the handler's calls."""
    handler = Recorder()
    verifier = WebhookVerifier(SECRET, clock=lambda: NOW)
    receiver = WebhookReceiver(verifier, InboundDispatcher(handler, MemoryEventStore()))
    if legacy:
        headers = sign_legacy(body, SECRET, timestamp=NOW)
    else:
        headers = sign_standard(body, SECRET, msg_id="msg_fuzz_1", timestamp=NOW)
    answers = []
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as http:
        for _ in range(2):
            response = await http.post("/linq/webhooks", content=body, headers=headers)
            answer = response.json()
            answers.append((response.status_code, answer.get("status") or answer.get("error")))
    return answers, len(handler.handled)


FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(fixture=st.sampled_from(FIXTURES), legacy=st.booleans(), data=st.data())
async def test_a_signed_bent_delivery_is_handled_once_or_refused_never_a_crash(
    fixture: Path, legacy: bool, data: st.DataObject
) -> None:
    payload = data.draw(near(load(fixture), changes=3))
    body = json.dumps(payload).encode()

    answers, calls = await deliver_twice(body, legacy)

    (first_status, first), (second_status, second) = answers
    assert first_status in {200, 400}
    assert first_status == second_status
    if first_status == 400:
        assert ("not a delivery", 0) == (first, calls)
        try:
            parse_delivery(body)
        except ProtocolError:
            pass
        else:
            raise AssertionError("the receiver refused a body the parser accepts")
    elif first == "handled":
        assert (1, "duplicate") == (calls, second)
    else:
        assert ("filtered", 0) == (first, calls)


def data_paths(payload: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [path for path in paths(payload) if len(path) >= 2 and path[0] == "data"]


@FUZZ
@given(fixture=st.sampled_from(FIXTURES), legacy=st.booleans(), data=st.data())
async def test_a_signed_delivery_with_an_intact_envelope_is_never_refused(
    fixture: Path, legacy: bool, data: st.DataObject
) -> None:
    """Whatever is wrong inside ``data``, the event is acknowledged (as an UnknownEvent
    when it cannot be modelled), so Linq does not give up on it."""
    payload = load(fixture)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        inside = data_paths(payload)
        if not inside:
            break
        path = data.draw(st.sampled_from(inside))
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values)
    body = json.dumps(payload).encode()

    answers, calls = await deliver_twice(body, legacy)

    assert [200, 200] == [status for status, _ in answers]
    assert calls <= 1
    assert all(payload[key] == load(fixture)[key] for key in ENVELOPE_KEYS if key in payload)


def test_every_payload_version_and_event_type_is_fuzzed() -> None:
    versions = {path.parent.name for path in FIXTURES}
    kinds = {load(path)["event_type"] for path in FIXTURES}

    assert {"2025-01-01", "2026-02-03"} == versions
    assert {"message.received", "message.failed", "reaction.added", "chat.created"} <= kinds
