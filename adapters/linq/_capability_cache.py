"""What each handle can be reached on, asked of Linq once and remembered for a while (private).

A check that answers ``available: true/false`` is remembered for ``ttl``
seconds. A check Linq could not answer (503 with codes 4004 / 4009 / 4010, any
5xx, a timeout, no answer, an answer of the wrong shape) means *unknown*, not
*unavailable*: it is remembered only for ``unknown_ttl``, so the next send soon
asks again, and the fallback policy treats unknown as usable (Linq falls back by
itself). Other refusals (a bad token, a sender line not ours) are raised: they
are configuration problems every send would hit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import attrs

from adapters.linq import codes
from adapters.linq._http import LOGGER_NAME
from adapters.linq.client import LinqClient
from caresupport_transport._log_safe import error_summary
from caresupport_transport.capabilities import Availability, HandleCapabilities, Service
from caresupport_transport.errors import (
    ConfigurationError,
    ProtocolError,
    ProviderError,
    UnreachableError,
)
from caresupport_transport.handles import Handle
from caresupport_transport.keyed_locks import KeyedLocks

__all__ = ["DEFAULT_CAPABILITY_TTL", "DEFAULT_UNKNOWN_TTL", "CapabilityCache"]

DEFAULT_CAPABILITY_TTL = 3600.0
"""Seconds a known answer (available or not) is trusted: people rarely switch phones hourly."""
DEFAULT_UNKNOWN_TTL = 60.0
"""Seconds an unknown answer is kept, so a burst of sends does not hammer a failing check."""

_CHECKED = (Service.IMESSAGE, Service.RCS)
_log = logging.getLogger(LOGGER_NAME)


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"{attribute.name}: must be a number of seconds >= 0")


def _unknown(exc: Exception) -> bool:
    """Whether a failed check means "Linq could not tell" rather than a real refusal."""
    if isinstance(exc, UnreachableError | ProtocolError):
        return True
    if isinstance(exc, ProviderError):
        status = exc.status or 0
        return exc.code in codes.UPSTREAM_UNAVAILABLE or status in (408, 429) or status >= 500
    return False


@attrs.frozen
class _Entry:
    availability: Availability
    expires_at: float


@attrs.define
class CapabilityCache:
    """iMessage and RCS availability per handle, with a time to live.

    Args:
        client: asks Linq (``check_imessage``, ``check_rcs``).
        ttl: seconds a definite answer is kept.
        unknown_ttl: seconds an unknown answer is kept (0: not at all).
        clock: monotonic seconds (tests pass a fake).
    """

    client: LinqClient
    ttl: float = attrs.field(default=DEFAULT_CAPABILITY_TTL, validator=_positive)
    unknown_ttl: float = attrs.field(default=DEFAULT_UNKNOWN_TTL, validator=_positive)
    clock: Callable[[], float] = time.monotonic
    _entries: dict[tuple[Handle, Service], _Entry] = attrs.field(factory=dict, init=False)
    _locks: KeyedLocks = attrs.field(factory=KeyedLocks, init=False)

    async def lookup(self, handle: Handle) -> HandleCapabilities:
        """What ``handle`` can be reached on, from memory when fresh, else asked of Linq.

        Concurrent lookups of one handle make one round of checks.

        Raises:
            ProviderError: Linq refused the check for a reason other than "unknown".
        """
        async with self._locks.hold(handle.value):
            imessage, rcs = await asyncio.gather(
                self._availability(handle, Service.IMESSAGE),
                self._availability(handle, Service.RCS),
            )
        return HandleCapabilities(handle, imessage=imessage, rcs=rcs)

    async def lookup_all(self, handles: tuple[Handle, ...]) -> list[HandleCapabilities]:
        """:meth:`lookup` for each handle, concurrently, in order."""
        return list(await asyncio.gather(*(self.lookup(h) for h in handles)))

    def forget(self, handle: Handle) -> None:
        """Drop what is known of ``handle`` (Linq just did something other than expected)."""
        for service in _CHECKED:
            self._entries.pop((handle, service), None)

    def known(self, handle: Handle, service: Service) -> Availability | None:
        """The remembered, still fresh availability, or ``None``."""
        entry = self._entries.get((handle, service))
        if entry is None or entry.expires_at <= self.clock():
            return None
        return entry.availability

    async def _availability(self, handle: Handle, service: Service) -> Availability:
        if service is Service.RCS and not handle.is_phone:
            return Availability.UNAVAILABLE  # RCS needs a phone number; nothing to ask
        known = self.known(handle, service)
        if known is not None:
            return known
        try:
            if service is Service.IMESSAGE:
                answer = await self.client.check_imessage(handle)
            else:
                answer = await self.client.check_rcs(handle)
        except Exception as exc:
            if not _unknown(exc):
                raise
            _log.warning("%s capability check: unknown (%s)", service.label, error_summary(exc))
            self._remember(handle, service, Availability.UNKNOWN, self.unknown_ttl)
            return Availability.UNKNOWN
        availability = Availability.AVAILABLE if answer.available else Availability.UNAVAILABLE
        self._remember(handle, service, availability, self.ttl)
        return availability

    def _remember(
        self, handle: Handle, service: Service, availability: Availability, ttl: float
    ) -> None:
        if ttl > 0:
            self._entries[(handle, service)] = _Entry(availability, self.clock() + ttl)
        else:
            self._entries.pop((handle, service), None)
