"""A Linq on ``httpx.MockTransport`` answering by route, and a ``LinqTransport`` talking to it.

Sample bodies come from the client tests' support (shaped like the API's).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import httpx

from adapters.linq import LinqClient, LinqTransport
from caresupport_transport import FallbackPolicy

from ..client.support import (
    BASE_URL,
    CHAT_ID,
    LINE,
    MESSAGE_ID,
    NOW,
    body_of,
    chat_json,
    config,
    error_json,
    handle_json,
    message_json,
    path_of,
    query_of,
    sent_message_json,
)

__all__ = [
    "CHAT_ID",
    "GRANDMA",
    "LINE",
    "MESSAGE_ID",
    "NURSE",
    "SON",
    "Clock",
    "RoutedLinq",
    "body_of",
    "chat_json",
    "error_json",
    "group_json",
    "handle_json",
    "make_transport",
    "message_json",
    "one_to_one_json",
    "path_of",
    "query_of",
    "reply",
    "sent_json",
    "sent_message_json",
]

GRANDMA = "+16515550101"
"""On iMessage in most tests."""
NURSE = "+16515550102"
SON = "+16515550103"

DEFAULT_POLICY = FallbackPolicy()

Responder = Callable[[httpx.Request], httpx.Response]


def reply(status: int = 200, body: Any = None) -> httpx.Response:
    """A JSON answer (or an empty one when ``body`` is ``None``)."""
    if body is None:
        return httpx.Response(status)
    return httpx.Response(status, json=body)


@attrs.define
class _Route:
    method: str
    pattern: re.Pattern[str]
    answers: list[httpx.Response | Responder]


@attrs.define
class RoutedLinq:
    """Answers each request from the first route matching its method and path.

    A route holds a queue of answers; the last one keeps answering. Requests that
    match no route fail the test. ``requests`` holds everything sent.
    """

    routes: list[_Route] = attrs.Factory(list)
    requests: list[httpx.Request] = attrs.Factory(list)
    slept: list[float] = attrs.Factory(list)
    checks: dict[tuple[str, str], list[bool | httpx.Response]] = attrs.Factory(dict)

    def __attrs_post_init__(self) -> None:
        self.on("POST", "/v3/capability/check_(imessage|rcs)", self._check)

    def on(self, method: str, path: str, *answers: httpx.Response | Responder) -> None:
        """Answer ``method`` on ``path`` (a regex of the path after ``/api/partner``)."""
        self.routes.insert(0, _Route(method, re.compile(f"^{path}$"), list(answers)))

    def on_json(self, method: str, path: str, status: int = 200, body: Any = None) -> None:
        self.on(method, path, reply(status, body))

    def capable(
        self, handle: str, *, imessage: bool | httpx.Response, rcs: bool | httpx.Response = False
    ) -> None:
        """Capability checks for ``handle`` answer ``available`` as given (or the response)."""
        self.checks[("check_imessage", handle)] = [imessage]
        self.checks[("check_rcs", handle)] = [rcs]

    def _check(self, request: httpx.Request) -> httpx.Response:
        what = path_of(request).rsplit("/", 1)[-1]
        address = body_of(request)["address"]
        queue = self.checks.get((what, address))
        if queue is None:
            raise AssertionError(f"no {what} answer for {address}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, httpx.Response):
            return answer
        return reply(200, {"address": address, "available": answer})

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = path_of(request)
        for route in self.routes:
            if route.method == request.method and route.pattern.match(path):
                return self._answer(route, request)
        raise AssertionError(f"unexpected request {request.method} {path}")

    @staticmethod
    def _answer(route: _Route, request: httpx.Request) -> httpx.Response:
        answer = route.answers.pop(0) if len(route.answers) > 1 else route.answers[0]
        return answer(request) if callable(answer) else answer

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        """The requests made to ``method`` on a path matching the regex ``path``."""
        pattern = re.compile(f"^{path}$")
        return [r for r in self.requests if r.method == method and pattern.match(path_of(r))]

    def bodies(self, method: str, path: str) -> list[Any]:
        return [body_of(r) for r in self.sent(method, path)]


@attrs.define
class Clock:
    """Monotonic seconds a test moves by hand."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


def make_transport(
    linq: RoutedLinq,
    *,
    policy: FallbackPolicy = DEFAULT_POLICY,
    clock: Clock | None = None,
    webhook_signing_secret: str | None = None,
    **options: Any,
) -> tuple[LinqTransport, httpx.AsyncClient]:
    """A ``LinqTransport`` over ``linq``; keys it makes are ``gen-1``, ``gen-2``..."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(linq.handle), base_url=BASE_URL)
    settings = config(webhook_signing_secret=webhook_signing_secret)
    client = LinqClient(
        settings, http=http, sleep=linq.sleep, random=lambda: 0.5, clock=lambda: NOW
    )
    keys = iter(f"gen-{n}" for n in range(1, 10_000))
    transport = LinqTransport(
        client,
        policy=policy,
        clock=clock or Clock(),
        new_key=lambda: next(keys),
        **options,
    )
    return transport, http


def group_json(chat_id: str, handles: Sequence[str], **changes: Any) -> dict[str, Any]:
    """A group chat of our line and ``handles``."""
    return chat_json(
        chat_id,
        is_group=True,
        handles=[handle_json(LINE, is_me=True), *(handle_json(h) for h in handles)],
        **changes,
    )


def one_to_one_json(chat_id: str, handle: str, **changes: Any) -> dict[str, Any]:
    return chat_json(
        chat_id, handles=[handle_json(LINE, is_me=True), handle_json(handle)], **changes
    )


def sent_json(
    chat_id: str = CHAT_ID, message_id: str = MESSAGE_ID, **changes: Any
) -> dict[str, Any]:
    """The answer of a send into a chat."""
    return {"chat_id": chat_id, "message": sent_message_json(id=message_id, **changes)}
