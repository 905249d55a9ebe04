"""The webhook event types Linq documents, in the published description's order.

One list for the parser (which types it models), the simulator (which types a
subscription may name and it delivers) and the tests (a fixture per type).
"""

from __future__ import annotations

__all__ = ["EVENT_TYPES", "LINQ_2026_EVENT_TYPES", "WEBHOOK_EVENTS_DOC_URL", "WEBHOOK_VERSIONS"]

EVENT_TYPES: tuple[str, ...] = (
    "message.sent",
    "message.received",
    "message.read",
    "message.delivered",
    "message.failed",
    "message.edited",
    "reaction.added",
    "reaction.removed",
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

LINQ_2026_EVENT_TYPES: tuple[str, ...] = (
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
    "chat.background_updated",
    "chat.background_update_failed",
    "chat.typing_indicator.started",
    "chat.typing_indicator.stopped",
    "phone_number.status_updated",
    "phone_number.assigned",
    "phone_number.released",
    "contact_card.received",
    "call.initiated",
    "call.ringing",
    "call.answered",
    "call.ended",
    "call.failed",
    "call.declined",
    "call.no_answer",
    "location.sharing.started",
    "location.sharing.stopped",
    "payment.succeeded",
    "payment.canceled",
    "payment.expired",
    "payment.declined",
    "payment.authorized",
    "connection.created",
    "connection.revoked",
    "zero_day_retention.updated",
    "phone_number.forwarding_updated",
    "environment.line_moved",
    "contact_card.created",
    "contact_card.updated",
    "contact_card.deleted",
    "api_token.created",
    "api_token.renamed",
    "api_token.expiry_scheduled",
    "api_token.expired",
    "api_token.activated",
    "api_token.deleted",
    "environment.created",
    "environment.renamed",
    "environment.deleted",
    "webhook_subscription.created",
    "webhook_subscription.deleted",
    "webhook_subscription.target_url_changed",
    "webhook_subscription.enabled",
    "webhook_subscription.disabled",
    "webhook_subscription.events.updated",
    "webhook_subscription.phone_numbers.updated",
    "webhook_subscription.routing_headers_set",
    "webhook_subscription.routing_headers_cleared",
    "team_member.added",
    "team_member.signed_in",
    "team_member.signed_out",
)
"""Every type ``GET /v3/webhook-events`` lists as of Linq's 0.65 SDK (75), in its order.

A subscription may name any of them; :data:`EVENT_TYPES` are the ones the
parser reads into their own classes (the rest parse into a generic event).
"""

WEBHOOK_EVENTS_DOC_URL = "https://docs.linqapp.com/channel/imessage/guides/webhooks/events"
"""The ``doc_url`` of ``GET /v3/webhook-events``."""
