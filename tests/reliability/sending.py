"""The send side of the soak: a faulty simulator, a recording wire, and one send's story.

Each chat is written to by one worker, one send after another, so the
simulator's request log for a chat lists the attempts of that chat's sends
in order; :func:`attempts_by_key` uses this to give every attempt the fault
the simulator injected into it (``None`` when it behaved).
"""

from __future__ import annotations

import contextvars
import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

import attrs
import httpx

from adapters.linq.simulator import RequestRecord

__all__ = [
    "SEND_ROUTE",
    "Attempt",
    "KeyRecordingTransport",
    "Outcome",
    "VirtualSleep",
    "attempts_by_key",
]

SEND_ROUTE = "POST /v3/chats/{chatId}/messages"


@attrs.frozen
class Attempt:
    """One HTTP attempt of one send, as the simulator logged it."""

    status: int | None
    fault: str | None
    """``"drop:after"`` and the like; ``None`` when the simulator behaved."""

    @property
    def took_effect(self) -> bool:
        """The simulator handled the request (no fault, or a fault after the effect)."""
        return self.fault is None or self.fault.endswith(":after")


@attrs.frozen
class Outcome:
    """How one send ended: a receipt's message id, or the error it raised."""

    key: str
    chat_id: str
    message_id: str | None = None
    error: BaseException | None = None


class KeyRecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests on, noting each send attempt's idempotency keys (header and body)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.keys: list[str] = []
        self.mismatched: list[tuple[str | None, str | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/messages"):
            header = request.headers.get("idempotency-key")
            body_key = _body_key(request.content)
            if header is None or header != body_key:
                self.mismatched.append((header, body_key))
            self.keys.append(header or "")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _body_key(content: bytes) -> str | None:
    message = json.loads(content).get("message", {})
    key = message.get("idempotency_key") if isinstance(message, dict) else None
    return key if isinstance(key, str) else None


_waits: contextvars.ContextVar[list[float]] = contextvars.ContextVar("soak_waits")


class VirtualSleep:
    """The client's sleep: records each wait (per send task and in total), waits for nothing."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    @staticmethod
    def start_send() -> list[float]:
        """Call at the start of a send's task: the list that send's waits go into."""
        waits: list[float] = []
        _waits.set(waits)
        return waits

    async def __call__(self, seconds: float) -> None:
        self.total += seconds
        self.count += 1
        _waits.get().append(seconds)


def attempts_by_key(
    log: Sequence[RequestRecord], sends_by_chat: dict[str, list[str]], keys: Counter[str]
) -> dict[str, list[Attempt]]:
    """Each key's attempts with their faults, from the simulator's log.

    Args:
        log: the simulator's request log.
        sends_by_chat: each chat's idempotency keys, in the order its worker sent them.
        keys: attempts per key, as the wire recorded them.
    """
    records: dict[str, list[RequestRecord]] = defaultdict(list)
    for record in log:
        if record.route == SEND_ROUTE:
            records[record.path.split("/")[3]].append(record)
    attempts: dict[str, list[Attempt]] = {}
    for chat_id, chat_keys in sends_by_chat.items():
        chat_records: Iterator[RequestRecord] = iter(records.pop(chat_id, []))
        for key in chat_keys:
            attempts[key] = [
                Attempt(record.status, record.fault)
                for record in (next(chat_records) for _ in range(keys[key]))
            ]
        leftover = list(chat_records)
        if leftover:
            raise AssertionError(f"{len(leftover)} unexplained requests to chat {chat_id}")
    if records:
        raise AssertionError(f"requests to chats nobody sent to: {sorted(records)}")
    return attempts
