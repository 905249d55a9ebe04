"""``Coalescing``: when several quick events of one order key become one turn.

People text in bursts ("hi" / "mum's pills" / "the blue ones, did she take
them?"). A worker given a ``Coalescing`` waits, holding the key's lease, until
the key has been quiet for ``quiet`` (or ``max_wait`` passed since the turn's
first event was accepted), then hands every event waiting for the key to the
handler as one :class:`~caresupport_transport.inbound.Turn`. Media, and texts
the caller marks urgent, close the turn at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs

from caresupport_transport.content import MediaPart
from caresupport_transport.errors import ConfigurationError
from caresupport_transport.events import InboundEvent, MessageReceived

__all__ = [
    "DEFAULT_CHECK_INTERVAL",
    "DEFAULT_MAX_TURN_EVENTS",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_QUIET",
    "Coalescing",
]

DEFAULT_QUIET = timedelta(seconds=1.5)
"""How long a key stays quiet before its waiting events become a turn."""

DEFAULT_MAX_WAIT = timedelta(seconds=6)
"""The longest a turn's first event waits, however chatty the key stays."""

DEFAULT_MAX_TURN_EVENTS = 50
"""The most events one turn holds; later ones start the next turn."""

DEFAULT_CHECK_INTERVAL = timedelta(seconds=0.25)
"""How often a worker looks at the key's queue while it waits or while a turn runs."""


def _never_urgent(event: InboundEvent) -> bool:
    return False


def _positive(instance: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigurationError(f"{attribute.name}: must be a positive timedelta, got {value!r}")


@attrs.frozen
class Coalescing:
    """How a worker turns a key's quick events into one turn (see the module notes).

    Args:
        quiet: the key has had no new event for this long: the turn starts.
        max_wait: the turn starts at the latest this long after its first
            event was accepted (a retried turn starts at once).
        max_events: the most events in one turn.
        urgent: marks an event that closes its turn at once (a text saying
            "fell", say); media always does unless ``media_is_urgent`` is off.
        media_is_urgent: a message carrying media closes its turn at once.
        check_interval: how often the key's queue is read while waiting and
            while the handler runs (for ``Turn.superseded``).

    Raises:
        ConfigurationError: a setting out of range, naming it.
    """

    quiet: timedelta = attrs.field(default=DEFAULT_QUIET, validator=_positive)
    max_wait: timedelta = attrs.field(default=DEFAULT_MAX_WAIT, validator=_positive)
    max_events: int = DEFAULT_MAX_TURN_EVENTS
    urgent: Callable[[InboundEvent], bool] = attrs.field(default=_never_urgent, kw_only=True)
    media_is_urgent: bool = attrs.field(default=True, kw_only=True)
    check_interval: timedelta = attrs.field(
        default=DEFAULT_CHECK_INTERVAL, validator=_positive, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if self.max_wait < self.quiet:
            raise ConfigurationError(
                f"max_wait: must be at least quiet ({self.quiet}), got {self.max_wait}"
            )
        if (
            isinstance(self.max_events, bool)
            or not isinstance(self.max_events, int)
            or not 1 <= self.max_events <= 1000
        ):
            raise ConfigurationError(
                f"max_events: must be an int from 1 to 1000, got {self.max_events!r}"
            )

    def closes_turn(self, event: InboundEvent) -> bool:
        """Whether ``event`` starts its turn at once (media, or marked urgent)."""
        if (
            self.media_is_urgent
            and isinstance(event, MessageReceived)
            and any(isinstance(part, MediaPart) for part in event.message.parts)
        ):
            return True
        return bool(self.urgent(event))
