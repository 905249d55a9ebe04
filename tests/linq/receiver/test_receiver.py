"""WebhookReceiver: each bad input gets its status; good ones reach the handler exactly once."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.linq.asgi import WebhookReceiver, create_webhook_app
from adapters.linq.webhooks import WebhookVerifier
from caresupport_transport import ConfigurationError, MessageReceived, UnknownEvent
from caresupport_transport.inbound import InboundDispatcher, MemoryEventStore, SqliteEventStore

from .support import (
    NOW,
    SECRET,
    URL,
    Recorder,
    encode,
    envelope,
    harness,
    legacy_headers,
    make_receiver,
    standard_headers,
)

BODY = encode(envelope())


def error_of(response: httpx.Response) -> str:
    return str(response.json()["error"])


async def test_delivery_signed_the_standard_way_is_handled_and_answered_200() -> None:
    async with harness() as h:
        response = await h.post(BODY, standard_headers(BODY))

    assert 200 == response.status_code
    assert {"status": "handled", "event_id": "evt-1"} == response.json()
    [event] = h.handler.handled
    assert isinstance(event, MessageReceived)
    assert "msg-1" == event.message.id
    assert "Did Mom take her 8am pills?" == event.message.text


@pytest.mark.parametrize("prefix", ["X-Webhook", "X-Linq"])
async def test_delivery_signed_the_legacy_way_is_handled(prefix: str) -> None:
    async with harness() as h:
        response = await h.post(BODY, legacy_headers(BODY, prefix=prefix))

    assert 200 == response.status_code
    assert 1 == len(h.handler.handled)


async def test_forged_signature_is_401_and_never_handled() -> None:
    forged = standard_headers(BODY, secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB")
    async with harness() as h:
        response = await h.post(BODY, forged)

    assert 401 == response.status_code
    assert "signature mismatch" == error_of(response)
    assert [] == h.handler.handled


async def test_signature_made_for_another_body_is_401() -> None:
    other = encode(envelope(text="Please double her dose"))
    async with harness() as h:
        response = await h.post(other, standard_headers(BODY))
        legacy = await h.post(other, legacy_headers(BODY))

    assert (401, 401) == (response.status_code, legacy.status_code)
    assert "signature mismatch" == error_of(response)
    assert [] == h.handler.handled


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
async def test_stale_and_future_timestamps_are_401(offset: int) -> None:
    async with harness() as h:
        standard = await h.post(BODY, standard_headers(BODY, timestamp=NOW + offset))
        legacy = await h.post(BODY, legacy_headers(BODY, timestamp=NOW + offset))

    assert (401, 401) == (standard.status_code, legacy.status_code)
    assert "stale" == error_of(standard)
    assert "stale" == error_of(legacy)
    assert [] == h.handler.handled


@pytest.mark.parametrize("offset", [-300, 300])
async def test_timestamps_at_the_edge_of_the_tolerance_are_accepted(offset: int) -> None:
    async with harness() as h:
        response = await h.post(BODY, standard_headers(BODY, timestamp=NOW + offset))

    assert 200 == response.status_code


async def test_replayed_delivery_is_answered_200_duplicate_and_handled_once() -> None:
    headers = standard_headers(BODY)
    async with harness() as h:
        first = await h.post(BODY, headers)
        replay = await h.post(BODY, headers)

    assert (200, 200) == (first.status_code, replay.status_code)
    assert "duplicate" == replay.json()["status"]
    assert 1 == len(h.handler.handled)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
async def test_missing_standard_header_is_401(missing: str) -> None:
    headers = standard_headers(BODY)
    del headers[missing]
    async with harness() as h:
        response = await h.post(BODY, headers)

    assert 401 == response.status_code
    assert "missing header" == error_of(response)
    assert missing in response.json()["detail"]
    assert [] == h.handler.handled


@pytest.mark.parametrize("missing", ["X-Webhook-Timestamp", "X-Webhook-Signature"])
async def test_missing_legacy_header_is_401(missing: str) -> None:
    headers = legacy_headers(BODY)
    del headers[missing]
    async with harness() as h:
        response = await h.post(BODY, headers)

    assert 401 == response.status_code
    assert "missing header" == error_of(response)
    assert [] == h.handler.handled


async def test_no_signature_headers_at_all_is_401() -> None:
    async with harness() as h:
        response = await h.post(BODY, {"content-type": "application/json"})

    assert 401 == response.status_code
    assert "missing header" == error_of(response)


@pytest.mark.parametrize("timestamp", ["yesterday", "1.77e9", "-5", "", "0x6979"])
async def test_non_numeric_timestamp_is_401(timestamp: str) -> None:
    headers = standard_headers(BODY)
    headers["webhook-timestamp"] = timestamp
    async with harness() as h:
        response = await h.post(BODY, headers)

    assert 401 == response.status_code
    assert [] == h.handler.handled


async def test_signed_empty_body_is_400_and_unsigned_empty_body_is_401() -> None:
    async with harness() as h:
        signed = await h.post(b"", standard_headers(b""))
        unsigned = await h.post(b"")

    assert 400 == signed.status_code
    assert "not a delivery" == error_of(signed)
    assert 401 == unsigned.status_code
    assert [] == h.handler.handled


async def test_ten_megabyte_body_is_413_and_never_verified_or_handled() -> None:
    huge = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    async with harness() as h:
        response = await h.post(huge, standard_headers(huge))

    assert 413 == response.status_code
    assert "body too large" == error_of(response)
    assert [] == h.handler.handled


async def test_body_exactly_at_the_limit_is_read() -> None:
    body = encode(envelope())
    async with harness(max_body_bytes=len(body)) as h:
        response = await h.post(body, standard_headers(body))

    assert 200 == response.status_code


async def test_signed_invalid_utf8_is_400() -> None:
    body = b'{"event_type": "message.received", "x": "\xff\xfe"}'
    async with harness() as h:
        response = await h.post(body, standard_headers(body))

    assert 400 == response.status_code
    assert "UTF-8" in response.json()["detail"]


@pytest.mark.parametrize("payload", [[], [envelope()], "message.received", 42, None, True])
async def test_signed_json_that_is_not_an_object_is_400(payload: object) -> None:
    body = encode(payload)
    async with harness() as h:
        response = await h.post(body, standard_headers(body))

    assert 400 == response.status_code
    assert [] == h.handler.handled


@pytest.mark.parametrize("field", ["event_type", "event_id", "created_at", "data"])
async def test_signed_envelope_missing_a_field_is_400_naming_it(field: str) -> None:
    payload = envelope()
    del payload[field]
    body = encode(payload)
    async with harness() as h:
        response = await h.post(body, standard_headers(body))

    assert 400 == response.status_code
    assert field in response.json()["detail"]
    assert [] == h.handler.handled


async def test_unknown_event_type_is_200_and_handler_gets_an_unknown_event() -> None:
    body = encode(envelope(event_type="poll.vote_cast"))
    async with harness() as h:
        response = await h.post(body, standard_headers(body))

    assert 200 == response.status_code
    [event] = h.handler.handled
    assert isinstance(event, UnknownEvent)
    assert "poll.vote_cast" == event.event_type
    assert "msg-1" == event.payload["data"]["id"]


async def test_message_from_a_short_code_reaches_the_handler_raw_instead_of_being_lost() -> None:
    payload = envelope("evt-short")
    payload["data"]["sender_handle"] = {"handle": "72345"}
    body = encode(payload)
    async with harness() as h:
        response = await h.post(body, standard_headers(body))

    assert 200 == response.status_code
    [event] = h.handler.handled
    assert isinstance(event, UnknownEvent)
    assert ("message.received", "chat-1") == (event.event_type, event.conversation_id)
    assert event.problem is not None
    assert "sender_handle" in event.problem


async def test_duplicate_event_id_with_a_different_body_is_handled_once() -> None:
    first = encode(envelope("evt-7", text="first words", message_id="msg-a"))
    second = encode(envelope("evt-7", text="other words", message_id="msg-b"))
    async with harness() as h:
        one = await h.post(first, standard_headers(first, msg_id="d1"))
        two = await h.post(second, standard_headers(second, msg_id="d2"))

    assert (200, 200) == (one.status_code, two.status_code)
    assert "duplicate" == two.json()["status"]
    [event] = h.handler.handled
    assert isinstance(event, MessageReceived)
    assert "first words" == event.message.text


async def test_handler_failure_is_500_then_redelivery_is_200_and_handled_exactly_once() -> None:
    handler = Recorder(failures_left=1)
    async with harness(handler=handler) as h:
        failed = await h.post(BODY, standard_headers(BODY))
        retried = await h.post(BODY, standard_headers(BODY))
        replayed = await h.post(BODY, standard_headers(BODY))

    assert 500 == failed.status_code
    assert "handler failed" == error_of(failed)
    assert "care logic is down" not in failed.text  # no internals in the answer
    assert (200, "handled") == (retried.status_code, retried.json()["status"])
    assert (200, "duplicate") == (replayed.status_code, replayed.json()["status"])
    assert 1 == len(h.handler.handled)


async def test_restart_with_the_sqlite_store_does_not_handle_again(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    async with SqliteEventStore(path) as store, harness(store=store) as before:
        assert 200 == (await before.post(BODY, standard_headers(BODY))).status_code

    async with SqliteEventStore(path) as store, harness(store=store) as after:
        response = await after.post(BODY, standard_headers(BODY))

    assert 200 == response.status_code
    assert "duplicate" == response.json()["status"]
    assert 1 == len(before.handler.handled)
    assert [] == after.handler.handled


async def test_outbound_echo_is_200_filtered_and_not_handled() -> None:
    body = encode(envelope(event_type="message.sent", direction="outbound"))
    async with harness() as h:
        response = await h.post(body, standard_headers(body))

    assert 200 == response.status_code
    assert "filtered" == response.json()["status"]
    assert [] == h.handler.handled


async def test_event_being_handled_by_another_worker_is_503_with_retry_after() -> None:
    store = MemoryEventStore()
    now = datetime.now(UTC)
    await store.claim(["event:evt-1"], token="other", now=now, until=now + timedelta(minutes=5))
    async with harness(store=store) as h:
        response = await h.post(BODY, standard_headers(BODY))

    assert 503 == response.status_code
    assert "in progress" == error_of(response)
    assert "30" == response.headers["retry-after"]
    assert [] == h.handler.handled


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_methods_other_than_post_are_405_with_allow_post(method: str) -> None:
    async with harness() as h:
        response = await h.client.request(method, URL, headers=standard_headers(BODY))

    assert 405 == response.status_code
    assert "POST" == response.headers["allow"]
    assert [] == h.handler.handled


@pytest.mark.parametrize("secrets", [None, "", [], ["  "]])
async def test_receiver_without_a_secret_refuses_everything_with_503(secrets: Any) -> None:
    async with harness(secrets=secrets) as h:
        response = await h.post(BODY, standard_headers(BODY))

    assert 503 == response.status_code
    assert "no secret configured" == error_of(response)
    assert [] == h.handler.handled


async def test_rotated_secrets_both_verify() -> None:
    new_secret = "whsec_bmV3LXNlY3JldC1hZnRlci1yb3RhdGlvbg=="
    async with harness(secrets=[new_secret, SECRET]) as h:
        old = await h.post(BODY, standard_headers(BODY))
        other = encode(envelope("evt-2", message_id="msg-2"))
        new = await h.post(other, standard_headers(other, secret=new_secret))

    assert (200, 200) == (old.status_code, new.status_code)
    assert 2 == len(h.handler.handled)


async def test_malformed_content_length_is_400() -> None:
    receiver, handler, _ = make_receiver()
    sent = await call(receiver, headers=[(b"content-length", b"12abc")], chunks=[BODY])

    assert 400 == sent[0]["status"]
    assert [] == handler.handled


async def test_answers_never_contain_the_secret() -> None:
    async with harness() as h:
        answers = [
            await h.post(BODY, standard_headers(BODY, secret="whsec_" + "QkJCQkJCQkJCQkJC")),
            await h.post(BODY, {"webhook-signature": SECRET}),
            await h.post(b"", standard_headers(b"")),
        ]

    for answer in answers:
        assert SECRET not in answer.text
        assert SECRET.removeprefix("whsec_") not in answer.text


# Direct ASGI calls: for what httpx cannot send (streamed bodies, disconnects, lifespan).


async def call(
    app: WebhookReceiver,
    *,
    method: str = "POST",
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: list[bytes] | None = None,
    disconnect: bool = False,
    consumed: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Run one HTTP request through the app; return the messages it sent."""
    pending: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks or []) - 1}
        for i, chunk in enumerate(chunks or [b""])
    ]
    if disconnect:
        pending[-1]["more_body"] = True
        pending.append({"type": "http.disconnect"})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if consumed is not None:
            consumed.append(1)
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "method": method, "path": "/", "headers": headers or []}
    await app(scope, receive, send)
    return sent


