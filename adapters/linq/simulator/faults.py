"""Fault injection: the simulator misbehaving on purpose, deterministically.

Two ways to ask for faults, both per test or per run:

- rates in :class:`Faults` (``Faults(rate_429=0.1, seed=7)``): each API request
  rolls a seeded die, so a run is reproducible from its seed;
- scripted faults (``simulator.faults.script(FaultKind.DROP, timing=FaultTiming.AFTER,
  route="POST /v3/chats/{chatId}/messages")``): the next matching request gets
  exactly that fault. Scripted faults come first.

Every fault happens either **before** the request takes effect (nothing was
created) or **after** (the message exists, only the answer is lost or broken).
The second is the case idempotency keys exist for.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable

import attrs

from caresupport_transport.errors import ValidationError

__all__ = ["FaultInjector", "FaultKind", "FaultTiming", "Faults", "InjectedFault"]


class FaultKind(enum.Enum):
    """What goes wrong with one request."""

    RATE_LIMIT = "rate_limit"
    """429 / 4001 with ``Retry-After``; always before the request takes effect."""
    SERVER_ERROR = "server_error"
    """500 / 3006."""
    UNAVAILABLE = "unavailable"
    """503 / 4004."""
    HANG = "hang"
    """No answer for ``hang_seconds``, then the connection gives up (a read timeout)."""
    DROP = "drop"
    """The connection closes without a complete answer."""
    MALFORMED = "malformed"
    """An answer whose body is not the JSON the API promises."""


class FaultTiming(enum.Enum):
    """Whether an injected fault strikes before the request takes effect or after."""

    BEFORE = "before"
    """The request has no effect."""
    AFTER = "after"
    """The request took effect; only its answer is lost or broken."""
    EITHER = "either"
    """A seeded coin toss per fault (for rates only)."""


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValidationError(f"faults.{attribute.name}", f"{value} is not between 0 and 1")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValidationError(f"faults.{attribute.name}", "must not be negative")


def _routes(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


@attrs.frozen
class Faults:
    """How often each fault happens; all zero (the default) is a well-behaved server.

    Attributes:
        rate_429: fraction of requests answered 429 with ``Retry-After: retry_after``.
        rate_500, rate_503: fractions answered 500 / 503.
        rate_hang: fraction that get no answer for ``hang_seconds``.
        rate_drop: fraction whose connection is dropped.
        rate_malformed: fraction whose body is not valid JSON.
        timing: whether random faults strike before or after the request takes effect.
        routes: only requests to these routes (``"POST /v3/chats"``) get random
            faults; ``None`` means every API route.
        webhook_duplicate_rate: fraction of webhook events delivered twice.
        webhook_reorder_rate: fraction of webhook events held back behind the next one.
        webhook_drop_rate: fraction of webhook delivery attempts dropped on the way.
        seed: the seed of every random choice.
    """

    rate_429: float = attrs.field(default=0.0, validator=_rate)
    retry_after: float = attrs.field(default=1.0, validator=_non_negative)
    rate_500: float = attrs.field(default=0.0, validator=_rate)
    rate_503: float = attrs.field(default=0.0, validator=_rate)
    rate_hang: float = attrs.field(default=0.0, validator=_rate)
    hang_seconds: float = attrs.field(default=30.0, validator=_non_negative)
    rate_drop: float = attrs.field(default=0.0, validator=_rate)
    rate_malformed: float = attrs.field(default=0.0, validator=_rate)
    timing: FaultTiming = FaultTiming.EITHER
    routes: frozenset[str] | None = attrs.field(default=None, converter=_routes)
    webhook_duplicate_rate: float = attrs.field(default=0.0, validator=_rate)
    webhook_reorder_rate: float = attrs.field(default=0.0, validator=_rate)
    seed: int = 0
    webhook_drop_rate: float = attrs.field(default=0.0, validator=_rate)
    """Fraction of webhook delivery attempts whose connection drops before the
    receiver sees them (retried on Linq's schedule, like any network error)."""

    def __attrs_post_init__(self) -> None:
        total = sum(rate for _, rate in self.request_rates())
        if total > 1.0 + 1e-9:
            raise ValidationError("faults", f"request fault rates add up to {total:g}; at most 1")

    def request_rates(self) -> tuple[tuple[FaultKind, float], ...]:
        """Each request fault with its rate, in the order the die is read."""
        return (
            (FaultKind.RATE_LIMIT, self.rate_429),
            (FaultKind.SERVER_ERROR, self.rate_500),
            (FaultKind.UNAVAILABLE, self.rate_503),
            (FaultKind.HANG, self.rate_hang),
            (FaultKind.DROP, self.rate_drop),
            (FaultKind.MALFORMED, self.rate_malformed),
        )


@attrs.frozen
class InjectedFault:
    """One fault chosen for one request; ``timing`` is ``BEFORE`` or ``AFTER``."""

    kind: FaultKind
    timing: FaultTiming = FaultTiming.BEFORE
    retry_after: float = 1.0
    hang_seconds: float = 30.0

    def __attrs_post_init__(self) -> None:
        if self.timing is FaultTiming.EITHER:
            raise ValidationError("timing", "an injected fault is either BEFORE or AFTER")
        if self.kind is FaultKind.RATE_LIMIT and self.timing is FaultTiming.AFTER:
            raise ValidationError("timing", "a rate-limited request never takes effect")

    @property
    def label(self) -> str:
        """``"drop:after"``: the key the fault counter uses."""
        return f"{self.kind.value}:{self.timing.value}"


@attrs.define
class _Scripted:
    fault: InjectedFault
    route: str | None
    remaining: int


@attrs.define
class FaultInjector:
    """Chooses the fault (if any) for each request and each webhook event."""

    faults: Faults = attrs.Factory(Faults)
    _rng: random.Random = attrs.field(init=False)
    _webhook_rng: random.Random = attrs.field(init=False)
    _scripted: list[_Scripted] = attrs.field(init=False, factory=list)

    def __attrs_post_init__(self) -> None:
        self.configure(self.faults)

    def configure(self, faults: Faults) -> None:
        """Use new rates from now on (re-seeding); scripted faults are kept."""
        self.faults = faults
        # Separate streams, so webhook choices do not shift with the number of requests.
        self._rng = random.Random(f"{faults.seed}:requests")
        self._webhook_rng = random.Random(f"{faults.seed}:webhooks")

    def script(
        self,
        kind: FaultKind,
        *,
        timing: FaultTiming = FaultTiming.BEFORE,
        route: str | None = None,
        times: int = 1,
        retry_after: float | None = None,
        hang_seconds: float | None = None,
    ) -> None:
        """Give the next ``times`` requests to ``route`` (any route if ``None``) this fault.

        Args:
            route: a route key such as ``"POST /v3/chats/{chatId}/messages"``.
        """
        if times < 1:
            raise ValidationError("times", "must be at least 1")
        fault = InjectedFault(
            kind,
            timing,
            retry_after=self.faults.retry_after if retry_after is None else retry_after,
            hang_seconds=self.faults.hang_seconds if hang_seconds is None else hang_seconds,
        )
        self._scripted.append(_Scripted(fault, route, times))

    def clear(self) -> None:
        """Forget scripted faults and switch random faults off."""
        self._scripted.clear()
        self.configure(Faults(seed=self.faults.seed))

    def for_request(self, route: str) -> InjectedFault | None:
        """The fault for one request to ``route``, or ``None`` to behave."""
        for entry in self._scripted:
            if entry.route is None or entry.route == route:
                entry.remaining -= 1
                if entry.remaining == 0:
                    self._scripted.remove(entry)
                return entry.fault
        faults = self.faults
        if faults.routes is not None and route not in faults.routes:
            return None
        roll = self._rng.random()
        threshold = 0.0
        for kind, rate in faults.request_rates():
            threshold += rate
            if rate and roll < threshold:
                return InjectedFault(
                    kind,
                    self._timing(kind),
                    retry_after=faults.retry_after,
                    hang_seconds=faults.hang_seconds,
                )
        return None

    def _timing(self, kind: FaultKind) -> FaultTiming:
        if kind is FaultKind.RATE_LIMIT:
            return FaultTiming.BEFORE
        if self.faults.timing is FaultTiming.EITHER:
            return FaultTiming.AFTER if self._rng.random() < 0.5 else FaultTiming.BEFORE
        return self.faults.timing

    def duplicate_webhook(self) -> bool:
        rate = self.faults.webhook_duplicate_rate
        return bool(rate) and self._webhook_rng.random() < rate

    def reorder_webhook(self) -> bool:
        rate = self.faults.webhook_reorder_rate
        return bool(rate) and self._webhook_rng.random() < rate

    def drop_webhook_attempt(self) -> bool:
        """Whether this webhook delivery attempt is lost before the receiver sees it."""
        rate = self.faults.webhook_drop_rate
        return bool(rate) and self._webhook_rng.random() < rate
