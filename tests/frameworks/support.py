"""The web-framework recipes of docs/webhooks.md, run as written, and the deliveries they get.

Each recipe is read from the doc and executed after the doc's wiring block, in
one namespace, as a user's module would run them. The care logic the wiring
imports (``from care import on_event``) is a recording handler. Every framework
gets the same script of signed deliveries (:func:`script`) and must answer each
with the same status and JSON as the ASGI receiver does.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import types
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters.linq.receiving import DEFAULT_MAX_BODY_BYTES
from caresupport_transport.inbound import EventStore
from tests.linq.receiver.support import SECRET, Recorder, encode, envelope, standard_headers

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"

# Another Standard Webhooks secret, for forged deliveries.
FORGERS_SECRET = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"

Post = Callable[[bytes, dict[str, str]], "Answer"]
AsyncPost = Callable[[bytes, dict[str, str]], Awaitable["Answer"]]


def recipe(name: str) -> str:
    """The code of the block marked ``<!-- recipe:NAME -->`` in docs/webhooks.md."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- recipe:{re.escape(name)} -->\n```python\n(.*?)```\n", text, re.S)
    assert match is not None, f"docs/webhooks.md lost its {name!r} recipe"
    return match.group(1)


@attrs.define
class Deployment:
    """What the doc's code defined (``app``, ``intake``, ``store``...) and the care handler."""

    names: dict[str, Any]
    handler: Recorder

    @property
    def store(self) -> EventStore:
        store: EventStore = self.names["store"]
        return store

    def handled_ids(self) -> list[str]:
        return sorted(event.event_id for event in self.handler.handled)


def deploy(
    *recipes: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    secret: str | None = SECRET,
    failures: int = 0,
) -> Deployment:
    """Run the wiring, then ``recipes``, in a fresh namespace, with a test environment.

    Args:
        secret: ``LINQ_WEBHOOK_SIGNING_SECRET``, or ``None`` to leave it unset.
        failures: how many deliveries the care handler fails before it works.
    """
    monkeypatch.chdir(tmp_path)  # the wiring's events.sqlite lands here
    monkeypatch.setenv("LINQ_API_TOKEN", "framework-recipe-token")
    monkeypatch.setenv("LINQ_PHONE_NUMBER", "+12025551234")
    monkeypatch.setenv("LINQ_BASE_URL", "http://127.0.0.1:9")  # never called; loopback anyway
    if secret is None:
        monkeypatch.delenv("LINQ_WEBHOOK_SIGNING_SECRET", raising=False)
    else:
        monkeypatch.setenv("LINQ_WEBHOOK_SIGNING_SECRET", secret)
    handler = Recorder(failures_left=failures)
    care = types.ModuleType("care")
    care.on_event = handler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "care", care)
    names: dict[str, Any] = {"__name__": "linq_webhook_recipe"}
    for name in ("wiring", *recipes):
        exec(compile(recipe(name), f"{DOC}#recipe:{name}", "exec"), names)
    return Deployment(names, handler)


@attrs.frozen
class Answer:
    """What a framework answered: status, JSON body and the ``Retry-After`` header."""

    status: int
    body: dict[str, Any]
    retry_after: str | None = None


def answer_of(status: int, content_type: str, content: bytes, retry_after: str | None) -> Answer:
    """An :class:`Answer` from a response; a body that is not JSON is kept as text to show."""
    if content_type.split(";")[0].strip() != "application/json":
        return Answer(status, {"not JSON": content[:200].decode("utf-8", "replace")}, retry_after)
    return Answer(status, json.loads(content), retry_after)


@attrs.frozen
class Step:
    """One delivery of the script and the answer it must get."""

    what: str
    body: bytes
    headers: dict[str, str]
    expected: Answer
    claimed_elsewhere: bool = False  # another worker holds the event's claim first


BUSY_EVENT = "evt-busy"


def script() -> Iterator[Step]:
    """Signed deliveries covering every answer after the body is read.

    The recipes store each delivery in the durable inbox and answer at once; the
    worker then hands ``evt-2`` and ``evt-1`` to the care handler, once each.
    """
    now = int(time.time())
    first = encode(envelope("evt-1", message_id="msg-1", chat_id="chat-1"))
    second = encode(
        envelope("evt-2", message_id="msg-2", chat_id="chat-2", text="Is the pharmacy open?")
    )
    # Over Django's own DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) too, so a view that read
    # the body before refuse_early would answer Django's 400, not the intake's 413.
    oversized = b" " * (3 * DEFAULT_MAX_BODY_BYTES)

    def signed(body: bytes, msg_id: str) -> dict[str, str]:
        return standard_headers(body, msg_id=msg_id, timestamp=now)

    yield Step(
        "a delivery is stored and acknowledged at once",
        second,
        signed(second, "msg_d2"),
        Answer(200, {"status": "queued", "event_id": "evt-2"}),
    )
    yield Step(
        "another delivery is stored",
        first,
        signed(first, "msg_d1"),
        Answer(200, {"status": "queued", "event_id": "evt-1"}),
    )
    yield Step(
        "its redelivery is a duplicate",
        first,
        signed(first, "msg_d1"),
        Answer(200, {"status": "duplicate", "event_id": "evt-1"}),
    )
    yield Step(
        "a forged signature is refused",
        first,
        standard_headers(first, msg_id="msg_d1", timestamp=now, secret=FORGERS_SECRET),
        Answer(401, {"error": "signature mismatch", "detail": "webhook-signature"}),
    )
    yield Step(
        "a body over the limit is refused",
        oversized,
        signed(oversized, "msg_big"),
        Answer(
            413, {"error": "body too large", "detail": f"at most {DEFAULT_MAX_BODY_BYTES} bytes"}
        ),
    )


EXPECTED_HANDLED = ["evt-1", "evt-2"]
"""What the care handler gets, sorted (two conversations: the worker may take either first)."""


NO_SECRET = Answer(
    503,
    {
        "error": "no secret configured",
        "detail": "the receiver refuses every delivery until a signing secret is set",
    },
)


def genuine_delivery() -> tuple[bytes, dict[str, str]]:
    body = encode(envelope("evt-1"))
    return body, standard_headers(body, timestamp=int(time.time()))


async def play(post: AsyncPost, deployment: Deployment) -> None:
    """Send :func:`script` through an async client, then wait for the worker to hand it over."""
    for step in script():
        assert step.expected == await post(step.body, step.headers), step.what
    for _ in range(1000):
        if len(deployment.handler.handled) >= len(EXPECTED_HANDLED):
            return
        await asyncio.sleep(0.01)


def play_blocking(post: Post, deployment: Deployment) -> None:
    """Send :func:`script` through a synchronous client, then wait for the worker."""
    for step in script():
        assert step.expected == post(step.body, step.headers), step.what
    for _ in range(1000):
        if len(deployment.handler.handled) >= len(EXPECTED_HANDLED):
            return
        time.sleep(0.01)


async def close(deployment: Deployment) -> None:
    """What the doc says to do at shutdown: stop the workers, close the store and transport."""
    for name in ("receiver", "intake"):
        if name in deployment.names:
            await deployment.names[name].aclose()
    await deployment.store.close()
    await deployment.names["transport"].aclose()
