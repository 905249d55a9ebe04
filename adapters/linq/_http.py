"""The request core: one pooled httpx client, bounded concurrency, retries, logging, errors.

Log lines name the method, the API path (ids only: never a query, a body, a
header or a presigned URL), the status, the attempt and Linq's trace id; httpx's
own request lines for our requests lose their query string (see
:mod:`adapters.linq._url_logging`).

Every call of :class:`~adapters.linq.client.LinqClient` goes through
:meth:`Requester.send`, which sends one logical request (a :class:`Call`) until
it succeeds, fails for good, or runs out of attempts or retry budget. A retried
call sends exactly the same bytes again, so a send's idempotency key is the same
on every attempt. A 2xx answer that cannot be read is asked for again only when
the call carries an idempotency key (a send): the key makes the repeat answer
with the first message instead of creating a second one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import TypeVar
from urllib.parse import urlsplit

import attrs
import httpx

from adapters.linq._errors import (
    error_for_exception,
    error_for_reply,
    scrub_exception,
    trace_id_of,
)
from adapters.linq._retry import (
    Replay,
    SlotTimeout,
    backoff_delay,
    may_retry_exception,
    may_retry_status,
    parse_retry_after,
    was_surely_unsent,
)
from adapters.linq._url_logging import hide_phones, our_request
from adapters.linq._url_logging import install as install_url_filter
from adapters.linq.config import LinqConfig
from caresupport_transport.errors import (
    ConfigurationError,
    ProtocolError,
    RateLimitedError,
    TransportError,
)

__all__ = ["LOGGER_NAME", "Call", "Reply", "Requester"]

LOGGER_NAME = "caresupport_transport.linq"
_log = logging.getLogger(LOGGER_NAME)
_USER_AGENT = "caresupport-transport (linq adapter)"

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


@attrs.frozen
class Call:
    """One logical request; every attempt sends exactly this.

    Attributes:
        what: the operation's name, for logs and error messages.
        method: the HTTP method.
        path: the path below the base URL (``/v3/...``, ids already quoted), or an
            absolute URL when ``authorized`` is false.
        query: query parameters in order; a repeated name repeats the parameter.
        json: the JSON body (already unstructured), or ``None``.
        content: a raw body (uploads), or ``None``.
        headers: extra headers.
        replay: whether the call may be repeated after an unknown outcome.
        authorized: send the API token; false for presigned upload URLs, which
            must never see it.
    """

    what: str
    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    json: object = None
    content: bytes | None = attrs.field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = ()
    replay: Replay = Replay.SAFE
    authorized: bool = True

    @property
    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` header's value; ``None`` for a call that carries none."""
        return next((v for k, v in self.headers if k.lower() == "idempotency-key"), None)


@attrs.frozen
class Reply:
    """A success answer: its status, decoded JSON body (``None`` if empty) and trace id."""

    status: int
    payload: object
    trace_id: str | None


