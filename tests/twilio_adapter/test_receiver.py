"""The Twilio webhook receiver: verified before parsed, its URL rebuilt behind a proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest

from adapters.twilio import sign
from caresupport_transport import (
    DeliveryStatus,
    Direction,
    Handle,
    InboundEvent,
    MessageReceived,
    MessageStatusChanged,
    OutgoingMessage,
)
from caresupport_transport.inbound import MemoryEventStore

from .support import GRANDSON, Rig, rig

PUBLIC = "https://care.example.org"
INBOUND = [
    ("AccountSid", "AC" + "0" * 31 + "1"),
    ("Body", "Did mum take her pills?"),
    ("From", GRANDSON.value),
    ("MessageSid", "SM" + "a" * 32),
    ("NumMedia", "1"),
    ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/SM1/Media/ME1"),
    ("MediaContentType0", "image/jpeg"),
    ("SmsStatus", "received"),
    ("To", "+16515550100"),
]


async def ignore(event: InboundEvent) -> None:
    """A care handler with nothing to do (these tests look at the HTTP answer)."""


@pytest.fixture
async def wired() -> AsyncIterator[tuple[Rig, list[InboundEvent], httpx.AsyncClient]]:
    async with rig() as r:
        seen: list[InboundEvent] = []

        async def record(event: InboundEvent) -> None:
            seen.append(event)

        r.transport.on_inbound(record)
        app = r.transport.webhook_app(MemoryEventStore(), public_url=PUBLIC, ack_after_handler=True)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://10.0.0.7:8000"
        ) as http:
            yield r, seen, http


async def post(
    http: httpx.AsyncClient, path: str, form: list[tuple[str, str]], token: str, signed_url: str
) -> httpx.Response:
    return await http.post(
        path,
        content=urlencode(form),
        headers={
            "X-Twilio-Signature": sign(signed_url, form, token),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


async def test_a_signed_inbound_text_with_media_reaches_the_care_logic(
    wired: tuple[Rig, list[InboundEvent], httpx.AsyncClient],
) -> None:
    r, seen, http = wired
    answer = await post(
        http, "/twilio/sms", INBOUND, r.simulator.auth_token, f"{PUBLIC}/twilio/sms"
    )

    assert (200, "text/xml") == (answer.status_code, answer.headers["content-type"])
    (event,) = [e for e in seen if isinstance(e, MessageReceived)]
    assert (Direction.INBOUND, GRANDSON, f"sms:{GRANDSON.value}") == (
        event.message.direction,
        event.message.sender,
        event.conversation_id,
    )
    assert ["Did mum take her pills?", "image/jpeg"] == [
        getattr(p, "text", None) or getattr(p, "content_type", None) for p in event.message.parts
    ]


async def test_a_bad_signature_is_403_and_nothing_is_handled(
    wired: tuple[Rig, list[InboundEvent], httpx.AsyncClient],
) -> None:
    _, seen, http = wired
    answer = await post(http, "/twilio/sms", INBOUND, "wrong-token", f"{PUBLIC}/twilio/sms")
    assert (403, []) == (answer.status_code, seen)


async def test_the_url_the_app_sees_behind_a_proxy_does_not_verify_without_public_url() -> None:
    """Signed for the public URL; a receiver rebuilding the internal one refuses it."""
    async with rig() as r:
        r.transport.on_inbound(ignore)
        app = r.transport.webhook_app(MemoryEventStore(), ack_after_handler=True)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://10.0.0.7:8000"
        ) as http:
            refused = await post(
                http, "/twilio/sms", INBOUND, r.simulator.auth_token, f"{PUBLIC}/twilio/sms"
            )
            direct = await post(
                http,
                "/twilio/sms",
                INBOUND,
                r.simulator.auth_token,
                "http://10.0.0.7:8000/twilio/sms",
            )
    assert (403, 200) == (refused.status_code, direct.status_code)


async def test_forwarded_headers_rebuild_the_public_url_when_trusted() -> None:
    async with rig() as r:
        r.transport.on_inbound(ignore)
        app = r.transport.webhook_app(
            MemoryEventStore(), trust_forwarded=True, ack_after_handler=True
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://10.0.0.7:8000"
        ) as http:
            form = INBOUND
            answer = await http.post(
                "/twilio/sms?family=lindqvist",
                content=urlencode(form),
                headers={
                    "X-Twilio-Signature": sign(
                        f"{PUBLIC}/twilio/sms?family=lindqvist", form, r.simulator.auth_token
                    ),
                    "X-Forwarded-Proto": "https",
                    "X-Forwarded-Host": "care.example.org",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
    assert 200 == answer.status_code


async def test_a_status_callback_moves_the_message_on_and_a_repeat_is_handled_once(
    wired: tuple[Rig, list[InboundEvent], httpx.AsyncClient],
) -> None:
    r, seen, http = wired
    receipt = await r.transport.send_message(
        f"sms:{GRANDSON.value}", OutgoingMessage.of_text("Pills at 9"), idempotency_key="p9"
    )
    form = [
        ("MessageSid", receipt.message_ids[0]),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
        ("To", GRANDSON.value),
        ("From", r.simulator.phone.value),
    ]
    url = f"{PUBLIC}/twilio/status?caresupport_key=p9"
    for _ in range(2):
        answer = await post(
            http, "/twilio/status?caresupport_key=p9", form, r.simulator.auth_token, url
        )
        assert 200 == answer.status_code

    statuses = [e for e in seen if isinstance(e, MessageStatusChanged)]
    assert [(receipt.message_ids[0], DeliveryStatus.FAILED, 30003)] == [
        (e.message_id, e.status, e.error_code) for e in statuses
    ]


async def test_a_text_from_a_blocked_number_is_acknowledged_and_dropped(
    wired: tuple[Rig, list[InboundEvent], httpx.AsyncClient],
) -> None:
    r, seen, http = wired
    await r.transport.block(GRANDSON)
    answer = await post(
        http, "/twilio/sms", INBOUND, r.simulator.auth_token, f"{PUBLIC}/twilio/sms"
    )
    assert (200, []) == (answer.status_code, seen)


async def test_an_opt_out_keyword_marks_the_thread_and_the_next_send_is_refused_first(
    wired: tuple[Rig, list[InboundEvent], httpx.AsyncClient],
) -> None:
    r, _, http = wired
    stop = [(k, "STOP" if k == "Body" else v) for k, v in INBOUND if not k.startswith("Media")]
    stop = [(k, "0" if k == "NumMedia" else v) for k, v in stop]
    await post(http, "/twilio/sms", stop, r.simulator.auth_token, f"{PUBLIC}/twilio/sms")

    conversation = await r.transport.get_conversation(f"sms:{GRANDSON.value}")
    assert "OPTED_OUT" == (conversation.health.value if conversation.health else None)
    assert Handle(GRANDSON.value) in r.provider.opted_out


async def test_get_is_refused_and_a_huge_body_is_413(
    wired: tuple[Rig, list[InboundEvent], httpx.AsyncClient],
) -> None:
    _, seen, http = wired
    assert 405 == (await http.get("/twilio/sms")).status_code
    assert 413 == (await http.post("/twilio/sms", content=b"x" * 70_000)).status_code
    assert [] == seen
