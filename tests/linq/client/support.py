"""A scripted Linq on ``httpx.MockTransport``, and sample bodies shaped like the API's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import httpx

from adapters.linq import LinqClient, LinqConfig

from ..schema import load_schema

TOKEN = "lq_test_TOKEN_9f8e7d6c5b4a"
LINE = "+15550001111"
BASE_URL = "https://linq.test/api/partner"
NOW = 1_780_000_000.0

CHAT_ID = "6f1c0d1e-5b7a-4c1e-9d55-2f0a8d4b9c10"
MESSAGE_ID = "69a37c7d-af4f-4b5e-af42-e28e98ce873a"
ATTACHMENT_ID = "abc12345-1234-5678-9abc-def012345678"
HANDLE_ID = "0d3c8b7a-1111-4222-8333-944455556666"
SUBSCRIPTION_ID = "b2c3d4e5-f6a7-8901-bcde-f23456789012"
WHEN = "2026-03-01T12:00:00Z"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def config(**changes: Any) -> LinqConfig:
    return attrs.evolve(
        LinqConfig(api_token=TOKEN, phone_number=LINE, base_url=BASE_URL), **changes
    )


@attrs.define
class FakeLinq:
    """Answers requests in order from a script and records what was sent.

    ``answer``/``fail`` queue what the next request gets; ``requests`` holds what
    came in; ``slept`` what the client waited between attempts.
    """

    script: list[Answer] = attrs.Factory(list)
    requests: list[httpx.Request] = attrs.Factory(list)
    exchanges: list[tuple[httpx.Request, httpx.Response]] = attrs.Factory(list)
    slept: list[float] = attrs.Factory(list)

    def answer(
        self,
        status: int = 200,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> None:
        if content is None and body is not None:
            content = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.script.append(httpx.Response(status, headers=headers, content=content or b""))

    def fail(self, error: Exception) -> None:
        self.script.append(error)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.script:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        response = answer(request) if callable(answer) else answer
        self.exchanges.append((request, response))
        return response

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def client(self, **config_changes: Any) -> tuple[LinqClient, httpx.AsyncClient]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handle), base_url=BASE_URL)
        keys = iter(f"key-{n}" for n in range(1, 1000))
        client = LinqClient(
            config(**config_changes),
            http=http,
            sleep=self.sleep,
            random=lambda: 0.5,
            clock=lambda: NOW,
            new_key=lambda: next(keys),
        )
        return client, http

    def check_against_reference(self) -> None:
        """Validate every body exchanged against the published schemas, where documented."""
        schema = load_schema()
        if schema is None:
            return  # tests/linq/client/test_reference.py reports the skip
        for request, response in self.exchanges:
            path = request.url.path.removeprefix("/api/partner")
            if not schema.has(request.method, path):
                continue
            schema.validate_request(request.method, path, body_of(request))
            answer = json.loads(response.content) if response.content else None
            schema.validate_response(request.method, path, response.status_code, answer)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def query_of(request: httpx.Request) -> list[tuple[str, str]]:
    return list(request.url.params.multi_items())


def path_of(request: httpx.Request) -> str:
    return request.url.path.removeprefix("/api/partner")


def handle_json(handle: str = "+15557654321", *, is_me: bool = False) -> dict[str, Any]:
    return {
        "id": HANDLE_ID,
        "handle": handle,
        "service": "iMessage",
        "status": "active",
        "joined_at": WHEN,
        "left_at": None,
        "is_me": is_me,
    }


def chat_json(chat_id: str = CHAT_ID, **changes: Any) -> dict[str, Any]:
    return {
        "id": chat_id,
        "display_name": None,
        "service": "iMessage",
        "handles": [handle_json(LINE, is_me=True), handle_json()],
        "is_archived": False,
        "is_group": False,
        "created_at": WHEN,
        "updated_at": WHEN,
        **changes,
    }


def sent_message_json(**changes: Any) -> dict[str, Any]:
    return {
        "id": MESSAGE_ID,
        "service": "iMessage",
        "preferred_service": None,
        "parts": [{"type": "text", "value": "See you at 3", "reactions": None}],
        "sent_at": WHEN,
        "delivered_at": None,
        "delivery_status": "queued",
        "is_read": False,
        "effect": None,
        "from_handle": handle_json(LINE, is_me=True),
        "reply_to": None,
        **changes,
    }


def message_json(message_id: str = MESSAGE_ID, **changes: Any) -> dict[str, Any]:
    return {
        "id": message_id,
        "chat_id": CHAT_ID,
        "service": "iMessage",
        "preferred_service": None,
        "from": "+15557654321",
        "from_handle": handle_json(),
        "parts": [{"type": "text", "value": "Is the 2pm pill with food?", "reactions": None}],
        "reply_to": None,
        "is_from_me": False,
        "is_delivered": True,
        "is_read": False,
        "created_at": WHEN,
        "updated_at": WHEN,
        "sent_at": WHEN,
        "delivered_at": WHEN,
        "read_at": None,
        "effect": None,
        **changes,
    }


def error_json(status: int, code: int, message: str, trace_id: str = "trace-1") -> dict[str, Any]:
    return {
        "success": False,
        "error": {"status": status, "code": code, "message": message},
        "trace_id": trace_id,
    }


def accepted_json(message: str = "queued") -> dict[str, Any]:
    return {"status": "accepted", "trace_id": "trace-accepted", "message": message}
