"""``RetrySchedule``: when the inbox tries a failed event again, and when it gives up.

Exponential backoff with jitter: the n-th failure waits ``first_delay *
factor ** (n - 1)``, at most ``max_delay``, each wait scattered by up to
``jitter`` either way so that events failing together (the care logic's model
down for everyone) do not all come back in the same second. An event is given
up (dead-lettered, kept for ``inbox replay``) once its next attempt would fall
more than ``give_up_after`` after it was received, or after ``max_attempts``.

With the defaults an event is tried about 30 times over 24 hours: 10 s, 20 s,
40 s, ... then hourly.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import attrs

from caresupport_transport.errors import ConfigurationError

__all__ = ["RetrySchedule"]


def _positive(name: str, value: timedelta) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigurationError(f"{name}: must be a positive timedelta, got {value!r}")


@attrs.frozen
class RetrySchedule:
    """When to try a failed inbound event again (see the module notes).

    Args:
        first_delay: the wait after the first failure.
        factor: how much each further wait grows (at least 1).
        max_delay: the longest single wait.
        give_up_after: how long after receipt the inbox keeps trying.
        jitter: the share (0 to 1) by which a wait is scattered either way.
        max_attempts: give up after this many attempts too (``None``: no limit).

    Raises:
        ConfigurationError: a setting outside its range, naming it.
    """

    first_delay: timedelta = timedelta(seconds=10)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=1)
    give_up_after: timedelta = timedelta(hours=24)
    jitter: float = 0.2
    max_attempts: int | None = None

    def __attrs_post_init__(self) -> None:
        _positive("first_delay", self.first_delay)
        _positive("max_delay", self.max_delay)
        _positive("give_up_after", self.give_up_after)
        if isinstance(self.factor, bool) or not isinstance(self.factor, int | float):
            raise ConfigurationError(f"factor: must be a number, got {self.factor!r}")
        if not 1 <= self.factor <= 100:
            raise ConfigurationError(f"factor: must be from 1 to 100, got {self.factor}")
        if isinstance(self.jitter, bool) or not isinstance(self.jitter, int | float):
            raise ConfigurationError(f"jitter: must be a number, got {self.jitter!r}")
        if not 0 <= self.jitter < 1:
            raise ConfigurationError(f"jitter: must be at least 0 and below 1, got {self.jitter}")
        if self.max_attempts is not None and (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise ConfigurationError(
                f"max_attempts: must be a positive int or None, got {self.max_attempts!r}"
            )

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (jittered)."""
        exponent = max(attempts - 1, 0)
        # Capped before multiplying: factor ** 40 seconds overflows timedelta.
        seconds = self.first_delay.total_seconds()
        limit = self.max_delay.total_seconds()
        for _ in range(exponent):
            seconds *= self.factor
            if seconds >= limit:
                break
        seconds = min(seconds, limit)
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return timedelta(seconds=seconds * (1 + spread))

    def next_attempt(
        self,
        *,
        attempts: int,
        received_at: datetime,
        now: datetime,
        rng: random.Random | None = None,
    ) -> datetime | None:
        """When to try again after the ``attempts``-th failure at ``now``; ``None``: give up."""
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return None
        due = now + self.delay(attempts, rng)
        if due - received_at > self.give_up_after:
            return None
        return due
