"""Serve the webhook receiver under uvicorn with the limits a public endpoint needs.

:class:`~adapters.linq.asgi.WebhookReceiver` bounds what happens once a request
has arrived (body deadline, requests in hand, unverified bytes). What happens
before (a client that opens a connection and drips its request head a byte at a
time, or opens thousands of them) is below ASGI, so :func:`make_server` adds it
to uvicorn:

- **A deadline for the request head** (``header_timeout``, default 10 s): a
  connection that has not sent a complete request head within it, counted from
  when it was accepted or last answered, is closed. uvicorn has no such
  deadline; its keep-alive timer restarts on every byte.
- **A bound on connections** (``max_connections``, default 1000, lowered to fit
  the process's file-descriptor limit, see :func:`fd_budget`): at the bound, a
  new connection closes the oldest one that is *waiting* (no request in hand),
  so slow or idle connections make room and a delivery in progress is never
  dropped.
- uvicorn's own settings: the keep-alive timeout, h11's bound on a request
  head's size, ``limit_concurrency`` as a backstop, no access log unless asked,
  no ``Server`` header, no proxy headers.

:class:`FloodFilter` keeps the logs readable under a flood: one line per kind of
message per interval, with a count of the ones left out, instead of a line (or a
traceback) per connection.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, ClassVar

import attrs

from caresupport_transport.errors import ConfigurationError

__all__ = [
    "DEFAULT_HEADER_TIMEOUT_SECONDS",
    "DEFAULT_KEEP_ALIVE_SECONDS",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_HEADER_BYTES",
    "FD_RESERVE",
    "FdBudget",
    "FloodFilter",
    "ServerLimits",
    "fd_budget",
    "make_server",
]

_log = logging.getLogger(__name__)

DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
"""Seconds a connection may take to send a complete request head."""

DEFAULT_KEEP_ALIVE_SECONDS = 5.0
"""Seconds an idle connection is kept open after an answer."""

DEFAULT_MAX_CONNECTIONS = 1000
"""Connections open at once (lowered to fit the file-descriptor limit)."""

DEFAULT_MAX_HEADER_BYTES = 16_384
"""Bytes a request head may have (h11's limit on an incomplete event)."""

FD_RESERVE = 32
"""File descriptors kept free for everything but client connections (the
listening socket, the event loop, the SQLite store, log files)."""

_MAX_BACKLOG = 2048  # uvicorn's default
_MIN_ROOM = 3  # one connection, and one of backlog twice over
SUMMARY_ATTRIBUTE = "flood_summary"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


def _positive_number(name: str) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigurationError(f"{name}: must be a number of seconds")
        if not (math.isfinite(value) and value > 0):
            raise ConfigurationError(f"{name}: must be positive and finite, got {value}")

    return check


def _positive_int(name: str) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigurationError(f"{name}: must be an int")
        if value < 1:
            raise ConfigurationError(f"{name}: must be positive, got {value}")

    return check


@attrs.frozen
class ServerLimits:
    """What :func:`make_server` sets below ASGI; each is validated at construction.

    Args:
        header_timeout: seconds to send a complete request head.
        keep_alive_timeout: seconds an idle connection stays open after an answer.
        max_connections: connections open at once (see :func:`fd_budget`).
        max_header_bytes: bytes a request head may have; a bigger one gets 400.
    """

    header_timeout: float = attrs.field(
        default=DEFAULT_HEADER_TIMEOUT_SECONDS, validator=_positive_number("header_timeout")
    )
    keep_alive_timeout: float = attrs.field(
        default=DEFAULT_KEEP_ALIVE_SECONDS, validator=_positive_number("keep_alive_timeout")
    )
    max_connections: int = attrs.field(
        default=DEFAULT_MAX_CONNECTIONS, validator=_positive_int("max_connections")
    )
    max_header_bytes: int = attrs.field(
        default=DEFAULT_MAX_HEADER_BYTES, validator=_positive_int("max_header_bytes")
    )


@attrs.frozen
class FdBudget:
    """How the file descriptors left for clients are shared out.

    ``connections`` is the bound on open connections; ``backlog`` is the listen
    backlog, which is also how many connections asyncio accepts in one go
    before any of them is looked at (and before an evicted one's descriptor is
    closed). Both together fit the limit, so ``accept()`` does not fail with
    "Too many open files".
    """

    connections: int
    backlog: int


def fd_budget(max_connections: int, fd_limit: int | None = None) -> FdBudget:
    """``max_connections`` and the backlog, fitted to ``fd_limit`` (default: this process's).

    Of the limit, :data:`FD_RESERVE` descriptors are kept for the process; of the
    rest, at most half go to connections and the remainder (at most 2048) to
    the backlog.

    Raises:
        ConfigurationError: when the limit leaves no room for a connection.
    """
    limit = _soft_fd_limit() if fd_limit is None else fd_limit
    if limit is None:
        return FdBudget(max_connections, _MAX_BACKLOG)
    room = limit - FD_RESERVE
    if room < _MIN_ROOM:
        raise ConfigurationError(
            f"the file-descriptor limit ({limit}) leaves no room for connections: "
            f"raise it to at least {FD_RESERVE + _MIN_ROOM} (ulimit -n)"
        )
    connections = min(max_connections, room // 2)
    # Accepted in one go, plus as many evicted whose descriptors close a loop
    # iteration later: twice the backlog must fit beside the connections.
    return FdBudget(connections, min(_MAX_BACKLOG, (room - connections) // 2))


def _soft_fd_limit() -> int | None:
    try:
        import resource
    except ImportError:  # not on Unix
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def make_server(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    limits: ServerLimits | None = None,
    access_log: bool = False,
    log_config: dict[str, Any] | None = None,
) -> Any:
    """A ``uvicorn.Server`` running ``app`` with ``limits``; start it with ``await .serve()``.

    Args:
        access_log: log a line per request on ``uvicorn.access``.
        log_config: passed to uvicorn; ``None`` leaves logging as configured.

    Raises:
        ConfigurationError: when uvicorn (the ``server`` extra) is not installed,
            or the file-descriptor limit leaves no room for connections.
    """
    uvicorn = import_uvicorn()
    from uvicorn.protocols.http.h11_impl import H11Protocol
    from uvicorn.protocols.utils import get_remote_addr

    limits = limits if limits is not None else ServerLimits()
    budget = fd_budget(limits.max_connections)
    guard = _ConnectionGuard(budget.connections, limits.header_timeout, get_remote_addr)
    protocol = type(
        "GuardedH11Protocol", (_GuardedProtocol,), {"guard": guard, "inner_class": H11Protocol}
    )
    config = uvicorn.Config(
        _Tracking(app, guard),
        host=host,
        port=port,
        # h11, not httptools: h11 bounds the size of a request head.
        http=protocol,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        interface="asgi3",
        lifespan="on",
        ws="none",  # deliveries are plain POSTs
        timeout_keep_alive=limits.keep_alive_timeout,
        # The guard holds connections to the budget (plus, for a loop iteration,
        # those just accepted and those just evicted); uvicorn's 503 is a backstop.
        limit_concurrency=budget.connections + 2 * budget.backlog + 1,
        backlog=budget.backlog,
        # The guard matches requests to connections by their socket's peer.
        proxy_headers=False,
        server_header=False,
        log_config=log_config,
        access_log=access_log,
    )
    return uvicorn.Server(config)


_INSTALL_HINT = 'pip install "caresupport-transport[server]"'


def import_uvicorn() -> Any:
    """The ``uvicorn`` module.

    Raises:
        ConfigurationError: naming the extra to install when it is missing.
    """
    try:
        import uvicorn
    except ImportError:
        raise ConfigurationError(
            f"serving the receiver needs uvicorn, which is not installed: {_INSTALL_HINT}"
        ) from None
    return uvicorn


class _ConnectionGuard:
    """Open connections: waiting ones (oldest first, each with a deadline) and busy ones."""

    def __init__(
        self,
        bound: int,
        header_timeout: float,
        peer_of: Callable[[Any], tuple[str, int] | None],
    ) -> None:
        self.bound = bound
        self.header_timeout = header_timeout
        self.peer_of = peer_of
        self.waiting: dict[_GuardedProtocol, None] = {}
        self.busy: set[_GuardedProtocol] = set()
        self._by_peer: dict[tuple[str, int], _GuardedProtocol] = {}

    def admit(self, connection: _GuardedProtocol) -> bool:
        """Take ``connection`` on, closing the oldest waiting one if at the bound."""
        if connection.peer is None:
            return True  # not a TCP peer: uvicorn's own limit applies
        if len(self.waiting) + len(self.busy) >= self.bound:
            victim = next(iter(self.waiting), None)
            if victim is None:
                _log.warning("refused a connection: %d open, all with a request", self.bound)
                return False
            _log.warning("closed the oldest idle connection: %d open", self.bound)
            victim.close()
        self._by_peer[connection.peer] = connection
        self._wait(connection)
        return True

    def find(self, scope: Scope) -> _GuardedProtocol | None:
        client = scope.get("client")
        if not client:
            return None
        return self._by_peer.get((str(client[0]), int(client[1])))

    def request_started(self, connection: _GuardedProtocol) -> None:
        if connection in self.waiting:
            del self.waiting[connection]
            connection.disarm()
            self.busy.add(connection)

    def request_finished(self, connection: _GuardedProtocol) -> None:
        if connection in self.busy:
            self.busy.discard(connection)
            connection.restart()
            self._wait(connection)

    def forget(self, connection: _GuardedProtocol) -> None:
        self.waiting.pop(connection, None)
        self.busy.discard(connection)
        connection.disarm()
        if connection.peer is not None and self._by_peer.get(connection.peer) is connection:
            del self._by_peer[connection.peer]

    def _wait(self, connection: _GuardedProtocol) -> None:
        self.waiting[connection] = None
        connection.arm(self.header_timeout)


class _GuardedProtocol(asyncio.Protocol):
    """Wraps uvicorn's protocol for one connection: admission and the request-head deadline.

    Built by uvicorn once per connection with the arguments of its own protocol
    classes; a subclass made by :func:`make_server` sets ``guard`` and ``inner_class``.
    """

    guard: ClassVar[_ConnectionGuard]
    inner_class: ClassVar[Callable[..., Any]]

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._inner = self.inner_class(
            config=config, server_state=server_state, app_state=app_state, _loop=_loop
        )
        self._loop = _loop or asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._admitted = False
        self._tail = b""
        self.peer: tuple[str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.peer = self.guard.peer_of(transport)
        if not self.guard.admit(self):
            transport.abort()
            return
        self._admitted = True
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        if self in self.guard.waiting:
            # The head is complete at its blank line: busy from here, before
            # uvicorn's request task even starts, so a flood of new
            # connections cannot evict it in between.
            seen = self._tail + data
            if b"\n\r\n" in seen or b"\n\n" in seen:
                self.guard.request_started(self)
            self._tail = seen[-2:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.forget(self)
        if self._admitted:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self._inner.resume_writing()

    def restart(self) -> None:
        """Look for the next request's head from the next byte on."""
        self._tail = b""

    def arm(self, timeout: float) -> None:
        self.disarm()
        self._timer = self._loop.call_later(timeout, self._too_slow)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        """Close at once: nothing is owed to a connection without a request in hand."""
        self.guard.forget(self)
        if self._transport is not None:
            self._transport.abort()

    def _too_slow(self) -> None:
        self._timer = None
        _log.warning(
            "closed a connection that sent no complete request within %g s",
            self.guard.header_timeout,
        )
        self.close()


class _Tracking:
    """ASGI middleware telling the guard when a connection has a request in hand."""

    def __init__(self, app: ASGIApp, guard: _ConnectionGuard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        connection = self.guard.find(scope) if scope.get("type") == "http" else None
        if connection is None:
            await self.app(scope, receive, send)
            return
        self.guard.request_started(connection)
        try:
            await self.app(scope, receive, send)
        finally:
            self.guard.request_finished(connection)


@attrs.define
class _Seen:
    since: float
    left_out: int = 0


class FloodFilter(logging.Filter):
    """Lets one record of each kind through per ``interval``; counts the ones left out.

    A kind is the logger, the level and the first line of the message template,
    so "closed a connection that ..." logged for each of 300 connections makes
    one line, and the next one let through (an interval later) says how many
    were left out. Attach it to a handler, where it sees every logger's records.

    Args:
        interval: seconds between two records of one kind.
        clock: monotonic seconds (inject one in tests).
    """

    _MAX_KINDS = 1_000
    _KIND_CHARS = 80

    def __init__(
        self, interval: float = 10.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        _positive_number("interval")(None, None, interval)
        self.interval = float(interval)
        self._clock = clock
        self._seen: dict[tuple[str, int, str], _Seen] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, SUMMARY_ATTRIBUTE, False):
            return True
        kind = (record.name, record.levelno, str(record.msg).partition("\n")[0][: self._KIND_CHARS])
        now = self._clock()
        with self._lock:
            seen = self._seen.get(kind)
            if seen is not None and now - seen.since < self.interval:
                seen.left_out += 1
                return False
            if len(self._seen) >= self._MAX_KINDS:
                self._seen.clear()
            self._seen[kind] = _Seen(now)
        if seen is not None and seen.left_out:
            record.msg = (
                f"{record.getMessage()} [and {seen.left_out} more like this "
                f"in the {now - seen.since:.0f} s before]"
            )
            record.args = None
        return True

    def summary(self) -> str | None:
        """One line saying what was left out since the last summary (``None``: nothing).

        The counts start again from zero. Call it once per ``interval``
        (``webhooks serve`` does) so a flood that stops is still accounted for.
        """
        with self._lock:
            left_out = [(kind, seen.left_out) for kind, seen in self._seen.items() if seen.left_out]
            for kind, _count in left_out:
                self._seen[kind].left_out = 0
        if not left_out:
            return None
        parts = "; ".join(
            f"{count} x {logging.getLevelName(level)} {name}: {first_line!r}"
            for (name, level, first_line), count in left_out
        )
        return f"left out of the log in the last {self.interval:g} s: {parts}"

    def summary_record(self) -> logging.LogRecord | None:
        """:meth:`summary` as a WARNING record this filter lets through, for ``handler.handle``."""
        line = self.summary()
        if line is None:
            return None
        record = logging.LogRecord(__name__, logging.WARNING, __file__, 0, line, None, None)
        setattr(record, SUMMARY_ATTRIBUTE, True)
        return record
