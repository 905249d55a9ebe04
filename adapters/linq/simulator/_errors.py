"""Linq's error codes and the error body every refusal carries.

A route refuses by raising a :class:`~caresupport_transport.errors.ProviderError`
(or a subclass) with the HTTP status and Linq code; the app turns it into
``{"success": false, "error": {"status", "code", "message"}, "trace_id"}``.
Codes marked *simulator's choice* are not in the published description. A 409
carries the code Linq documents for it (2014, 2016, 2017, 2023) and no code
where Linq states none (``conflict()`` without one): the simulator does not
invent one there.
"""

from __future__ import annotations

from typing import Any

from caresupport_transport.errors import (
    ConflictError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
)

__all__ = [
    "CHAT_SERVICE_NOT_SUPPORTED",
    "CONTACT_CARD_EXISTS",
    "FORBIDDEN",
    "GROUP_CHAT_NOT_SUPPORTED",
    "INTERNAL",
    "INVALID_PHONE",
    "INVALID_REQUEST",
    "MENTION_IN_DIRECT_CHAT",
    "NOT_FOUND",
    "PAYLOAD_TOO_LARGE",
    "RATE_LIMITED",
    "UNAUTHORIZED",
    "UNPROCESSABLE",
    "UPSTREAM_UNAVAILABLE",
    "URL_IN_FIRST_MESSAGE",
    "bad_request",
    "conflict",
    "error_body",
    "forbidden",
    "method_not_allowed",
    "not_found",
    "payload_too_large",
    "rate_limited",
    "unauthorized",
]

INVALID_REQUEST = 1001
"""Any other malformed request (simulator's choice)."""
INVALID_PHONE = 1002
UNPROCESSABLE = 1003
URL_IN_FIRST_MESSAGE = 1005
NOT_FOUND = 2001
UNAUTHORIZED = 2004
FORBIDDEN = 2005
CONTACT_CARD_EXISTS = 2014
"""409: the line's contact card is already active (update it with PATCH)."""
GROUP_CHAT_NOT_SUPPORTED = 2016
CHAT_SERVICE_NOT_SUPPORTED = 2017
MENTION_IN_DIRECT_CHAT = 2023
INTERNAL = 3006
RATE_LIMITED = 4001
UPSTREAM_UNAVAILABLE = 4004
PAYLOAD_TOO_LARGE = 5001


def bad_request(message: str, code: int = INVALID_REQUEST) -> ProviderError:
    return ProviderError(message, status=400, code=code)


def unauthorized() -> ProviderError:
    return ProviderError(
        "Unauthorized - missing or invalid authentication token", status=401, code=UNAUTHORIZED
    )


def forbidden(
    message: str = "Access denied - insufficient permissions for this resource",
) -> ProviderError:
    return ProviderError(message, status=403, code=FORBIDDEN)


def not_found(what: str = "Resource") -> NotFoundError:
    return NotFoundError(f"{what} not found", status=404, code=NOT_FOUND)


def method_not_allowed() -> ProviderError:
    return ProviderError("Method not allowed on this path", status=405, code=INVALID_REQUEST)


def conflict(message: str, code: int | None = None) -> ConflictError:
    """A 409 with the code Linq documents for it, or none where Linq states none."""
    return ConflictError(message, status=409, code=code)


def payload_too_large(message: str) -> ProviderError:
    return ProviderError(message, status=413, code=PAYLOAD_TOO_LARGE)


def rate_limited(retry_after: float) -> RateLimitedError:
    return RateLimitedError(
        "Rate limit exceeded. Try again in a few seconds.",
        retry_after=retry_after,
        status=429,
        code=RATE_LIMITED,
    )


def error_body(error: ProviderError, trace_id: str) -> dict[str, Any]:
    """The JSON body of a refusal, as the published ``ErrorResponse`` schema has it.

    A refusal without a code (a 409 Linq gives none) has no ``code``; a 5xx
    without one says ``INTERNAL``.
    """
    status = error.status or 500
    code = error.code if error.code is not None else INTERNAL if status >= 500 else None
    return {
        "success": False,
        "error": {
            "status": status,
            **({} if code is None else {"code": code}),
            "message": error.message,
        },
        "trace_id": trace_id,
    }
