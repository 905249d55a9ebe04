"""Outbound intents that survive anything: the outbox, its worker and its watchdog.

:class:`Outbox` records each send before any I/O (key fixed then);
:class:`OutboxWorker` carries it out with retries under that key, moves it
through :class:`DeliveryState` from delivery statuses, and runs the
:class:`Watch` rules (re-send over the next service, ``on_undelivered``,
``on_unread``) at most once per intent. ``docs/outbox.md`` shows a medication
reminder with a delivery deadline and a coordinator alert.
"""

from caresupport_transport.outbound.intent import DeliveryState, IntentStatus, OutboxIntent
from caresupport_transport.outbound.outbox import MAX_INTENT_ID_CHARS, Outbox
from caresupport_transport.outbound.outbox_worker import (
    DEFAULT_SEND_SCHEDULE,
    IntentCallback,
    OutboxWorker,
)
from caresupport_transport.outbound.watch import DEFAULT_FAILURE_GRACE, Watch

__all__ = [
    "DEFAULT_FAILURE_GRACE",
    "DEFAULT_SEND_SCHEDULE",
    "MAX_INTENT_ID_CHARS",
    "DeliveryState",
    "IntentCallback",
    "IntentStatus",
    "Outbox",
    "OutboxIntent",
    "OutboxWorker",
    "Watch",
]
