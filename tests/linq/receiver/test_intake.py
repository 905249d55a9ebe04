"""WebhookIntake (bytes and headers in, answer out) and BlockingIntake (the same, for sync code)."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.linq import LinqConfig, LinqTransport
from adapters.linq.blocking import BlockingIntake
from adapters.linq.receiving import (
    DEFAULT_MAX_BODY_BYTES,
    ReceivedAnswer,
    WebhookIntake,
    create_webhook_intake,
)
from adapters.linq.webhooks import WebhookVerifier
from caresupport_transport import ConfigurationError, InboundEvent
from caresupport_transport.errors import UnreachableError
from caresupport_transport.inbound import InboundDispatcher, MemoryEventStore

from .support import NOW, SECRET, URL, Recorder, encode, envelope, make_receiver, standard_headers

BODY = encode(envelope())
HEADERS = standard_headers(BODY)


def make_intake(
    *, secrets: str | None = SECRET, handler: Recorder | None = None, max_body_bytes: int = 1000
) -> tuple[WebhookIntake, Recorder, MemoryEventStore]:
    handler = handler if handler is not None else Recorder()
    store = MemoryEventStore()
    verifier = WebhookVerifier(secrets, clock=lambda: float(NOW))
    intake = WebhookIntake(
        verifier, InboundDispatcher(handler, store), max_body_bytes=max_body_bytes
    )
    return intake, handler, store


async def test_a_genuine_delivery_is_handled_once_and_its_redelivery_is_a_duplicate() -> None:
    intake, handler, _ = make_intake()

    first = await intake.handle(BODY, HEADERS)
    again = await intake.handle(BODY, list(HEADERS.items()))  # pairs work as a mapping does

    assert ReceivedAnswer(200, {"status": "handled", "event_id": "evt-1"}) == first
    assert ReceivedAnswer(200, {"status": "duplicate", "event_id": "evt-1"}) == again
    assert ["evt-1"] == [event.event_id for event in handler.handled]
    assert b'{"status": "handled", "event_id": "evt-1"}' == first.content
    assert "application/json" == first.media_type


async def test_without_a_secret_every_delivery_is_503_and_nothing_is_handled() -> None:
    intake, handler, _ = make_intake(secrets=None)

    answer = await intake.handle(BODY, HEADERS)

    assert (503, "no secret configured") == (answer.status, answer.body["error"])
    assert answer == intake.refuse_early(HEADERS)
    assert [] == handler.handled


async def test_a_body_over_the_limit_is_413_without_being_verified() -> None:
    intake, handler, _ = make_intake(max_body_bytes=len(BODY) - 1)

    answer = await intake.handle(BODY, HEADERS)

    assert (
        ReceivedAnswer(413, {"error": "body too large", "detail": f"at most {len(BODY) - 1} bytes"})
        == answer
    )
    assert [] == handler.handled


async def test_a_wrong_signature_is_401_with_the_verifiers_reason() -> None:
    intake, handler, _ = make_intake()

    answer = await intake.handle(BODY + b" ", HEADERS)

    assert (
        ReceivedAnswer(401, {"error": "signature mismatch", "detail": "webhook-signature"})
        == answer
    )
    assert [] == handler.handled


async def test_a_verified_body_that_is_no_delivery_is_400() -> None:
    intake, _, _ = make_intake()
    body = b"[1, 2]"

    answer = await intake.handle(body, standard_headers(body))

    assert (400, "not a delivery") == (answer.status, answer.body["error"])


async def test_a_failing_handler_is_500_and_the_retry_is_handled() -> None:
    intake, handler, _ = make_intake(handler=Recorder(failures_left=1))

    failed = await intake.handle(BODY, HEADERS)
    retried = await intake.handle(BODY, HEADERS)

    assert (
        ReceivedAnswer(500, {"error": "handler failed", "detail": "event evt-1 will be retried"})
        == failed
    )
    assert 200 == retried.status
    assert 1 == len(handler.handled)


async def test_an_event_claimed_by_another_worker_is_503_with_retry_after() -> None:
    intake, handler, store = make_intake()
    now = datetime.now(UTC)
    await store.claim(["event:evt-1"], token="other", now=now, until=now + timedelta(minutes=5))

    answer = await intake.handle(BODY, HEADERS)

    assert 503 == answer.status
    assert "in progress" == answer.body["error"]
    assert (("Retry-After", "30"),) == answer.headers
    assert [] == handler.handled


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Content-Length": "1000"}, None),
        ({"content-length": "1001"}, 413),
        ({"Content-Length": "9" * 40}, 413),
        ({"Content-Length": "12abc"}, 400),
        ({"Content-Length": "-1"}, 400),
        ([("Content-Length", "10"), ("content-length", "11")], 400),
        ([("Content-Length", "10"), ("content-length", "10")], None),
    ],
)
def test_refuse_early_judges_the_declared_length_before_the_body_is_read(
    headers: dict[str, str] | list[tuple[str, str]], expected: int | None
) -> None:
    intake, _, _ = make_intake(max_body_bytes=1000)

    answer = intake.refuse_early(headers)

    assert expected == (answer.status if answer is not None else None)


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "1000"])
def test_max_body_bytes_must_be_a_positive_int(value: object) -> None:
    verifier = WebhookVerifier(SECRET)
    dispatcher = InboundDispatcher(Recorder(), MemoryEventStore())

    with pytest.raises(ConfigurationError, match="max_body_bytes"):
        WebhookIntake(verifier, dispatcher, max_body_bytes=value)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutation=st.sampled_from(["none", "body", "signature", "unsigned", "not json", "no secret"]),
    event_id=st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12),
)
async def test_the_asgi_receiver_answers_exactly_as_the_intake_it_delegates_to(
    mutation: str, event_id: str
) -> None:
    """Same status, JSON and headers from both entries, for good and broken deliveries."""
    body = encode(envelope(event_id)) if mutation != "not json" else b"{not json"
    headers = standard_headers(body)
    if mutation == "body":
        body += b"\n"
    elif mutation == "signature":
        headers["webhook-signature"] = "v1," + "A" * 44
    elif mutation == "unsigned":
        headers = {}
    secrets = None if mutation == "no secret" else SECRET
    intake, _, _ = make_intake(secrets=secrets, max_body_bytes=DEFAULT_MAX_BODY_BYTES)
    receiver, _, _ = make_receiver(secrets=secrets)

    expected = await intake.handle(body, headers)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as client:
        response = await client.post(URL, content=body, headers=headers)

    assert expected.status == response.status_code
    assert expected.body == response.json()
    assert expected.content == response.content
    for name, value in expected.headers:
        assert value == response.headers[name]


async def test_linq_transport_intake_verifies_with_the_configured_secret_unless_given_one() -> None:
    config = LinqConfig.from_env(
        {"LINQ_API_TOKEN": "intake-test-token", "LINQ_WEBHOOK_SIGNING_SECRET": SECRET}
    )
    other = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
    async with LinqTransport.from_config(config) as transport:
        care = Recorder()
        transport.on_inbound(care)
        configured = transport.webhook_intake(
            MemoryEventStore(), clock=lambda: float(NOW), ack_after_handler=True
        )
        overridden = transport.webhook_intake(
            MemoryEventStore(), secrets=other, clock=lambda: float(NOW), ack_after_handler=True
        )
        unset = LinqTransport.from_config(LinqConfig.from_env({"LINQ_API_TOKEN": "t"}))
        async with unset:
            refused = await unset.webhook_intake(MemoryEventStore()).handle(BODY, HEADERS)

        handled = await configured.handle(BODY, HEADERS)
        forged = await overridden.handle(BODY, HEADERS)

    assert (200, 401, 503) == (handled.status, forged.status, refused.status)
    assert ["evt-1"] == [event.event_id for event in care.handled]


async def test_create_webhook_intake_stores_the_event_and_its_worker_hands_it_over() -> None:
    care = Recorder()
    store = MemoryEventStore()
    intake = create_webhook_intake(SECRET, care, store, tolerance=10**10)

    answer = await intake.handle(BODY, HEADERS)
    stored = [entry.id for entry in store.inbox.values()]
    assert intake.worker is not None
    await intake.worker.drain()
    await intake.aclose()

    assert (200, "queued") == (answer.status, answer.body["status"])
    assert ["evt-1"] == stored
    assert ["evt-1"] == [event.event_id for event in care.handled]


async def test_create_webhook_intake_can_answer_after_the_handler() -> None:
    care = Recorder()
    intake = create_webhook_intake(
        SECRET, care, MemoryEventStore(), tolerance=10**10, ack_after_handler=True
    )

    answer = await intake.handle(BODY, HEADERS)

    assert (200, "handled") == (answer.status, answer.body["status"])
    assert 1 == len(care.handled)
    assert intake.worker is None


async def test_an_unreachable_store_at_intake_is_answered_503_with_retry_after() -> None:
    class DownStore(MemoryEventStore):
        async def enqueue(self, entry: object, *, now: object) -> object:
            raise UnreachableError("event store redis://127.0.0.1:1: no answer")

    intake = create_webhook_intake(SECRET, Recorder(), DownStore(), tolerance=10**10)

    answer = await intake.handle(BODY, HEADERS)
    await intake.aclose()

    assert (503, "not stored") == (answer.status, answer.body["error"])
    assert ("Retry-After", "30") in answer.headers


async def test_a_store_with_workers_elsewhere_only_stores() -> None:
    care = Recorder()
    store = MemoryEventStore()
    intake = create_webhook_intake(SECRET, care, store, tolerance=10**10, workers=False)

    answer = await intake.handle(BODY, HEADERS)

    assert "queued" == answer.body["status"]
    assert intake.worker is None
    assert ["evt-1"] == list(store.inbox)
    assert [] == care.handled


# -- BlockingIntake --------------------------------------------------------------------


def test_blocking_intake_from_many_threads_hands_a_duplicate_burst_over_once() -> None:
    """Ten threads deliver one event at once; the handler runs once, the rest are duplicates."""
    gate = threading.Event()
    intake, handler, _ = make_intake()

    with BlockingIntake(intake) as blocking, ThreadPoolExecutor(max_workers=10) as pool:

        def deliver() -> tuple[int, str]:
            gate.wait(timeout=5)
            answer = blocking.handle(BODY, HEADERS)
            return answer.status, answer.body["status"]

        futures = [pool.submit(deliver) for _ in range(10)]
        gate.set()
        answers = sorted(future.result(timeout=10) for future in futures)

    assert [(200, "duplicate")] * 9 + [(200, "handled")] == answers
    assert ["evt-1"] == [event.event_id for event in handler.handled]


def test_blocking_intake_runs_one_conversations_handler_one_at_a_time_across_threads() -> None:
    """What a loop per request would break: one chat's events never overlap in the handler."""
    running = 0
    most = 0
    seen: list[str] = []

    async def slow_care(event: InboundEvent) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.002)
        seen.append(event.event_id)
        running -= 1

    verifier = WebhookVerifier(SECRET, clock=lambda: float(NOW))
    intake = WebhookIntake(verifier, InboundDispatcher(slow_care, MemoryEventStore()))
    bodies = [encode(envelope(f"evt-{n}", message_id=f"msg-{n}")) for n in range(20)]

    def deliver(body: bytes) -> int:
        return blocking.handle(body, standard_headers(body)).status

    with BlockingIntake(intake) as blocking, ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(deliver, bodies))

    assert [200] * 20 == statuses
    assert sorted(f"evt-{n}" for n in range(20)) == sorted(seen)
    assert 1 == most