async def test_streamed_body_over_the_limit_is_413_and_the_rest_is_never_read() -> None:
    receiver, handler, _ = make_receiver(max_body_bytes=1_000)
    consumed: list[int] = []
    chunks = [b"x" * 400] * 100  # 40 kB in 100 chunks, no Content-Length
    # Signature headers (for another body): unsigned requests are refused before reading.
    headers = [(k.encode(), v.encode()) for k, v in standard_headers(BODY).items()]

    sent = await call(receiver, headers=headers, chunks=chunks, consumed=consumed)

    assert 413 == sent[0]["status"]
    assert 3 == len(consumed)  # 400 + 400 + 400 > 1000: stopped at the third chunk
    assert [] == handler.handled


async def test_declared_length_over_the_limit_is_413_before_reading_anything() -> None:
    receiver, _, _ = make_receiver(max_body_bytes=1_000)
    consumed: list[int] = []

    sent = await call(
        receiver, headers=[(b"content-length", b"5000")], chunks=[b"x" * 5000], consumed=consumed
    )

    assert 413 == sent[0]["status"]
    assert [] == consumed


async def test_absurdly_long_declared_length_is_413() -> None:
    receiver, _, _ = make_receiver()

    sent = await call(receiver, headers=[(b"content-length", b"9" * 5000)], chunks=[BODY])

    assert 413 == sent[0]["status"]


