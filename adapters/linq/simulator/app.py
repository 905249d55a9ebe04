"""The simulator's ASGI application: the Partner API V3 under ``/api/partner``.

Also served, outside the API: ``PUT /uploads/{id}?signature=...`` (the
presigned upload URL ``POST /v3/attachments`` hands out), ``GET
/files/{id}/{filename}`` (its download URL), ``/_simulator/...`` (control
endpoints, see ``control.py``), ``/console`` (the web console, see
``console/``) and ``GET /`` (a health line).

Each API request is, in order: matched to a route (404 / 405 otherwise),
counted, authenticated (401 / 2004), given any fault due *before* it takes
effect, handled, then given any fault due *after*. Every refusal carries
Linq's error body and every JSON answer a ``trace_id`` (also sent as
``X-Trace-Id``, so a 204 has one too).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

import attrs
import httpx

from adapters.linq.simulator import _errors
from adapters.linq.simulator._http import Receive, Request, Response, Scope, Send, read_body
from adapters.linq.simulator._routing import Call, Route, Router
from adapters.linq.simulator._uploads import serve_download, serve_upload
from adapters.linq.simulator.counters import RequestRecord
from adapters.linq.simulator.faults import FaultInjector, FaultKind, FaultTiming, InjectedFault
from adapters.linq.simulator.routes import ROUTES
from adapters.linq.simulator.state import Backend
from caresupport_transport.errors import (
    InvalidHandleError,
    ProviderError,
    RateLimitedError,
    ValidationError,
)
from caresupport_transport.limits import MAX_UPLOAD_BYTES

__all__ = ["BASE_PATH", "MAX_JSON_BODY_BYTES", "SimulatorApp"]

BASE_PATH = "/api/partner"
MAX_JSON_BODY_BYTES = 1024 * 1024
"""API request bodies are JSON; anything bigger is refused with 413 / 5001."""

Sleep = Callable[[float], Awaitable[None]]


@attrs.define
class SimulatorApp:
    """A plain ASGI application over a :class:`Backend` (build it with ``Simulator``)."""

    backend: Backend
    faults: FaultInjector = attrs.Factory(FaultInjector)
    sleep: Sleep = asyncio.sleep
    router: Router = attrs.Factory(lambda: Router(ROUTES))
    control: Callable[[Request], Response] | None = None
    """Serves ``/_simulator/...`` (see ``control.py``) when set."""
    console: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None
    """Serves ``/console`` and below (the web console, see ``console/``) when set."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == BASE_PATH or path.startswith(BASE_PATH + "/"):
            await self._api(scope, receive, send)
        elif path.startswith("/uploads/"):
            await self._plain(scope, receive, send, MAX_UPLOAD_BYTES + 1, serve_upload)
        elif path.startswith("/files/"):
            await self._plain(scope, receive, send, 0, serve_download)
        elif path.startswith("/_simulator/") and self.control is not None:
            control = self.control
            await self._plain(
                scope, receive, send, MAX_JSON_BODY_BYTES, lambda _, request: control(request)
            )
        elif (path == "/console" or path.startswith("/console/")) and self.console is not None:
            await self.console(scope, receive, send)
        elif path == "/":
            await Response.json(200, {"service": "linq-simulator", "base_path": BASE_PATH}).send(
                send
            )
        else:
            await Response(404, b"not found", (("content-type", "text/plain"),)).send(send)

    async def _plain(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        limit: int,
        serve: Callable[[Backend, Request], Response],
    ) -> None:
        try:
            body = await read_body(receive, limit)
        except ProviderError:
            await Response(413, b"EntityTooLarge", (("content-type", "text/plain"),)).send(send)
            return
        await serve(self.backend, Request.from_scope(scope, body)).send(send)

    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        backend = self.backend
        counters = backend.counters
        trace_id = backend.ids.trace()
        method = scope["method"].upper()
        api_path = scope["path"][len(BASE_PATH) :] or "/"
        route, params, path_known = self.router.resolve(method, api_path)
        key = route.key if route else f"{method} <unmatched>"
        counters.requests[key] += 1
        counters.requests_by_path[f"{method} {api_path}"] += 1
        fault: InjectedFault | None = None
        try:
            request = Request.from_scope(scope, await read_body(receive, MAX_JSON_BODY_BYTES))
            if route is None:
                raise _errors.method_not_allowed() if path_known else _errors.not_found("Route")
            account = backend.account_for(request.headers.get("authorization"))
            fault = self.faults.for_request(key)
            if fault is not None:
                counters.faults[fault.label] += 1
                if fault.timing is FaultTiming.BEFORE:
                    counters.log.append(RequestRecord(key, api_path, None, fault.label))
                    await self._strike(fault, send, None, trace_id)
                    return
            response = self._handle(route, Call(request, params, account, backend, trace_id))
        except ProviderError as exc:
            response = _error_response(exc, trace_id)
        if fault is not None:
            counters.log.append(RequestRecord(key, api_path, response.status, fault.label))
            await self._strike(fault, send, response, trace_id)
            return
        counters.log.append(RequestRecord(key, api_path, response.status))
        await response.with_headers(("x-trace-id", trace_id)).send(send)

    def _handle(self, route: Route, call: Call) -> Response:
        backend = call.backend
        backend.sync()
        try:
            return route.handler(call)
        except InvalidHandleError as exc:
            raise _errors.bad_request(str(exc), _errors.INVALID_PHONE) from None
        except ValidationError as exc:
            # The World refused (a group rule, a part index): Linq answers 400.
            raise _errors.bad_request(str(exc)) from None
        finally:
            backend.sync()

    async def _strike(
        self, fault: InjectedFault, send: Send, response: Response | None, trace_id: str
    ) -> None:
        """Misbehave as ``fault`` says; ``response`` is the real answer when it took effect."""
        kind = fault.kind
        if kind is FaultKind.RATE_LIMIT:
            answer = _error_response(_errors.rate_limited(fault.retry_after), trace_id)
        elif kind is FaultKind.SERVER_ERROR:
            answer = _error_response(
                ProviderError("Internal server error", status=500, code=_errors.INTERNAL),
                trace_id,
            )
        elif kind is FaultKind.UNAVAILABLE:
            answer = _error_response(
                ProviderError(
                    "Service temporarily unavailable",
                    status=503,
                    code=_errors.UPSTREAM_UNAVAILABLE,
                ),
                trace_id,
            )
        elif kind is FaultKind.MALFORMED:
            if response is None or not response.body:
                # Nothing real to break (a 204 cannot carry a body): a gateway's garbage.
                answer = Response(200, b'{"chat":', (("content-type", "application/json"),))
            else:
                half = response.body[: len(response.body) // 2]
                answer = Response(response.status, half, (("content-type", "application/json"),))
        elif kind is FaultKind.HANG:
            await self.sleep(fault.hang_seconds)
            # The client has given up by now; in-process it sees what a timeout looks like.
            raise httpx.ReadTimeout("simulated: no answer within the client's timeout")
        else:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise httpx.RemoteProtocolError("simulated: connection dropped mid-answer")
        await answer.with_headers(("x-trace-id", trace_id)).send(send)


def _seconds(value: float) -> str:
    """``Retry-After`` is whole seconds in HTTP: a fraction is rounded up."""
    return str(math.ceil(value))


def _error_response(error: ProviderError, trace_id: str) -> Response:
    response = Response.json(error.status or 500, _errors.error_body(error, trace_id))
    if isinstance(error, RateLimitedError) and error.retry_after is not None:
        # A route's own limit (location requests, audits) says when to come back.
        response = response.with_headers(("retry-after", _seconds(error.retry_after)))
    return response


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
