"""``TwilioClient``: form-encoded requests, Twilio's errors typed, retries only where safe."""

from __future__ import annotations

import base64
import email.utils
import json
import time
from urllib.parse import parse_qsl

import httpx
import pytest

from adapters.linq.config import Secret
from adapters.twilio import TwilioClient, TwilioConfig
from adapters.twilio.client import _retry_after
from caresupport_transport import (
    Handle,
    NotFoundError,
    OptedOutError,
    OutgoingMessage,
    ProviderError,
    RateLimitedError,
    Service,
    UnreachableError,
)

from .support import GRANDSON, rig

SID = "AC" + "1" * 32


def config(**overrides: object) -> TwilioConfig:
    values: dict[str, object] = {
        "account_sid": SID,
        "auth_token": Secret("token"),
        "from_number": Handle("+16515550100"),
        "base_url": "https://api.twilio.test",
    }
    values.update(overrides)
    return TwilioConfig(**values)  # type: ignore[arg-type]


MESSAGE = {
    "sid": "SM" + "2" * 32,
    "to": GRANDSON.value,
    "from": "+16515550100",
    "body": "Pills at 9",
    "status": "queued",
    "direction": "outbound-api",
    "date_created": "Thu, 03 Dec 2026 19:00:00 +0000",
}


async def test_a_create_is_form_encoded_with_status_callback_and_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=MESSAGE)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = TwilioClient(config(), http=http)
        made = await client.create_message(
            GRANDSON.value,
            "Pills at 9",
            media_urls=["https://files.example.org/a.jpg", "https://files.example.org/b.jpg"],
            status_callback="https://care.example.org/s?caresupport_key=k",
        )
    (request,) = seen
    assert f"/2010-04-01/Accounts/{SID}/Messages.json" == request.url.path
    assert "application/x-www-form-urlencoded" == request.headers["content-type"]
    assert [
        ("To", GRANDSON.value),
        ("From", "+16515550100"),
        ("Body", "Pills at 9"),
        ("MediaUrl", "https://files.example.org/a.jpg"),
        ("MediaUrl", "https://files.example.org/b.jpg"),
        ("StatusCallback", "https://care.example.org/s?caresupport_key=k"),
    ] == parse_qsl(request.content.decode())
    assert request.headers["authorization"].startswith("Basic ")
    assert (MESSAGE["sid"], "queued") == (made.sid, made.status)


async def test_a_messaging_service_and_an_api_key_are_used_when_configured() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=MESSAGE)

    key = "SK" + "3" * 32
    service = "MG" + "4" * 32
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = TwilioClient(
            config(
                from_number=None,
                messaging_service_sid=service,
                api_key=key,
                api_secret=Secret("key-secret"),
            ),
            http=http,
        )
        await client.create_message(GRANDSON.value, "hi")
    form = dict(parse_qsl(seen[0].content.decode()))
    assert (service, None) == (form.get("MessagingServiceSid"), form.get("From"))
    expected = "Basic " + base64.b64encode(f"{key}:key-secret".encode()).decode()
    assert expected == seen[0].headers["authorization"]


async def test_twilio_errors_keep_code_and_more_info_and_map_to_the_library() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        code = int(request.url.params.get("code", "21211"))
        status = 404 if code == 20404 else 400
        body = {
            "code": code,
            "message": "nope",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return httpx.Response(
            status, content=json.dumps(body), headers={"Twilio-Request-Id": "RQ1"}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = TwilioClient(config(), http=http)
        with pytest.raises(ProviderError) as bad_to:
            await client.create_message("+1", "x")
        with pytest.raises(NotFoundError) as missing:
            await client._request("GET", "/x.json", params={"code": "20404"})
    assert (400, 21211, "https://www.twilio.com/docs/errors/21211", "RQ1", False) == (
        bad_to.value.status,
        bad_to.value.code,
        bad_to.value.more_info,
        bad_to.value.trace_id,
        bad_to.value.outcome_unknown,
    )
    assert (404, 20404) == (missing.value.status, missing.value.code)


async def test_a_429_is_retried_after_its_retry_after_and_the_send_goes_once() -> None:
    async with rig() as r:
        r.simulator.rate_limit_next(2.5)
        await r.transport.send_message(
            f"sms:{GRANDSON.value}", OutgoingMessage.of_text("hi"), idempotency_key="k"
        )
        assert ([2.5], 1) == (r.waits, len(r.simulator.texts_to(GRANDSON)))


async def test_a_retry_after_beyond_the_budget_is_rate_limited_with_nothing_sent() -> None:
    async with rig(max_retry_after=1.0) as r:
        r.simulator.rate_limit_next(60)
        with pytest.raises(RateLimitedError) as limited:
            await r.transport.send_message(
                f"sms:{GRANDSON.value}", OutgoingMessage.of_text("hi"), idempotency_key="k"
            )
        assert (60.0, 20429, []) == (
            limited.value.retry_after,
            limited.value.code,
            r.simulator.texts_to(GRANDSON),
        )


async def test_reads_are_retried_on_5xx_but_creates_are_not() -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1 or request.method == "POST":
            return httpx.Response(503, json={"code": 20500, "message": "busy", "status": 503})
        return httpx.Response(200, json=MESSAGE)

    async def no_sleep(seconds: float) -> None:
        """Back-off waits on nothing here."""

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = TwilioClient(config(), http=http, sleep=no_sleep)
        fetched = await client.fetch_message(MESSAGE["sid"])
        with pytest.raises(ProviderError) as refused:
            await client.create_message(GRANDSON.value, "x")
    assert (MESSAGE["sid"], ["GET", "GET", "POST"]) == (fetched.sid, calls)
    assert refused.value.outcome_unknown


async def test_a_connection_that_never_opened_is_retried_even_for_a_create() -> None:
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json=MESSAGE)

    async def no_sleep(seconds: float) -> None:
        """Back-off waits on nothing here."""

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = TwilioClient(config(), http=http, sleep=no_sleep, max_retries=2)
        made = await client.create_message(GRANDSON.value, "x")
        calls.clear()
        client_without_retries = TwilioClient(config(), http=http, sleep=no_sleep, max_retries=0)
        with pytest.raises(UnreachableError) as down:
            await client_without_retries.create_message(GRANDSON.value, "x")
    assert MESSAGE["sid"] == made.sid
    assert not down.value.outcome_unknown


async def test_a_send_to_someone_who_texted_stop_is_opted_out_21610() -> None:
    async with rig() as r:
        r.world.receive_text(GRANDSON, "STOP")
        with pytest.raises(OptedOutError) as refused:
            await r.provider.send(
                f"sms:{GRANDSON.value}",
                OutgoingMessage.of_text("hi"),
                service=Service.SMS,
                pinned=False,
                idempotency_key="k",
            )
        assert (GRANDSON, 21610) == (refused.value.person, refused.value.code)


def test_a_retry_after_given_as_an_http_date_is_waited_out_to_that_date() -> None:
    """Read by the one parser the Linq client uses: seconds, an HTTP date, or backoff."""
    in_two_minutes = email.utils.formatdate(time.time() + 120, usegmt=True)

    dated = _retry_after(httpx.Response(429, headers={"Retry-After": in_two_minutes}), 0)
    unreadable = _retry_after(httpx.Response(429, headers={"Retry-After": "soon"}), 2)

    assert 115 <= dated <= 121
    assert 2.0 == unreadable
