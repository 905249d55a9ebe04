"""``LinqClient``: a typed async client for every operation of Linq Partner API V3."""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

import httpx

from adapters.linq._http import Requester
from adapters.linq._ops_account import AccountOperations
from adapters.linq._ops_attachments import AttachmentOperations
from adapters.linq._ops_chats import ChatOperations
from adapters.linq._ops_messages import MessageOperations
from adapters.linq._validate import KeyFactory, new_idempotency_key
from adapters.linq.config import LinqConfig

__all__ = ["LinqClient"]


class LinqClient(ChatOperations, MessageOperations, AttachmentOperations, AccountOperations):
    """A typed async client for Linq Partner API V3 (one pooled connection pool).

    Every method validates its arguments before any request and raises
    :class:`~caresupport_transport.errors.ValidationError` naming the argument and
    the rule. Failures are the library's errors, mapped once at the edge:
    ``NotFoundError`` (404), ``ConflictError`` (409, never retried),
    ``RateLimitedError`` (429 beyond the retry budget, with ``retry_after``),
    ``ProviderError`` (other refusals, with ``status``, Linq's ``code``, message
    and ``trace_id``), ``UnreachableError`` / ``TransportTimeoutError`` (no
    answer) and ``ProtocolError`` (an answer not of the promised shape).

    Connection failures, timeouts, 408, 429 and 5xx are retried with jittered
    exponential backoff, honouring ``Retry-After``, up to ``config.max_attempts``
    and ``config.retry_budget_seconds``. Requests whose repetition could act twice
    are retried only when they surely did not take effect (see ``Replay``); sends
    are safe to repeat because each carries one idempotency key on every attempt.

    At most ``config.max_in_flight`` requests are in flight at once; waiting for
    a slot counts against ``config.timeout_seconds``.

    Use it as an async context manager, or call :meth:`aclose`::

        async with LinqClient(LinqConfig.from_env()) as linq:
            chat = await linq.get_chat(chat_id)

    Args:
        config: credentials, sender line, base URL and limits.
        http: an ``httpx.AsyncClient`` to use instead of making one (it is not
            closed by :meth:`aclose`; give it ``httpx.Limits`` with at least
            ``max_in_flight`` keep-alive connections).
        sleep: how to wait between attempts (tests pass a recorder).
        random: the jitter source, returning a float in ``[0, 1)``.
        clock: the current POSIX time, for ``Retry-After`` given as a date.
        new_key: makes an idempotency key when the caller gives none.
    """

    def __init__(
        self,
        config: LinqConfig,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.time,
        new_key: KeyFactory = new_idempotency_key,
    ) -> None:
        self._config = config
        self._new_key = new_key
        self._requester = Requester(config, http, sleep=sleep, random=random, clock=clock)

    @property
    def config(self) -> LinqConfig:
        return self._config

    def __repr__(self) -> str:
        phone = self._config.phone_number.value if self._config.phone_number else None
        return f"LinqClient(base_url={self._config.base_url!r}, phone_number={phone!r})"

    async def aclose(self) -> None:
        """Close the connection pool this client made (an injected one is left open)."""
        await self._requester.aclose()

    async def __aenter__(self) -> LinqClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