async def test_streamed_body_is_assembled_from_its_chunks() -> None:
    receiver, handler, _ = make_receiver()
    headers = [(k.encode(), v.encode()) for k, v in standard_headers(BODY).items()]
    chunks = [BODY[:10], BODY[10:50], BODY[50:]]

    sent = await call(receiver, headers=headers, chunks=chunks)

    assert 200 == sent[0]["status"]
    assert 1 == len(handler.handled)


async def test_client_that_disconnects_mid_body_gets_no_answer_and_nothing_is_handled() -> None:
    receiver, handler, store = make_receiver()
    headers = [(k.encode(), v.encode()) for k, v in standard_headers(BODY).items()]

    sent = await call(receiver, headers=headers, chunks=[BODY[:20]], disconnect=True)

    assert [] == sent
    assert [] == handler.handled
    assert not await store.is_done("event:evt-1")


async def test_response_is_well_formed_json_with_length() -> None:
    receiver, _, _ = make_receiver()

    start, body = await call(receiver, method="GET")

    assert "http.response.start" == start["type"]
    headers = dict(start["headers"])
    assert b"application/json" == headers[b"content-type"]
    assert int(headers[b"content-length"]) == len(body["body"])
    assert {
        "error": "method not allowed",
        "detail": "deliveries are POSTed",
    } == json.loads(body["body"])


