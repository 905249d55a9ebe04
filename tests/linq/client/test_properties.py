"""Properties: the converter round-trips every wire type; no answer escapes as a foreign error."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.linq import LinqClient, _bodies, wire_account, wire_chats, wire_extras, wire_lines
from adapters.linq._convert import converter
from adapters.linq._retry import backoff_delay, parse_retry_after
from caresupport_transport import (
    MediaPart,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    VoiceMemo,
)
from caresupport_transport.errors import TransportError, ValidationError

from .strategies import for_type, json_values, near
from .support import (
    ATTACHMENT_ID,
    CHAT_ID,
    MESSAGE_ID,
    WHEN,
    accepted_json,
    chat_json,
    config,
    message_json,
    sent_message_json,
)

WIRE_TYPES = sorted(
    (
        value
        for module in (wire_chats, wire_account, wire_lines, wire_extras, _bodies)
        for value in vars(module).values()
        if attrs.has(value) and value.__module__ == module.__name__
    ),
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize("kind", WIRE_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_wire_type_survives_json_and_back(kind: type[Any], data: st.DataObject) -> None:
    value = data.draw(for_type(kind))

    wire = json.loads(json.dumps(converter().unstructure(value)))

    assert value == converter().structure(wire, kind)


def test_the_round_trip_covers_requests_and_responses() -> None:
    names = {cls.__name__ for cls in WIRE_TYPES}

    assert {"CreateChatBody", "MessageContentBody", "Message", "UploadTicket"} <= names
    assert len(WIRE_TYPES) >= 45


LINQ_SAMPLES: dict[str, tuple[Callable[[LinqClient], Awaitable[Any]], Any]] = {}


def operation(sample: Any) -> Callable[[Callable[[LinqClient], Awaitable[Any]]], None]:
    def register(call: Callable[[LinqClient], Awaitable[Any]]) -> None:
        LINQ_SAMPLES[call.__name__] = (call, sample)

    return register


async def drain(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


HELLO = OutgoingMessage.of_text("Hello")
SUBSCRIPTION = {
    "id": "s1",
    "target_url": "https://x.org/h",
    "subscribed_events": ["message.received"],
    "is_active": True,
    "created_at": WHEN,
    "updated_at": WHEN,
}
CARD = {"phone_number": "+15550001111", "first_name": "Care", "is_active": True}
TICKET = {
    "attachment_id": ATTACHMENT_ID,
    "upload_url": "https://uploads.linq.test/x",
    "download_url": "https://cdn.linq.test/x",
    "http_method": "PUT",
    "expires_at": WHEN,
    "required_headers": {"Content-Type": "text/plain"},
}


@operation({"chat": {**chat_json(), "message": sent_message_json()}})
async def create_chat(c: LinqClient) -> Any:
    return await c.create_chat(["+15557654321"], HELLO)


@operation({"chats": [chat_json()], "next_cursor": "2"})
async def list_chats(c: LinqClient) -> Any:
    return await drain(c.list_chats())


@operation(chat_json())
async def get_chat(c: LinqClient) -> Any:
    return await c.get_chat(CHAT_ID)


@operation(chat_json())
async def update_chat(c: LinqClient) -> Any:
    return await c.update_chat(CHAT_ID, display_name="x")


@operation(accepted_json())
async def add_participant(c: LinqClient) -> Any:
    return await c.add_participant(CHAT_ID, "+15553334444")


@operation(None)
async def start_typing(c: LinqClient) -> Any:
    return await c.start_typing(CHAT_ID)


@operation(accepted_json())
async def leave_chat(c: LinqClient) -> Any:
    return await c.leave_chat(CHAT_ID)


@operation({"chat_id": CHAT_ID, "message": sent_message_json()})
async def send_message(c: LinqClient) -> Any:
    return await c.send_message(CHAT_ID, HELLO)


@operation({"chat_id": CHAT_ID, "message": sent_message_json(), "from_selection": {"reason": "x"}})
async def send_to_handles(c: LinqClient) -> Any:
    return await c.send_to_handles(["+15557654321"], HELLO)


@operation({"messages": [message_json()], "next_cursor": None})
async def list_messages(c: LinqClient) -> Any:
    return await drain(c.list_messages(CHAT_ID))


@operation({"messages": [message_json()], "next_cursor": None})
async def message_thread(c: LinqClient) -> Any:
    return await drain(c.message_thread(MESSAGE_ID))


@operation(
    {
        "voice_memo": {
            "id": MESSAGE_ID,
            "to": ["+1555"],
            "status": "queued",
            "voice_memo": {
                "id": "v",
                "url": "https://x",
                "filename": "m.m4a",
                "mime_type": "audio/x-m4a",
                "size_bytes": 1,
            },
            "created_at": WHEN,
            "chat": {"id": CHAT_ID, "handles": [], "is_group": False},
        }
    }
)
async def send_voice_memo(c: LinqClient) -> Any:
    return await c.send_voice_memo(CHAT_ID, VoiceMemo(MediaPart(attachment_id=ATTACHMENT_ID)))


@operation(message_json())
async def get_message(c: LinqClient) -> Any:
    return await c.get_message(MESSAGE_ID)


@operation(message_json())
async def edit_message(c: LinqClient) -> Any:
    return await c.edit_message(MESSAGE_ID, "fixed")


@operation(accepted_json())
async def react(c: LinqClient) -> Any:
    return await c.react(MESSAGE_ID, Reaction(ReactionKind.LIKE))


@operation(TICKET)
async def upload(c: LinqClient) -> Any:
    return await c.upload(b"abc", "a.txt", "text/plain")


@operation({"id": ATTACHMENT_ID, "filename": "a", "content_type": "text/plain", "size_bytes": 3})
async def get_attachment(c: LinqClient) -> Any:
    return await c.get_attachment(ATTACHMENT_ID)


@operation({"phone_numbers": [{"id": "p", "phone_number": "+15550001111"}]})
async def list_phone_numbers(c: LinqClient) -> Any:
    return await c.list_phone_numbers_legacy()


@operation({"events": ["message.received"], "doc_url": "https://x"})
async def list_webhook_event_types(c: LinqClient) -> Any:
    return await c.list_webhook_event_types()


@operation({**SUBSCRIPTION, "signing_secret": "whsec_x"})
async def create_webhook_subscription(c: LinqClient) -> Any:
    return await c.create_webhook_subscription("https://x.org/h", ["message.received"])


@operation({"subscriptions": [SUBSCRIPTION]})
async def list_webhook_subscriptions(c: LinqClient) -> Any:
    return await c.list_webhook_subscriptions()


@operation({"address": "+15557654321", "available": True})
async def check_rcs(c: LinqClient) -> Any:
    return await c.check_rcs("+15557654321")


@operation({"contact_cards": [CARD]})
async def get_contact_cards(c: LinqClient) -> Any:
    return await c.get_contact_cards()


@operation(CARD)
async def update_contact_card(c: LinqClient) -> Any:
    return await c.update_contact_card(first_name="Care")


LOCATIONS = {
    "success": True,
    "data": {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-93.09, 44.95]},
                "properties": {"handle": "+15557654321", "updated_at": WHEN},
            }
        ],
    },
}


@operation(LOCATIONS)
async def get_locations(c: LinqClient) -> Any:
    return await c.get_locations(CHAT_ID)


@operation(
    {
        "audit_id": "a1",
        "status": "complete",
        "generated_at": WHEN,
        "report": {
            "severity": "HEALTHY",
            "drivers": [{"key": "volume_spike"}],
            "evidence": {"unhealthy_chats": [{"chat_id": CHAT_ID, "driver_keys": ["other"]}]},
        },
    }
)
async def get_reputation_audit(c: LinqClient) -> Any:
    return await c.get_reputation_audit("+15550001111", "a1")


@operation({"phone_number": "+15550001111", "vcf_url": "https://cdn.linq.test/l.vcf"})
async def get_available_number(c: LinqClient) -> Any:
    return await c.get_available_number(to=["+15557654321"])


@operation({"chat_id": CHAT_ID, "message": sent_message_json()})
async def update_message_card(c: LinqClient) -> Any:
    return await c.update_message_card(MESSAGE_ID, {"caption": "Ride"})


@operation(
    {
        "experiences": [
            {
                "experience": "link",
                "actions": [{"name": "open", "fields": {"url": {"type": "url"}}}],
            }
        ]
    }
)
async def list_experiences(c: LinqClient) -> Any:
    return await c.list_experiences()


def run_against(
    call: Callable[[LinqClient], Awaitable[Any]], status: int, body: bytes, headers: dict[str, str]
) -> None:
    async def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, content=body)

    async def sleep(_: float) -> None:
        return None

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
            client = LinqClient(config(), http=http, sleep=sleep, random=lambda: 0.5)
            await call(client)

    # Any of the library's own errors is a fine answer to nonsense; nothing else is.
    with contextlib.suppress(TransportError):
        asyncio.run(scenario())


statuses = st.sampled_from([200, 201, 202, 204, 400, 401, 404, 409, 413, 429, 500, 503])
retry_after_headers = st.one_of(
    st.just({}),
    st.builds(
        lambda v: {"Retry-After": v}, st.text(alphabet="0123456789.-: ,GMTSunMonDec", max_size=12)
    ),
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(LINQ_SAMPLES)),
    status=statuses,
    headers=retry_after_headers,
    data=st.data(),
)
def test_any_answer_raises_only_the_librarys_errors(
    name: str, status: int, headers: dict[str, str], data: st.DataObject
) -> None:
    call, sample = LINQ_SAMPLES[name]
    body = data.draw(
        st.one_of(
            near(sample) if sample is not None else json_values,
            json_values,
        ).map(lambda value: json.dumps(value).encode())
        | st.binary(max_size=30)
    )

    run_against(call, status, body, headers)


@pytest.mark.parametrize("name", sorted(LINQ_SAMPLES))
def test_each_fuzzed_operation_succeeds_on_its_unmutated_sample(name: str) -> None:
    """The samples are valid, so the fuzzing above starts from answers that parse."""
    call, sample = LINQ_SAMPLES[name]
    outcome: list[Any] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "uploads.linq.test":
            return httpx.Response(200)
        if sample is None:
            return httpx.Response(204)
        page_done = "cursor" in request.url.params
        body = {**sample, "next_cursor": None} if page_done else sample
        return httpx.Response(200, json=body)

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
            outcome.append(await call(LinqClient(config(), http=http)))

    asyncio.run(scenario())

    assert 1 == len(outcome)


@given(value=st.one_of(st.none(), st.text(max_size=40)), now=st.floats(0, 4e9))
def test_retry_after_is_never_negative_and_never_raises(value: str | None, now: float) -> None:
    seconds = parse_retry_after(value, now=now)

    assert seconds is None or (seconds >= 0 and math.isfinite(seconds))


@given(
    attempt=st.integers(1, 200),
    initial=st.floats(0.01, 10),
    maximum=st.floats(0.01, 120),
    jitter=st.floats(0, 1, exclude_max=True),
)
def test_backoff_stays_between_half_and_all_of_its_capped_delay(
    attempt: int, initial: float, maximum: float, jitter: float
) -> None:
    capped = min(maximum, initial * 2 ** (attempt - 1)) if attempt < 64 else maximum

    delay = backoff_delay(attempt, initial=initial, maximum=maximum, random=lambda: jitter)

    assert capped / 2 <= delay <= capped + 1e-9


@settings(max_examples=150)
@given(
    to=st.lists(st.text(max_size=20), max_size=3), key=st.one_of(st.none(), st.text(max_size=300))
)
def test_create_chat_either_sends_valid_handles_or_refuses_before_any_request(
    to: list[str], key: str | None
) -> None:
    sent: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json={"chat": {**chat_json(), "message": sent_message_json()}})

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
            await LinqClient(config(), http=http).create_chat(to, HELLO, idempotency_key=key)

    try:
        asyncio.run(scenario())
    except ValidationError:
        assert [] == sent
    else:
        body = json.loads(sent[0].content)
        assert len(to) == len(body["to"])
        assert key is None or key == body["message"]["idempotency_key"]