def test_closing_a_blocking_intake_answers_a_delivery_in_flight_503_and_records_nothing() -> None:
    started = threading.Event()

    async def stuck_care(event: InboundEvent) -> None:
        started.set()
        await asyncio.sleep(60)

    store = MemoryEventStore()
    verifier = WebhookVerifier(SECRET, clock=lambda: float(NOW))
    blocking = BlockingIntake(WebhookIntake(verifier, InboundDispatcher(stuck_care, store)))

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(blocking.handle, BODY, HEADERS)
        assert started.wait(timeout=5)
        blocking.close()
        answer = pending.result(timeout=5)

    assert 503 == answer.status
    assert "shutting down" == answer.body["error"]
    assert ("Retry-After", "30") in answer.headers
    assert not asyncio.run(store.is_done("event:evt-1"))


def test_a_closed_blocking_intake_refuses_work_and_closes_twice_quietly() -> None:
    intake, _, _ = make_intake()
    blocking = BlockingIntake(intake)
    assert 200 == blocking.handle(BODY, HEADERS).status

    blocking.close()
    blocking.close()

    with pytest.raises(RuntimeError, match="closed"):
        blocking.handle(BODY, HEADERS)


def test_an_unused_blocking_intake_starts_no_thread_and_closes() -> None:
    before = threading.active_count()
    intake, _, _ = make_intake()
    blocking = BlockingIntake(intake)

    assert blocking.refuse_early({"Content-Length": "5000"}) is not None
    assert before == threading.active_count()
    blocking.close()


