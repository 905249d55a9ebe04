"""Properties: verification never crashes nor lets a forgery through; parsing fails only cleanly."""

from __future__ import annotations

import base64
import copy
import json
import typing
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.linq.webhook_events import parse_delivery, parse_envelope
from adapters.linq.webhooks import (
    WebhookVerificationError,
    WebhookVerifier,
    sign_legacy,
    sign_standard,
)
from caresupport_transport.errors import ProtocolError
from caresupport_transport.events import InboundEvent

from .support import EVENT_TYPES, NOW, SECRET, VERSIONS, fixed_clock, fixture

EVENT_CLASSES = typing.get_args(InboundEvent)


def outcome(parse: Callable[[], object]) -> object:
    """The parsed event, or the ProtocolError it raised; anything else propagates."""
    try:
        return parse()
    except ProtocolError as exc:
        return exc


SIGNATURE_HEADER_NAMES = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "Webhook-Signature",
    "X-Webhook-Timestamp",
    "X-Webhook-Signature",
    "x-linq-timestamp",
    "X-Linq-Signature",
]

header_values = st.one_of(
    st.text(max_size=80),
    st.integers(min_value=0, max_value=2 * NOW).map(str),
    st.binary(min_size=0, max_size=40).map(lambda raw: "v1," + base64.b64encode(raw).decode()),
    st.binary(min_size=32, max_size=32).map(lambda raw: raw.hex()),
)
header_sets = st.lists(
    st.tuples(st.sampled_from(SIGNATURE_HEADER_NAMES) | st.text(max_size=20), header_values),
    max_size=8,
)
# Text that can travel in a header or an environment variable (no lone surrogates).
printable = st.characters(exclude_categories=("Cs",))
secrets = st.one_of(
    st.binary(min_size=1, max_size=64).map(lambda raw: "whsec_" + base64.b64encode(raw).decode()),
    st.text(printable, min_size=1, max_size=40).filter(lambda text: text.strip() != ""),
)
msg_ids = st.text(printable, min_size=1, max_size=40).filter(
    lambda text: text == text.strip() and text != ""
)


@given(body=st.binary(max_size=512), headers=header_sets)
def test_random_headers_never_verify_and_never_crash(
    body: bytes, headers: list[tuple[str, str]]
) -> None:
    verifier = WebhookVerifier(SECRET, clock=fixed_clock())
    with pytest.raises(WebhookVerificationError):
        verifier.verify(body, headers)


@given(body=st.binary(max_size=512), secret=secrets, msg_id=msg_ids)
def test_standard_signing_round_trips_for_any_body_and_secret(
    body: bytes, secret: str, msg_id: str
) -> None:
    headers = sign_standard(body, secret, msg_id=msg_id, timestamp=NOW)
    WebhookVerifier(secret, clock=fixed_clock()).verify(body, headers)


@given(
    body=st.binary(max_size=512), secret=secrets, prefix=st.sampled_from(["X-Webhook", "X-Linq"])
)
def test_legacy_signing_round_trips_for_any_body_and_secret(
    body: bytes, secret: str, prefix: str
) -> None:
    headers = sign_legacy(body, secret, timestamp=NOW, header_prefix=prefix)
    WebhookVerifier(secret, clock=fixed_clock()).verify(body, headers)


@given(body=st.binary(min_size=1, max_size=256), data=st.data())
def test_any_change_to_a_signed_body_is_a_mismatch(body: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    verifier = WebhookVerifier(SECRET, clock=fixed_clock())
    for headers in (
        sign_standard(body, SECRET, msg_id="msg_1", timestamp=NOW),
        sign_legacy(body, SECRET, timestamp=NOW),
    ):
        with pytest.raises(WebhookVerificationError) as caught:
            verifier.verify(tampered, headers)
        assert "signature mismatch" == caught.value.reason


@given(body=st.binary(max_size=1024))
def test_parse_delivery_on_random_bytes_raises_only_protocol_error(body: bytes) -> None:
    assert isinstance(outcome(lambda: parse_delivery(body)), (ProtocolError, *EVENT_CLASSES))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@given(value=json_values)
def test_parse_delivery_on_random_json_raises_only_protocol_error(value: Any) -> None:
    assert isinstance(
        outcome(lambda: parse_delivery(json.dumps(value).encode())), (ProtocolError, *EVENT_CLASSES)
    )


WIRE_KEYS = [
    "chat_id",
    "chat",
    "id",
    "message",
    "message_id",
    "parts",
    "direction",
    "sender_handle",
    "from_handle",
    "from",
    "is_from_me",
    "service",
    "reaction_type",
    "custom_emoji",
    "part_index",
    "participant",
    "handle",
    "handles",
    "is_group",
    "new_value",
    "code",
    "reason",
    "part",
    "reply_to",
    "effect",
    "sent_at",
    "created_at",
    "type",
    "value",
    "url",
    "size_bytes",
    "mime_type",
    "index",
    "text",
    "is_me",
]
wire_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=20_000_000)
    | st.sampled_from(
        ["", "text", "media", "inbound", "love", "custom", "iMessage", "+12025551234"]
    )
    | st.sampled_from(["https://cdn.example/x.jpg", "2026-02-05T19:31:13Z", "image/webp", "a@b.co"])
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(WIRE_KEYS), children, max_size=6)
    ),
    max_leaves=25,
)


@given(event_type=st.sampled_from(EVENT_TYPES), data=wire_values)
def test_known_event_types_with_random_data_raise_only_protocol_error(
    event_type: str, data: Any
) -> None:
    payload = {
        "event_type": event_type,
        "event_id": "e-1",
        "created_at": "2026-02-05T19:31:13Z",
        "data": data,
    }
    assert isinstance(outcome(lambda: parse_envelope(payload)), (ProtocolError, *EVENT_CLASSES))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    version=st.sampled_from(VERSIONS),
    event_type=st.sampled_from(EVENT_TYPES),
    data=st.data(),
)
def test_a_fixture_with_one_value_replaced_parses_or_raises_protocol_error(
    version: str, event_type: str, data: st.DataObject
) -> None:
    payload = copy.deepcopy(fixture(version, event_type))
    path = data.draw(st.sampled_from(_paths(payload)))
    holder = payload
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = data.draw(wire_values)
    assert isinstance(outcome(lambda: parse_envelope(payload)), (ProtocolError, *EVENT_CLASSES))
