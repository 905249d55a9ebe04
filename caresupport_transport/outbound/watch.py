"""``Watch``: the watchdog's rules for an intent (per kind of message, or the default).

Each rule is checked once, at its deadline, by one worker (the check holds a
lease on that rule of the intent), and acts only if the intent has not got
there yet:

* ``resend_after``: not delivered by then: send it again over the next
  service (iMessage -> RCS -> SMS) under a key derived from the intent's, once;
* ``failure_grace``: after a *failed* status, wait this long for a late
  *delivered* (Linq can report both for one message) before that re-send, so
  a person is never texted twice for one message that did arrive;
* ``undelivered_after``: not delivered by then: call ``on_undelivered``
  (care logic alerts a coordinator);
* ``unread_after``: not read by then: call ``on_unread``.

This rule is the one place a failure reported later is re-sent: the transport
passes such a failure on untouched (its ``FallbackPolicy.resend_on_failure``
re-sends only a send whose own answer came back failed).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from caresupport_transport.errors import ConfigurationError

__all__ = ["DEFAULT_FAILURE_GRACE", "Watch"]

DEFAULT_FAILURE_GRACE = timedelta(minutes=2)
"""How long a failed status waits for a late delivered before the watchdog re-sends."""


def _optional_positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigurationError(
            f"{attribute.name}: must be a positive timedelta or None, got {value!r}"
        )


@attrs.frozen
class Watch:
    """Deadlines for one kind of message; ``None`` turns a rule off (see the module notes)."""

    resend_after: timedelta | None = attrs.field(default=None, validator=_optional_positive)
    undelivered_after: timedelta | None = attrs.field(default=None, validator=_optional_positive)
    unread_after: timedelta | None = attrs.field(default=None, validator=_optional_positive)
    failure_grace: timedelta = attrs.field(
        default=DEFAULT_FAILURE_GRACE, validator=_optional_positive
    )
    resend_on_failure: bool = False
    """Re-send over the next service when a failed status stays failed for ``failure_grace``."""

    def deadlines(self) -> dict[str, timedelta]:
        """The rules with a deadline after the send, by name."""
        rules = {
            "resend": self.resend_after,
            "undelivered": self.undelivered_after,
            "unread": self.unread_after,
        }
        return {name: after for name, after in rules.items() if after is not None}