def test_answers_never_echo_the_secret() -> None:
    intake, _, _ = make_intake()
    answers = [
        asyncio.run(intake.handle(BODY + b"x", HEADERS)),
        asyncio.run(intake.handle(BODY, {})),
        asyncio.run(intake.handle(b"[]", standard_headers(b"[]"))),
    ]
    for answer in answers:
        assert SECRET not in json.dumps(answer.body)
        assert SECRET.removeprefix("whsec_") not in answer.content.decode()


CANARY = "CANARY-Mum fell at 3am, on warfarin"


async def test_a_handler_failing_with_the_message_in_its_error_logs_no_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def quoting(event: InboundEvent) -> None:
        raise ValueError(f"could not file {CANARY!r}")

    intake = WebhookIntake(
        WebhookVerifier(SECRET, clock=lambda: float(NOW)),
        InboundDispatcher(quoting, MemoryEventStore()),
        max_body_bytes=10_000,
    )
    body = encode(envelope(text=CANARY))
    with caplog.at_level("DEBUG"):
        answer = await intake.handle(body, standard_headers(body))

    assert 500 == answer.status
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "ValueError" in logged  # the failure is told...
    assert "Mum fell" not in logged  # ...without the words that were in the message


async def test_a_verified_body_that_is_no_envelope_is_logged_by_field_not_by_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    intake, _, _ = make_intake(max_body_bytes=10_000)
    body = encode({"event_id": "evt-9", "event_type": [CANARY], "data": {}})

    with caplog.at_level("DEBUG"):
        answer = await intake.handle(body, standard_headers(body))

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert 400 == answer.status
    assert "ProtocolError" in logged  # told as the error's class and facts...
    assert "Mum fell" not in logged  # ...never the delivery's words
