"""People, a webhook recorder and small helpers for the simulator's tests."""

from __future__ import annotations

from collections import deque
from collections.abc import MutableMapping
from typing import Any

import attrs
import httpx

from adapters.linq.simulator import Simulator
from adapters.memory import RecipientKind

GRANDMA = "+16515550101"
"""iMessage."""
NURSE = "+16515550102"
"""RCS."""
SON = "+16515550103"
"""SMS only."""
LOST = "+16515550104"
"""Looks like a phone, but every delivery fails."""
DAUGHTER = "daughter@example.org"
"""iMessage by email address."""
AUNT = "+16515550105"
UNCLE = "+16515550106"
COUSIN = "+16515550107"
WEBHOOK_URL = "http://127.0.0.1:9000/linq/webhooks"


class FakeSleep:
    """Records every wait instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def populate(sim: Simulator) -> None:
    sim.add_recipient(GRANDMA, RecipientKind.IMESSAGE)
    sim.add_recipient(NURSE, RecipientKind.RCS)
    sim.add_recipient(SON, RecipientKind.SMS_ONLY)
    sim.add_recipient(LOST, RecipientKind.UNREACHABLE)
    sim.add_recipient(DAUGHTER, RecipientKind.IMESSAGE)
    for relative in (AUNT, UNCLE, COUSIN):
        sim.add_recipient(relative, RecipientKind.IMESSAGE)


def text_message(text: str = "Hello from CareSupport", **extra: Any) -> dict[str, Any]:
    return {"parts": [{"type": "text", "value": text}], **extra}


async def create_chat(
    api: httpx.AsyncClient, sender: str, *to: str, text: str = "Hello", **extra: Any
) -> dict[str, Any]:
    """Create a chat from ``sender`` (asserting 201); returns the answer's ``chat`` object."""
    response = await api.post(
        "/v3/chats", json={"from": sender, "to": list(to), "message": text_message(text, **extra)}
    )
    assert response.status_code == 201, response.text
    chat: dict[str, Any] = response.json()["chat"]
    return chat


def error_of(response: httpx.Response) -> tuple[int, int | None]:
    """``(status, code)`` of an error answer, checking the error body's shape.

    The code is ``None`` where the body has none (a 409 Linq gives no code).
    """
    body = response.json()
    assert body["success"] is False
    assert body["error"]["status"] == response.status_code
    assert body["trace_id"]
    return response.status_code, body["error"].get("code")


@attrs.frozen
class Received:
    headers: dict[str, str]
    body: bytes


@attrs.define
class Recorder:
    """An ASGI webhook receiver that records deliveries and answers scripted statuses."""

    statuses: deque[int] = attrs.Factory(deque)
    received: list[Received] = attrs.Factory(list)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(headers, body))
        status = self.statuses.popleft() if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self))
