"""Properties: no input crashes the receiver, and only validly signed deliveries get through."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support import (
    NOW,
    SECRET,
    STATUSES,
    encode,
    envelope,
    legacy_headers,
    make_receiver,
    standard_headers,
)

HEADER_NAMES = [
    b"webhook-id",
    b"webhook-timestamp",
    b"webhook-signature",
    b"Webhook-Signature",
    b"x-webhook-timestamp",
    b"X-Webhook-Signature",
    b"x-linq-timestamp",
    b"X-Linq-Signature",
    b"content-length",
    b"content-type",
    b"transfer-encoding",
]
header_values = st.one_of(
    st.binary(max_size=80),
    st.integers(min_value=-(10**12), max_value=10**13).map(lambda n: str(n).encode()),
    st.sampled_from([b"v1,", b"v1,AAAA", b"v1,!!", b"v2,abc v1,xyz", b"sha256=" + b"0" * 64]),
    st.just(str(NOW).encode()),
)
header_names = st.one_of(st.sampled_from(HEADER_NAMES), st.binary(min_size=1, max_size=20))
raw_headers = st.lists(st.tuples(header_names, header_values), max_size=8)
methods = st.one_of(
    st.sampled_from(["POST", "GET", "PUT", "HEAD", "DELETE", "post", ""]),
    st.text(max_size=10),
)
bodies = st.one_of(
    st.binary(max_size=2_000),
    st.just(encode(envelope())),
    st.builds(
        encode,
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
            max_leaves=10,
        ),
    ),
)
chunkings = st.integers(min_value=1, max_value=4)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


async def run_asgi(
    method: str, headers: list[tuple[bytes, bytes]], body: bytes, pieces: int
) -> tuple[list[dict[str, Any]], int]:
    receiver, handler, _ = make_receiver(max_body_bytes=1_500)
    size = max(1, len(body) // pieces)
    chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "method": method, "path": "/", "headers": headers}
    await receiver(scope, receive, send)
    return sent, len(handler.handled)


def assert_one_well_formed_answer(sent: list[dict[str, Any]]) -> int:
    assert ["http.response.start", "http.response.body"] == [m["type"] for m in sent]
    start, body = sent
    assert start["status"] in STATUSES
    answer = json.loads(body["body"])
    assert isinstance(answer, dict)
    assert SECRET not in body["body"].decode()
    return int(start["status"])


@FUZZ
@given(methods, raw_headers, bodies, chunkings)
async def test_random_requests_get_one_well_formed_answer_and_never_reach_the_handler(
    method: str, headers: list[tuple[bytes, bytes]], body: bytes, pieces: int
) -> None:
    sent, handled = await run_asgi(method, headers, body, pieces)

    status = assert_one_well_formed_answer(sent)
    assert status in {400, 401, 405, 413}
    assert 0 == handled


signature_headers = st.dictionaries(
    st.sampled_from(
        [
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "X-Webhook-Timestamp",
            "X-Webhook-Signature",
            "X-Linq-Timestamp",
            "X-Linq-Signature",
        ]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=90),
    max_size=7,
)


@FUZZ
@given(signature_headers, bodies)
async def test_random_signature_header_sets_never_reach_the_handler(
    headers: dict[str, str], body: bytes
) -> None:
    raw = [(name.encode(), value.encode()) for name, value in headers.items()]

    sent, handled = await run_asgi("POST", raw, body, 1)

    assert assert_one_well_formed_answer(sent) in {401, 413}
    assert 0 == handled


@FUZZ
@given(bodies, st.booleans(), chunkings)
async def test_validly_signed_random_bodies_are_handled_only_when_they_are_deliveries(
    body: bytes, legacy: bool, pieces: int
) -> None:
    signed = legacy_headers(body) if legacy else standard_headers(body)
    raw = [(name.encode(), value.encode()) for name, value in signed.items()]

    sent, handled = await run_asgi("POST", raw, body, pieces)

    status = assert_one_well_formed_answer(sent)
    if len(body) > 1_500:
        assert 413 == status
    else:
        assert status in {200, 400}
        assert handled == (1 if status == 200 else 0)


@FUZZ
@given(st.data(), st.booleans())
async def test_tampering_with_any_byte_of_a_signed_delivery_is_refused(
    data: st.DataObject, legacy: bool
) -> None:
    body = encode(envelope())
    signed = legacy_headers(body) if legacy else standard_headers(body)
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    raw = [(name.encode(), value.encode()) for name, value in signed.items()]

    sent, handled = await run_asgi("POST", raw, tampered, 1)

    assert 401 == assert_one_well_formed_answer(sent)
    assert 0 == handled
