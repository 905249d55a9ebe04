"""The webhook event types Linq documents, in the published description's order.

One list for the parser (which types it models), the simulator (which types a
subscription may name and it delivers) and the tests (a fixture per type).
"""

from __future__ import annotations

__all__ = ["EVENT_TYPES", "WEBHOOK_VERSIONS"]

EVENT_TYPES: tuple[str, ...] = (
    "message.sent",
    "message.received",
    "message.read",
    "message.delivered",
    "message.failed",
    "message.edited",
    "reaction.added",
    "reaction.removed",
    "poll.received",
    "poll.failed",
    "poll.sent",
    "poll.delivered",
    "poll.read",
    "poll.updated",
    "poll.vote.added",
    "poll.vote.removed",
    "poll.reaction.added",
    "participant.added",
    "participant.removed",
    "chat.created",
    "chat.group_name_updated",
    "chat.group_icon_updated",
    "chat.group_name_update_failed",
    "chat.group_icon_update_failed",
    "chat.typing_indicator.started",
    "chat.typing_indicator.stopped",
    "phone_number.status_updated",
)

WEBHOOK_VERSIONS: tuple[str, ...] = ("2025-01-01", "2026-02-03")
"""Payload versions, chosen with ``?version=`` on a subscription's target URL."""
