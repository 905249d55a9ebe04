"""Adapter-neutral pieces of a send: idempotency keys (new and derived), a receipt's status.

Every adapter derives the keys of split bubbles and of fallback re-sends the same
way, so a retried send under one caller key finds the same messages whichever
adapter made them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from caresupport_transport import limits
from caresupport_transport.capabilities import Service
from caresupport_transport.errors import TransportError
from caresupport_transport.model import DeliveryStatus

__all__ = [
    "KeyFactory",
    "correction_key",
    "fallback_key",
    "keyed_send",
    "new_idempotency_key",
    "overall_status",
    "poll_keys",
    "split_key",
]

KeyFactory = Callable[[], str]
"""Makes an idempotency key when the caller gives none."""


def new_idempotency_key() -> str:
    """A fresh idempotency key (a random UUID: unique, and safe in a header)."""
    return str(uuid.uuid4())


def _fit(key: str, suffix: str) -> str:
    """``key + suffix``, hashing ``key`` first if that would pass the 255-character limit."""
    if len(key) + len(suffix) > limits.MAX_IDEMPOTENCY_KEY_LENGTH:
        key = hashlib.sha256(key.encode()).hexdigest()
    return key + suffix


def split_key(key: str, index: int, count: int) -> str:
    """The idempotency key of bubble ``index`` of ``count`` sent under the caller's ``key``.

    One bubble keeps the caller's key; several get ``key:1``, ``key:2``...
    (hashed first if that would pass the provider's 255-character limit).
    """
    if count == 1:
        return key
    return _fit(key, f":{index + 1}")


def fallback_key(key: str, service: Service) -> str:
    """The key of a re-send on ``service`` after the send under ``key`` failed.

    ``key:fallback:rcs``: deterministic, so repeating the re-send (a retry, a
    redelivered failure event, another worker) creates nothing new.
    """
    return _fit(key, f":fallback:{service.value}")


def poll_keys(key: str) -> tuple[str, str]:
    """The keys of a poll's sends under the caller's ``key``: the question, then the poll.

    ``key:question`` for the question as text, ``key:poll`` for the native poll
    or the numbered text question: asking again under ``key`` sends nothing twice.
    """
    return _fit(key, ":question"), _fit(key, ":poll")


def correction_key(key: str) -> str:
    """The key of the correction text sent under a correction's ``key`` (``key:correction``).

    Deterministic, so a retried correction finds the text the first try sent.
    """
    return _fit(key, ":correction")


def overall_status(statuses: Iterable[DeliveryStatus]) -> DeliveryStatus:
    """Failed if any bubble failed, else the least advanced bubble's status."""
    found = list(statuses)
    if not found:
        raise ValueError("overall_status needs at least one status")
    if DeliveryStatus.FAILED in found:
        return DeliveryStatus.FAILED
    return min(found, key=lambda s: s.rank)


@contextmanager
def keyed_send(key: str) -> Iterator[None]:
    """Stamp ``key`` (the caller-level key, not a bubble's) on any error a send raises.

    A caller that let the adapter generate the key learns it from the error, and
    sending again under it creates nothing twice, even when the failed attempt
    had in fact been delivered.
    """
    try:
        yield
    except TransportError as error:
        error.idempotency_key = key
        raise
