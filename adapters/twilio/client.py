"""``TwilioClient``: the Messages resource of Twilio's REST API, one method per operation.

Form-encoded requests, JSON answers, HTTP basic auth (account SID and auth
token, or an API key and its secret). Errors are translated once, here:
Twilio's error body (``code``, ``message``, ``more_info``, ``status``) becomes
the library's errors with the code and the ``more_info`` link kept.

Retries: a request that never reached Twilio (the connection could not be
made) and a 429 are retried, honouring ``Retry-After``; reads are also retried
on a 5xx or a lost answer. A *create* whose answer was lost (timeout, reset,
5xx) is never retried here: Twilio has no idempotency key, so the request may
have made a text. It raises with ``outcome_unknown`` set, and
``TwilioProvider`` reconciles before it sends again (``docs/twilio.md``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from adapters.linq._retry import parse_retry_after
from adapters.twilio.config import TwilioConfig
from adapters.twilio.wire_message import TwilioMessage
from caresupport_transport.errors import (
    NotFoundError,
    ProtocolError,
    ProviderError,
    RateLimitedError,
    TransportTimeoutError,
    UnreachableError,
)

__all__ = ["API_VERSION", "DEFAULT_MAX_RETRIES", "DEFAULT_MAX_RETRY_AFTER", "TwilioClient"]

API_VERSION = "2010-04-01"
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_RETRY_AFTER = 30.0
"""A ``Retry-After`` longer than this (seconds) is not waited out: ``RateLimitedError``."""

Sleep = Callable[[float], Awaitable[None]]


def _retry_after(response: httpx.Response, attempt: int) -> float:
    """Seconds to wait: the ``Retry-After`` header (seconds or an HTTP date), else 0.5 * 2**attempt.

    The header is read by the one parser the Linq client uses too.
    """
    given = parse_retry_after(response.headers.get("Retry-After"), now=time.time())
    return given if given is not None else 0.5 * 2.0**attempt


def _error(response: httpx.Response) -> ProviderError:
    """Twilio's error body as the library's error, with ``code`` and ``more_info``."""
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, Mapping):
        body = {}
    raw_code = body.get("code")
    code = raw_code if isinstance(raw_code, int) else None
    message = str(body.get("message") or response.reason_phrase or "Twilio refused the request")
    more_info = body.get("more_info") if isinstance(body.get("more_info"), str) else None
    request_id = response.headers.get("Twilio-Request-Id")
    error: ProviderError
    if response.status_code == 404:
        error = NotFoundError(message, status=404, code=code, trace_id=request_id)
    elif response.status_code == 429:
        error = RateLimitedError(
            message,
            retry_after=_retry_after(response, 0),
            code=code,
            trace_id=request_id,
        )
    else:
        error = ProviderError(message, status=response.status_code, code=code, trace_id=request_id)
    error.more_info = more_info
    return error


class TwilioClient:
    """The Messages resource: create, fetch, list.

    Args:
        config: the account, credentials and sender.
        http: the ``httpx.AsyncClient`` to use (its transport is the simulator's in tests).
        sleep: waits between retries (injectable so tests do not wait).
        max_retries: retries of a request that may be retried.
        max_retry_after: the longest ``Retry-After`` waited out.
    """

    def __init__(
        self,
        config: TwilioConfig,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
    ) -> None:
        self.config = config
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(15.0))
        self._sleep = sleep
        self._max_retries = max_retries
        self._max_retry_after = max_retry_after
        self.requests_sent = 0
        """Requests handed to the HTTP client (retries included)."""

    @property
    def _messages_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.config.account_sid}/Messages"

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- operations -----------------------------------------------------------------

    async def create_message(
        self,
        to: str,
        body: str,
        *,
        media_urls: Sequence[str] = (),
        status_callback: str | None = None,
    ) -> TwilioMessage:
        """``POST .../Messages.json``: send one SMS (or MMS with ``media_urls``).

        Raises:
            TransportTimeoutError, UnreachableError, ProviderError: with
                ``outcome_unknown`` when the request may have made the message.
        """
        form: list[tuple[str, str]] = [("To", to)]
        if self.config.messaging_service_sid is not None:
            form.append(("MessagingServiceSid", self.config.messaging_service_sid))
        else:
            assert self.config.from_number is not None  # the config requires one
            form.append(("From", self.config.from_number.value))
        if body:
            form.append(("Body", body))
        form.extend(("MediaUrl", url) for url in media_urls)
        if status_callback is not None:
            form.append(("StatusCallback", status_callback))
        response = await self._request("POST", f"{self._messages_path}.json", form=form)
        return TwilioMessage.from_json(self._json(response))

    async def fetch_message(self, sid: str) -> TwilioMessage:
        """``GET .../Messages/{sid}.json``; ``NotFoundError`` when there is none."""
        response = await self._request("GET", f"{self._messages_path}/{sid}.json")
        return TwilioMessage.from_json(self._json(response))

    async def list_media(self, sid: str) -> list[tuple[str, str]]:
        """``GET .../Messages/{sid}/Media.json``: ``(content type, URL)`` of each media item."""
        response = await self._request("GET", f"{self._messages_path}/{sid}/Media.json")
        items = self._json(response).get("media_list")
        if not isinstance(items, list):
            raise ProtocolError("a Twilio media page without 'media_list'")
        found: list[tuple[str, str]] = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("uri"), str):
                raise ProtocolError("a Twilio media item without 'uri'")
            content_type = item.get("content_type")
            uri = item["uri"].removesuffix(".json")
            found.append(
                (content_type if isinstance(content_type, str) else "", self.config.base_url + uri)
            )
        return found

    async def list_messages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        date_sent_after: datetime | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[TwilioMessage]:
        """``GET .../Messages.json``, newest first, following ``next_page_uri``.

        ``date_sent_after`` is sent as ``DateSent>=`` (Twilio filters by day).
        """
        params: dict[str, str] = {"PageSize": str(page_size)}
        if to is not None:
            params["To"] = to
        if from_ is not None:
            params["From"] = from_
        if date_sent_after is not None:
            params["DateSent>"] = date_sent_after.strftime("%Y-%m-%d")
        path: str | None = f"{self._messages_path}.json"
        query: Mapping[str, str] | None = params
        while path is not None:
            page = self._json(await self._request("GET", path, params=query))
            items = page.get("messages")
            if not isinstance(items, list):
                raise ProtocolError("a Twilio message page without 'messages'")
            for item in items:
                yield TwilioMessage.from_json(item)
            following = page.get("next_page_uri")
            path = following if isinstance(following, str) and following else None
            query = None

    # -- the one request path ---------------------------------------------------------

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as exc:
            raise ProtocolError("Twilio answered with something that is not JSON") from exc
        if not isinstance(data, dict):
            raise ProtocolError("Twilio answered with JSON that is not an object")
        return data

    async def _request(
        self,
        method: str,
        path: str,
        *,
        form: Sequence[tuple[str, str]] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One operation, with the retries its kind allows (see the module docstring)."""
        creates = method == "POST"
        url = self.config.base_url.rstrip("/") + path
        attempt = 0
        while True:
            self.requests_sent += 1
            try:
                response = await self._http.request(
                    method,
                    url,
                    data=_multi(form) if form else None,
                    params=params,
                    auth=self.config.basic_auth,
                )
            except httpx.ConnectError as exc:
                # The request never reached Twilio: retrying cannot double a send.
                if attempt < self._max_retries:
                    await self._sleep(0.5 * 2**attempt)
                    attempt += 1
                    continue
                raise UnreachableError("Twilio could not be reached") from exc
            except httpx.TimeoutException as exc:
                if creates:
                    raise _ambiguous(
                        TransportTimeoutError("no answer from Twilio in time")
                    ) from exc
                if attempt < self._max_retries:
                    attempt += 1
                    continue
                raise TransportTimeoutError("no answer from Twilio in time") from exc
            except httpx.TransportError as exc:
                if creates:
                    raise _ambiguous(UnreachableError("the answer from Twilio was lost")) from exc
                if attempt < self._max_retries:
                    attempt += 1
                    continue
                raise UnreachableError("the answer from Twilio was lost") from exc
            status = response.status_code
            if status < 400:
                return response
            retryable = status == 429 or (status >= 500 and not creates)
            if retryable and attempt < self._max_retries:
                wait = _retry_after(response, attempt)
                if wait <= self._max_retry_after:
                    await self._sleep(wait)
                    attempt += 1
                    continue
            error = _error(response)
            if creates and status >= 500:
                error.outcome_unknown = True
            raise error


def _ambiguous(error: UnreachableError) -> UnreachableError:
    """``error`` marked: the create may have made its message."""
    error.outcome_unknown = True
    return error


def _multi(form: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Repeated names (``MediaUrl``) as lists, which httpx encodes as repeated fields."""
    grouped: dict[str, list[str]] = {}
    for name, value in form:
        grouped.setdefault(name, []).append(value)
    return grouped
