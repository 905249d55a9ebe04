"""The edge where Linq's failures become the library's errors (and nowhere else).

An answer that is not a success becomes a
:class:`~caresupport_transport.errors.ProviderError` (404 ``NotFoundError``, 409
``ConflictError``, 429 ``RateLimitedError``) carrying the HTTP status, Linq's
error ``code``, its message and the ``trace_id`` from the error body
``{"success": false, "error": {"status", "code", "message"}, "trace_id"}``.
A request that got no answer becomes an ``UnreachableError`` (a timeout a
``TransportTimeoutError``). Error bodies that are not JSON still give the status.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from adapters.linq._retry import SlotTimeout
from caresupport_transport.errors import (
    ConflictError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    TransportTimeoutError,
    UnreachableError,
)

__all__ = ["error_for_exception", "error_for_reply", "scrub_exception", "trace_id_of"]

_MAX_MESSAGE_CHARS = 500


def trace_id_of(payload: object) -> str | None:
    """Linq's ``trace_id`` from a decoded body, when there is one."""
    if isinstance(payload, dict):
        trace_id = payload.get("trace_id")
        if isinstance(trace_id, str) and trace_id:
            return trace_id
    return None


def error_for_reply(
    what: str,
    status: int,
    payload: object,
    *,
    retry_after: float | None,
    scrub: Callable[[str], str],
) -> ProviderError:
    """The error for a non-success answer.

    Args:
        what: the operation, to start the message (``"send_message"``).
        status: the HTTP status.
        payload: the decoded JSON body, or ``None`` when empty or not JSON.
        retry_after: the ``Retry-After`` wait in seconds, for 429.
        scrub: removes credentials from text that came from the wire.
    """
    code: int | None = None
    message = f"HTTP {status}"
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        raw_code = error.get("code")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        raw_message = error.get("message")
        if isinstance(raw_message, str) and raw_message.strip():
            message = scrub(raw_message.strip())[:_MAX_MESSAGE_CHARS]
    text = f"{what}: {message}"
    trace_id = trace_id_of(payload)
    if status == 404:
        return NotFoundError(text, status=status, code=code, trace_id=trace_id)
    if status == 409:
        return ConflictError(text, status=status, code=code, trace_id=trace_id)
    if status == 429:
        return RateLimitedError(
            text, retry_after=retry_after, status=status, code=code, trace_id=trace_id
        )
    return ProviderError(text, status=status, code=code, trace_id=trace_id)


def error_for_exception(
    what: str, exc: BaseException, *, scrub: Callable[[str], str]
) -> UnreachableError:
    """The error for a request that got no answer (raise it ``from exc``)."""
    if isinstance(exc, SlotTimeout):
        return TransportTimeoutError(f"{what}: no request slot became free in time")
    if isinstance(exc, httpx.TimeoutException):
        return TransportTimeoutError(f"{what}: no answer from Linq in time ({type(exc).__name__})")
    detail = scrub(str(exc))[:_MAX_MESSAGE_CHARS]
    return UnreachableError(f"{what}: no answer from Linq ({type(exc).__name__}: {detail})")


def scrub_exception(exc: BaseException, scrub: Callable[[str], str]) -> None:
    """Remove credentials from the text of ``exc`` and of the exceptions it chains.

    Our errors are raised ``from`` the httpx error; a traceback (``logging.exception``,
    an unhandled error) prints that error's own text, which a proxy or a custom
    transport may have filled with request headers.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(scrub(a) if isinstance(a, str) else a for a in current.args)
        current = current.__cause__ or current.__context__