async def test_lifespan_startup_and_shutdown_are_acknowledged() -> None:
    receiver, _, _ = make_receiver()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await receiver({"type": "lifespan"}, receive, send)

    assert [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}] == sent


async def test_websocket_connections_are_closed() -> None:
    receiver, _, _ = make_receiver()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await receiver({"type": "websocket", "headers": []}, receive, send)

    assert [{"type": "websocket.close", "code": 1008}] == sent


async def test_create_webhook_app_wires_verifier_inbox_worker_and_store() -> None:
    handler = Recorder()
    store = MemoryEventStore()
    app = create_webhook_app(SECRET, handler, store)
    now = int(datetime.now(UTC).timestamp())
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post(
            URL, content=BODY, headers=standard_headers(BODY, timestamp=now)
        )
    assert app.worker is not None
    assert app.worker.started, "the first delivery starts the worker"
    await app.worker.drain()
    await app.aclose()

    assert 200 == response.status_code
    assert 1 == len(handler.handled)
    assert await store.is_done("event:evt-1")
    assert not app.worker.started


async def test_the_lifespan_starts_and_stops_the_worker() -> None:
    app = create_webhook_app(SECRET, Recorder(), MemoryEventStore())
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []
    states: list[bool] = []

    async def receive() -> MutableMapping[str, Any]:
        assert app.worker is not None
        states.append(app.worker.started)
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await app({"type": "lifespan"}, receive, send)

    assert [False, True] == states
    assert app.worker is not None
    assert not app.worker.started
    assert ["lifespan.startup.complete", "lifespan.shutdown.complete"] == [m["type"] for m in sent]


@pytest.mark.parametrize("limit", [0, -1])
def test_body_limit_must_be_positive(limit: int) -> None:
    verifier = WebhookVerifier(SECRET)
    dispatcher = InboundDispatcher(Recorder(), MemoryEventStore())

    with pytest.raises(ConfigurationError, match="max_body_bytes"):
        WebhookReceiver(verifier, dispatcher, max_body_bytes=limit)
