"""The API token goes to Linq in the Authorization header, and nowhere else."""

from __future__ import annotations

import logging

import httpx
import pytest

from adapters.linq import LinqClient, LinqConfig, Secret
from adapters.linq.wire_account import CreatedWebhookSubscription
from caresupport_transport import OutgoingMessage
from caresupport_transport.errors import TransportError

from .support import CHAT_ID, TOKEN, FakeLinq, chat_json, config, error_json


def test_repr_of_config_and_secret_hide_the_token() -> None:
    settings = config(webhook_signing_secret="whsec_c2VjcmV0")

    assert TOKEN not in repr(settings)
    assert "whsec_c2VjcmV0" not in repr(settings)
    assert ("***", "Secret('***')") == (str(settings.api_token), repr(settings.api_token))
    assert TOKEN == settings.api_token.reveal()


def test_repr_of_a_new_webhook_subscription_hides_its_signing_secret() -> None:
    created = CreatedWebhookSubscription(
        id="s1",
        target_url="https://care.example.org/hooks/linq",
        signing_secret=Secret("whsec_abc"),
        subscribed_events=("message.received",),
        is_active=True,
    )

    assert "whsec_abc" not in repr(created)
    assert "whsec_abc" == created.signing_secret.reveal()


async def test_the_token_is_sent_as_a_bearer_header(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, chat_json())

    await client.get_chat(CHAT_ID)

    assert f"Bearer {TOKEN}" == linq.last.headers["Authorization"]
    assert TOKEN not in repr(client)
    assert TOKEN not in repr(linq.last)


async def test_the_token_is_in_no_log_line_and_no_error_message(
    linq: FakeLinq, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, http = linq.client(max_attempts=2)
    linq.fail(httpx.ConnectError(f"proxy said: bad token {TOKEN}"))
    linq.answer(401, error_json(401, 2004, f"Token {TOKEN} is not valid"))
    errors: list[TransportError] = []

    async with http, client:
        try:
            await client.create_chat(["+15557654321"], OutgoingMessage.of_text("Hello"))
        except TransportError as exc:
            errors.append(exc)
        linq.fail(httpx.ConnectError(f"refused {TOKEN}"))
        linq.fail(httpx.ConnectError(f"refused {TOKEN}"))
        try:
            await client.get_chat(CHAT_ID)
        except TransportError as exc:
            errors.append(exc)

    assert 2 == len(errors)
    assert caplog.records, "the client logs its requests"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
    for error in errors:
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
    assert "Token *** is not valid" in str(errors[0])


async def test_log_lines_name_method_path_status_attempt_and_trace_id(
    linq: FakeLinq, client: LinqClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="caresupport_transport.linq")
    linq.answer(503, error_json(503, 3006, "busy", trace_id="tr-503"))
    linq.answer(200, {**chat_json(), "trace_id": "tr-200"})

    await client.get_chat(CHAT_ID)

    lines = [r.getMessage() for r in caplog.records if r.name == "caresupport_transport.linq"]
    assert lines[0].startswith(f"GET /v3/chats/{CHAT_ID} -> 503 (attempt 1, ")
    assert lines[0].endswith("ms, trace_id tr-503)")
    assert lines[-1].startswith(f"GET /v3/chats/{CHAT_ID} -> 200 (attempt 2, ")
    assert lines[-1].endswith("trace_id tr-200)")
    assert not any("handles" in line for line in lines)  # no bodies


def test_from_env_errors_never_show_the_token() -> None:
    with pytest.raises(TransportError) as caught:
        LinqConfig.from_env({"LINQ_API_TOKEN": TOKEN, "LINQ_PHONE_NUMBER": "not a phone"})

    assert TOKEN not in str(caught.value)
