"""``Console``: the simulator's web console, served by the simulator's own ASGI app.

``GET /console`` is one page (plain HTML, CSS and JavaScript shipped in this
package) drawing a phone per person from ``GET /console/api/state`` and
redrawing on every change pushed by ``GET /console/api/events`` (server-sent
events). The page acts through ``POST /console/api/{action}`` (see
``actions.py``); ``GET /console/api/export`` is the session as a pytest file.

It is for this machine only: every request must name a loopback ``Host``
(a page on another site that resolves its name to 127.0.0.1 is refused) unless
the console was built with ``allow_remote``, and every action must carry the
``X-Console`` header, which a page on another origin cannot send without the
browser asking first (and the console never says yes). Nothing it serves
carries the API token or a signing secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import Coroutine
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from adapters.linq.loopback import is_loopback_host
from adapters.linq.simulator._http import Receive, Request, Response, Scope, Send, read_body
from adapters.linq.simulator.console.actions import ACTIONS
from adapters.linq.simulator.console.export import export_pytest
from adapters.linq.simulator.console.snapshot import build_snapshot
from adapters.linq.simulator.console.stores import store_views
from caresupport_transport.errors import ProviderError, ValidationError
from caresupport_transport.inbound.store import EventStore
from caresupport_transport.model import SendReceipt

if TYPE_CHECKING:
    from adapters.linq.simulator.simulator import Simulator

__all__ = ["CONSOLE_PATH", "Console"]

CONSOLE_PATH = "/console"
_STATIC = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
_SECURITY_HEADERS = (
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' http: https: data:; form-action 'none'; frame-ancestors 'none'; "
        "base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
)
_MAX_ACTION_BYTES = 64 * 1024
_log = logging.getLogger("caresupport_transport.linq.simulator.console")
SSE_POLL_SECONDS = 0.2
"""How often the event stream looks for a change to push."""


def _static(name: str) -> bytes:
    return resources.files("adapters.linq.simulator.console").joinpath("static", name).read_bytes()


class Console:
    """The web console over one :class:`Simulator` (an ASGI app for ``/console...``).

    Args:
        simulator: what the console shows and drives.
        allow_remote: serve requests whose ``Host`` is not loopback (only when
            the simulator was bound off loopback on purpose).
    """

    def __init__(self, simulator: Simulator, *, allow_remote: bool = False) -> None:
        self.simulator = simulator
        self.allow_remote = allow_remote
        self.faults_on: set[str] = set()
        """The fault switches turned on in the console (``"429"``, ``"webhook_drop"`` ...)."""
        self.noted_degradations: dict[str, list[str]] = {}
        """Message id -> what the sender's receipt said was degraded (see :meth:`note_receipt`)."""
        self.inbox_store: EventStore | None = None
        """The care app's inbox store, shown (dead letters, replay) when set."""
        self.outbox_store: EventStore | None = None
        """The care app's outbox store, shown (intents, pending deadlines) when set."""
        self._tasks: set[asyncio.Task[object]] = set()

    def note_receipt(self, receipt: SendReceipt) -> None:
        """Show a send's degradations beside its bubbles on the care line's phone.

        The simulator sees only what was sent; what the sending transport changed
        before sending (an effect it left out for SMS) is in its receipt.
        """
        for message_id in receipt.message_ids:
            notes = self.noted_degradations.setdefault(message_id, [])
            notes.extend(str(d) for d in receipt.degradations if str(d) not in notes)

    def snapshot(self) -> dict[str, Any]:
        """What the page draws of the simulator (see ``snapshot.py``)."""
        return build_snapshot(self)

    async def state(self) -> dict[str, Any]:
        """:meth:`snapshot` with the inbox and outbox views (``None`` without stores)."""
        state = self.snapshot()
        state["stores"] = await store_views(self.inbox_store, self.outbox_store)
        return state

    def spawn(self, work: Coroutine[Any, Any, object]) -> None:
        """Run ``work`` beside the request (webhook deliveries and their retries)."""
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The class only: an exception's message may quote a message's text.
            _log.warning("console: background work failed: %s", type(task.exception()).__name__)

    async def settle(self) -> None:
        """Wait for the work :meth:`spawn` started (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request.from_scope(scope, b"")
        if not self.allow_remote and not is_loopback_host(_host_name(request)):
            await _plain(403, "the console answers on loopback only").send(send)
            return
        path = request.path.removeprefix(CONSOLE_PATH).rstrip("/")
        method = request.method
        if method == "GET" and path == "":
            response = _secure(
                Response(200, _static("console.html"), (("content-type", "text/html"),))
            )
        elif method == "GET" and path.startswith("/static/") and path[8:] in _STATIC:
            name = path[8:]
            response = _secure(Response(200, _static(name), (("content-type", _STATIC[name]),)))
        elif method == "GET" and path == "/api/state":
            response = _secure(Response.json(200, await self.state()))
        elif method == "GET" and path == "/api/export":
            response = _secure(
                Response(
                    200,
                    export_pytest(self.simulator).encode(),
                    (
                        ("content-type", "text/x-python; charset=utf-8"),
                        ("content-disposition", 'attachment; filename="test_console_session.py"'),
                    ),
                )
            )
        elif method == "GET" and path == "/api/events":
            await self._events(receive, send)
            return
        elif method == "POST" and path.startswith("/api/"):
            response = await self._action(path[5:], request, receive)
        else:
            response = _plain(404, "not found")
        await response.send(send)

    async def _action(self, name: str, request: Request, receive: Receive) -> Response:
        if request.headers.get("x-console") != "1":
            return _plain(403, "console actions need the X-Console header")
        action = ACTIONS.get(name)
        if action is None:
            return _plain(404, "no such console action")
        try:
            raw = await read_body(receive, _MAX_ACTION_BYTES)
            body = attrs.evolve(request, body=raw).json_object()
            result = action(self, body)
            answer = await result if inspect.isawaitable(result) else result
        except ValidationError as exc:
            return Response.json(400, {"error": {"field": exc.field, "rule": exc.rule}})
        except ProviderError as exc:
            return Response.json(400, {"error": {"field": None, "rule": str(exc)}})
        self.spawn(self.simulator.deliver_webhooks())
        return Response.json(200, answer)

    async def _events(self, receive: Receive, send: Send) -> None:
        """Server-sent events: the whole state again whenever it changed."""
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.get_running_loop().create_task(watch())
        headers = [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        last = ""
        try:
            while not gone.is_set():
                data = json.dumps(await self.state(), ensure_ascii=False, separators=(",", ":"))
                if data != last:
                    last = data
                    chunk = f"event: state\ndata: {data}\n\n".encode()
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(gone.wait(), SSE_POLL_SECONDS)
        finally:
            watcher.cancel()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _host_name(request: Request) -> str | None:
    """The host the client addressed, without the port (``None`` when unreadable)."""
    try:
        return urlsplit("//" + request.headers.get("host", "")).hostname
    except ValueError:
        return None


def _secure(response: Response) -> Response:
    return response.with_headers(*_SECURITY_HEADERS)


def _plain(status: int, text: str) -> Response:
    return _secure(Response(status, text.encode(), (("content-type", "text/plain"),)))