class Requester:
    """Sends :class:`Call` s to Linq with retries, a bound on requests in flight, and logging.

    Args:
        config: where Linq is and how hard to try.
        http: a client to use (tests pass one on ``httpx.MockTransport``); when
            ``None`` one is made, pooled with at least ``max_in_flight`` keep-alive
            connections, and closed by :meth:`aclose`.
        sleep: waits between attempts (tests pass a recorder).
        random: the jitter source, ``[0, 1)``.
        clock: the current POSIX time, for ``Retry-After`` dates.
    """

    def __init__(
        self,
        config: LinqConfig,
        http: httpx.AsyncClient | None,
        *,
        sleep: Sleep,
        random: Callable[[], float],
        clock: Callable[[], float],
    ) -> None:
        self._config = config
        self._owns_http = http is None
        self._http = http if http is not None else _pooled_client(config)
        self._sleep = sleep
        self._random = random
        self._clock = clock
        self._slots = asyncio.Semaphore(config.max_in_flight)
        token = config.api_token.reveal()
        self._api_headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        self._scrub: Callable[[str], str] = lambda text: text.replace(token, "***")
        install_url_filter()

    async def aclose(self) -> None:
        """Close the httpx client if this requester made it (an injected one stays open)."""
        if self._owns_http:
            await self._http.aclose()

    async def send(self, call: Call) -> Reply:
        """Send ``call`` until it succeeds or fails for good; see :meth:`send_and_read`."""
        return await self.send_and_read(call, _as_is)

    async def send_and_read(self, call: Call, read: Callable[[Reply], T]) -> T:
        """Send ``call`` until ``read`` makes sense of a 2xx answer, or it fails for good.

        Args:
            call: the request.
            read: decodes a 2xx answer; raises ``ProtocolError`` when it cannot.
                An unreadable 2xx to a call carrying an idempotency key is sent
                again (same key, same bytes) within the attempts and the budget.

        Raises:
            ProviderError: Linq refused (``NotFoundError``, ``ConflictError``,
                ``RateLimitedError`` for 429 beyond the attempts or the budget).
            UnreachableError: no answer (``TransportTimeoutError`` when in time).
            ProtocolError: an answer that could not be read (``outcome_unknown``
                set when it was a 2xx: the call took effect).
        """
        waited = 0.0
        attempt = 0
        uncertain = False  # whether some attempt may have taken effect
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                try:
                    response = await self._attempt(call)
                except (httpx.RequestError, SlotTimeout) as exc:
                    self._log_failure(call, attempt, started, exc)
                    uncertain = uncertain or not was_surely_unsent(exc)
                    delay = self._delay_after_failure(call, attempt, waited, exc)
                else:
                    payload = _decode_json(response.content)
                    trace_id = trace_id_of(payload)
                    self._log_answer(call, attempt, started, response.status_code, trace_id)
                    if response.is_success:
                        try:
                            return read(Reply(response.status_code, payload, trace_id))
                        except ProtocolError as unreadable:
                            uncertain = True  # a 2xx: the call took effect
                            delay = self._delay_after_unreadable(call, attempt, waited, unreadable)
                    else:
                        uncertain = uncertain or response.status_code >= 500
                        delay = self._delay_after_refusal(call, attempt, waited, response, payload)
            except TransportError as error:
                error.outcome_unknown = uncertain
                raise
            _log.info(
                "%s %s: retrying in %.2f s (attempt %d of %d)",
                call.method,
                _target(call),
                delay,
                attempt + 1,
                self._config.max_attempts,
            )
            await self._sleep(delay)
            waited += delay

    def _delay_after_failure(
        self, call: Call, attempt: int, waited: float, exc: httpx.RequestError | SlotTimeout
    ) -> float:
        """The wait before retrying a call that got no answer; raises when it may not be."""
        # The error is raised ``from exc``: a traceback prints exc's text too.
        scrub_exception(exc, self._scrub)
        if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects):
            raise ProtocolError(f"{call.what}: unreadable answer ({type(exc).__name__})") from exc
        error = error_for_exception(call.what, exc, scrub=self._scrub)
        delay = self._backoff(attempt)
        if (
            not may_retry_exception(exc, call.replay)
            or attempt >= self._config.max_attempts
            or waited + delay > self._config.retry_budget_seconds
        ):
            raise error from exc
        return delay

    def _delay_after_refusal(
        self, call: Call, attempt: int, waited: float, response: httpx.Response, payload: object
    ) -> float:
        """The wait before retrying a refused call; raises the mapped error when it may not be.

        ``Retry-After`` is honoured as given; one beyond what is left of the retry
        budget raises at once (``RateLimitedError`` for 429) instead of sleeping.
        """
        status = response.status_code
        budget = self._config.retry_budget_seconds
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self._clock())
        error = error_for_reply(
            call.what, status, payload, retry_after=retry_after, scrub=self._scrub
        )
        if not may_retry_status(status, call.replay):
            raise error
        if retry_after is not None and waited + retry_after > budget:
            if isinstance(error, RateLimitedError):
                raise RateLimitedError(
                    f"{error.message} (Retry-After {retry_after:g} s is beyond the "
                    f"retry budget of {budget:g} s)",
                    retry_after=retry_after,
                    status=error.status,
                    code=error.code,
                    trace_id=error.trace_id,
                )
            raise error
        delay = retry_after if retry_after is not None else self._backoff(attempt)
        if attempt >= self._config.max_attempts or waited + delay > budget:
            raise error
        return delay

    def _delay_after_unreadable(
        self, call: Call, attempt: int, waited: float, error: ProtocolError
    ) -> float:
        """The wait before asking again after a 2xx that could not be read; raises when it may not.

        Only a call carrying an idempotency key is repeated: under the same key
        Linq answers with what the first attempt created, and creates nothing.
        """
        delay = self._backoff(attempt)
        if (
            call.idempotency_key is None
            or attempt >= self._config.max_attempts
            or waited + delay > self._config.retry_budget_seconds
        ):
            raise error
        return delay

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(
            attempt,
            initial=self._config.backoff_initial_seconds,
            maximum=self._config.backoff_max_seconds,
            random=self._random,
        )

    async def _attempt(self, call: Call) -> httpx.Response:
        """One attempt; waiting for a slot counts against the attempt's timeout.

        One timeout scope covers both the wait for a slot and the request (a
        scope costs a timer per request); which of the two ran out is told by
        whether the request was built.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.timeout_seconds
        request: httpx.Request | None = None
        acquired = False
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
                acquired = True
                request = self._build(call, timeout=max(deadline - loop.time(), 0.001))
                with our_request(presigned=not call.authorized):
                    return await self._http.send(request)
        except TimeoutError:
            if request is None:
                raise SlotTimeout() from None
            raise httpx.ReadTimeout("no complete answer in time", request=request) from None
        finally:
            if acquired:
                self._slots.release()

    def _build(self, call: Call, *, timeout: float) -> httpx.Request:
        url: str | httpx.URL
        if call.authorized:
            url = _api_url(self._config.base_url + call.path)
            headers = {**self._api_headers, **dict(call.headers)}
        else:
            url = call.path  # a presigned URL: used once, and never kept
            headers = dict(call.headers)
        request = self._http.build_request(
            call.method,
            url,
            params=list(call.query) if call.query else None,
            json=call.json,
            content=call.content,
            headers=headers,
            timeout=httpx.Timeout(timeout),
        )
        if not call.authorized:
            # An injected client may carry default credentials; a presigned URL gets none.
            for name in ("Authorization", "Cookie"):
                if name in request.headers:
                    del request.headers[name]
        return request

    def _log_answer(
        self, call: Call, attempt: int, started: float, status: int, trace_id: str | None
    ) -> None:
        _log.log(
            logging.INFO if status < 400 else logging.WARNING,
            "%s %s -> %d (attempt %d, %.0f ms, trace_id %s)",
            call.method,
            _target(call),
            status,
            attempt,
            (time.perf_counter() - started) * 1000,
            trace_id or "-",
        )

    def _log_failure(self, call: Call, attempt: int, started: float, exc: BaseException) -> None:
        _log.warning(
            "%s %s -> no answer: %s (attempt %d, %.0f ms)",
            call.method,
            _target(call),
            type(exc).__name__,
            attempt,
            (time.perf_counter() - started) * 1000,
        )


def _pooled_client(config: LinqConfig) -> httpx.AsyncClient:
    # Keep-alive connections >= requests in flight, so a burst reuses connections
    # instead of opening and closing them.
    limits = httpx.Limits(
        max_connections=config.max_in_flight, max_keepalive_connections=config.max_in_flight
    )
    if config.http_backend == "aiohttp":
        try:
            from httpx_aiohttp import HttpxAiohttpClient
        except ImportError as exc:
            raise ConfigurationError(
                'http_backend: "aiohttp" needs the aiohttp extra '
                '(pip install "caresupport-transport[aiohttp]")'
            ) from exc
        # aiohttp's connector is bounded by max_connections (its ``limit``).
        client: httpx.AsyncClient = HttpxAiohttpClient(
            limits=limits, timeout=config.timeout_seconds
        )
        return client
    return httpx.AsyncClient(limits=limits, timeout=config.timeout_seconds)


@lru_cache(maxsize=1024)
def _api_url(text: str) -> httpx.URL:
    """The parsed URL of an API path.

    Parsing a URL is a sizeable part of httpx's work per request; API URLs repeat
    (the same chats, the same operations) and ``httpx.URL`` is immutable, so each
    is parsed once.
    """
    return httpx.URL(text)


def _as_is(reply: Reply) -> Reply:
    return reply


def _decode_json(content: bytes) -> object:
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def _target(call: Call) -> str:
    """What a log line names: the API path, or only the host of a presigned URL."""
    if call.authorized:
        return hide_phones(call.path)
    return f"{urlsplit(call.path).netloc} (upload)"
