"""Fuzz: the receiver over bent copies of every real delivery we hold.

``tests/linq/receiver`` already throws random methods, headers and bodies at
the raw ASGI app. What it cannot reach is the part behind the signature check:
here each delivery is a real fixture (every event type, both payload versions)
with values replaced or keys removed, posted through ``httpx.ASGITransport``.

Each test checks what a broken receiver would get wrong:

* signed after bending: the answer is 200 with the handler given exactly the
  event ``parse_delivery`` makes of the body (once; the redelivery is a
  duplicate), 200 ``filtered`` for our own outbound echo (handler not called),
  or 400 with the handler not called, and only for a body the parser refuses;
* bent inside ``data`` only (the envelope intact): never refused, since a
  refused delivery is lost once Linq stops retrying;
* bent after signing: always 401, and the handler never runs.
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
from caresupport_transport.events import InboundEvent, MessageReceived
from caresupport_transport.inbound import InboundDispatcher, MemoryEventStore
from caresupport_transport.model import Direction

from .strategies import json_values, near, paths

SECRET = "whsec_ZnV6ei1yZWNlaXZlci1zZWNyZXQtMzI="
NOW = 1_780_000_000
FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "webhooks").glob("*/*.json"))


def load(path: Path) -> Any:
    return json.loads(path.read_text())


class Recorder:
    def __init__(self) -> None:
        self.handled: list[InboundEvent] = []

    async def __call__(self, event: InboundEvent) -> None:
        self.handled.append(event)


def signed(body: bytes, legacy: bool) -> dict[str, str]:
    if legacy:
        return sign_legacy(body, SECRET, timestamp=NOW)
    return sign_standard(body, SECRET, msg_id="msg_fuzz_1", timestamp=NOW)


async def deliver_twice(
    body: bytes, headers: dict[str, str]
) -> tuple[list[tuple[int, str]], list[InboundEvent]]:
    """Post ``body`` twice; the (status, outcome) answers and the events the handler got."""
    handler = Recorder()
    verifier = WebhookVerifier(SECRET, clock=lambda: NOW)
    receiver = WebhookReceiver(verifier, InboundDispatcher(handler, MemoryEventStore()))
    answers = []
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as http:
        for _ in range(2):
            response = await http.post("/linq/webhooks", content=body, headers=headers)
            answer = response.json()
            answers.append((response.status_code, answer.get("status") or answer.get("error")))
    return answers, handler.handled


def parsed_or_none(body: bytes) -> InboundEvent | None:
    try:
        return parse_delivery(body)
    except ProtocolError:
        return None


def is_outbound_echo(event: InboundEvent) -> bool:
    return isinstance(event, MessageReceived) and event.message.direction is Direction.OUTBOUND


def assert_handled_as_parsed(
    body: bytes, answers: list[tuple[int, str]], handled: list[InboundEvent]
) -> None:
    """The receiver did with ``body`` exactly what the parser says it is."""
    expected = parsed_or_none(body)
    (first_status, first), (second_status, second) = answers
    if expected is None:
        assert [(400, "not a delivery")] * 2 == answers
        assert [] == handled
    elif is_outbound_echo(expected):
        assert [(200, "filtered"), (200, "duplicate")] == answers
        assert [] == handled
    else:
        assert [(200, "handled"), (200, "duplicate")] == answers
        assert [expected] == handled
    assert first_status == second_status
    assert {first, second} <= {"not a delivery", "filtered", "handled", "duplicate"}


FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(fixture=st.sampled_from(FIXTURES), legacy=st.booleans(), data=st.data())
async def test_a_signed_bent_delivery_is_handled_as_parsed_once_or_refused_untouched(
    fixture: Path, legacy: bool, data: st.DataObject
) -> None:
    payload = data.draw(near(load(fixture), changes=3))
    body = json.dumps(payload).encode()

    answers, handled = await deliver_twice(body, signed(body, legacy))

    assert_handled_as_parsed(body, answers, handled)


def data_paths(payload: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [path for path in paths(payload) if len(path) >= 2 and path[0] == "data"]


@FUZZ
@given(fixture=st.sampled_from(FIXTURES), legacy=st.booleans(), data=st.data())
async def test_a_signed_delivery_with_an_intact_envelope_is_never_refused(
    fixture: Path, legacy: bool, data: st.DataObject
) -> None:
    """Whatever is wrong inside ``data``, the event is acknowledged (as an UnknownEvent
    when it cannot be modelled) and the handler gets it, so Linq does not give up on it."""
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

    answers, handled = await deliver_twice(body, signed(body, legacy))

    assert [200, 200] == [status for status, _ in answers]
    assert_handled_as_parsed(body, answers, handled)
    assert [payload["event_id"]] * len(handled) == [e.event_id for e in handled]


@st.composite
def bent_bytes(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` with one byte changed, bytes cut or added, or its JSON bent and re-encoded."""
    how = draw(st.sampled_from(["flip", "cut", "append", "json"]))
    if how == "flip":
        index = draw(st.integers(min_value=0, max_value=len(body) - 1))
        bit = 1 << draw(st.integers(min_value=0, max_value=7))
        return body[:index] + bytes([body[index] ^ bit]) + body[index + 1 :]
    if how == "cut":
        start = draw(st.integers(min_value=0, max_value=len(body) - 1))
        end = draw(st.integers(min_value=start + 1, max_value=len(body)))
        return body[:start] + body[end:]
    if how == "append":
        return body + draw(st.binary(min_size=1, max_size=8))
    return json.dumps(draw(near(json.loads(body), changes=2))).encode()


@settings(FUZZ, max_examples=200)
@given(fixture=st.sampled_from(FIXTURES), legacy=st.booleans(), data=st.data())
async def test_a_delivery_bent_after_signing_is_refused_and_never_handled(
    fixture: Path, legacy: bool, data: st.DataObject
) -> None:
    original = json.dumps(load(fixture)).encode()
    headers = signed(original, legacy)
    body = data.draw(bent_bytes(original).filter(lambda bent: bent != original))

    answers, handled = await deliver_twice(body, headers)

    assert [401, 401] == [status for status, _ in answers]
    assert [] == handled


async def test_the_same_delivery_unbent_is_handled_so_the_refusals_above_mean_something() -> None:
    for fixture in FIXTURES:
        for legacy in (False, True):
            body = json.dumps(load(fixture)).encode()
            answers, handled = await deliver_twice(body, signed(body, legacy))
            assert_handled_as_parsed(body, answers, handled)
            assert 200 == answers[0][0], fixture


def test_every_payload_version_and_event_type_is_fuzzed() -> None:
    versions = {path.parent.name for path in FIXTURES}
    kinds = {load(path)["event_type"] for path in FIXTURES}

    assert {"2025-01-01", "2026-02-03"} == versions
    assert {"message.received", "message.failed", "reaction.added", "chat.created"} <= kinds
