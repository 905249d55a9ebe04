"""When a failed request may be sent again, and how long to wait first.

Retried: connection failures, timeouts, 408, 429 and 5xx. Never retried: 409 and
every other 4xx (the answer will not change). A failure whose outcome is unknown
(the request may have reached Linq: a read timeout, a dropped connection, a 5xx)
is retried only for requests that are safe to repeat (:attr:`Replay.SAFE`).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx

__all__ = [
    "Replay",
    "SlotTimeout",
    "backoff_delay",
    "may_retry_exception",
    "may_retry_status",
    "parse_retry_after",
    "was_surely_unsent",
]


class Replay(enum.Enum):
    """Whether a request may be repeated after a failure whose outcome is unknown.

    ``SAFE``: repeating it cannot do harm: reads, ``PUT``/``DELETE``, sends (they
    carry an idempotency key), and actions whose repetition changes nothing
    (typing, read receipts, tapbacks, adding a participant, capability checks).

    ``IF_UNSENT``: repeating it might act twice (a second webhook subscription, a
    second contact card share, an edit counted twice against the 5-edit limit, a
    contact card write that extends Linq's rate limit). Retried only when the
    request surely did not take effect: the connection was never made, or Linq
    answered 408 or 429 (it refused before acting).
    """

    SAFE = "safe"
    IF_UNSENT = "if unsent"


class SlotTimeout(Exception):
    """No in-flight slot became free in time: the request was never sent."""


_NOT_SENT_STATUSES = frozenset({408, 429})
_NOT_SENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    SlotTimeout,
)
_UNKNOWN_OUTCOME_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


def was_surely_unsent(exc: BaseException) -> bool:
    """Whether a request that failed with ``exc`` surely never reached Linq."""
    return isinstance(exc, _NOT_SENT_EXCEPTIONS)


def may_retry_status(status: int, replay: Replay) -> bool:
    """Whether an answer with ``status`` may be retried for a request of kind ``replay``."""
    if status in _NOT_SENT_STATUSES:
        return True
    return replay is Replay.SAFE and 500 <= status <= 599


def may_retry_exception(exc: BaseException, replay: Replay) -> bool:
    """Whether a request that failed with ``exc`` (no answer) may be sent again."""
    if isinstance(exc, _NOT_SENT_EXCEPTIONS):
        return True
    return replay is Replay.SAFE and isinstance(exc, _UNKNOWN_OUTCOME_EXCEPTIONS)


def backoff_delay(
    attempt: int, *, initial: float, maximum: float, random: Callable[[], float]
) -> float:
    """The wait after failed attempt number ``attempt`` (1-based), with equal jitter.

    Half of the capped exponential delay is always waited, the other half is
    scaled by ``random()`` (in ``[0, 1)``), so callers that failed together do not
    come back together, yet nobody retries at once.
    """
    capped = min(maximum, initial * 2 ** min(attempt - 1, 62))
    jitter = min(max(float(random()), 0.0), 1.0)
    return float(capped / 2 + capped / 2 * jitter)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Args:
        value: the header, or ``None`` when absent.
        now: the current time as a POSIX timestamp (for the date form).

    Returns:
        The wait in seconds (never negative), or ``None`` when absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)
