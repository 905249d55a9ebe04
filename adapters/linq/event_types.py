"""The webhook event types Linq documents, in the published description's order.

One list for the parser, the simulator and the tests (a payload per type).

:data:`ALL_EVENT_TYPES` holds all 75 types of Linq's SDK 0.65 (grouped as Linq
groups them: message, reaction, poll, participant, chat, phone number, contact
card, call, location, payment, connection, retention, environment, API token,
webhook subscription, team member). Every one of them parses: the ones care
logic acts on as typed domain events
(:data:`~adapters.linq.webhook_events.KNOWN_EVENT_TYPES`), the rest as
``UnknownEvent`` with the raw payload, never a refusal.
"""

from __future__ import annotations

__all__ = ["ALL_EVENT_TYPES", "WEBHOOK_EVENTS_DOC_URL", "WEBHOOK_VERSIONS"]

ALL_EVENT_TYPES: tuple[str, ...] = (
    # message (6)
    "message.sent",
    "message.received",
    "message.read",
    "message.delivered",
    "message.failed",
    "message.edited",
    # reaction (2)
    "reaction.added",
    "reaction.removed",
    # poll (9)
    "poll.received",
    "poll.failed",
    "poll.sent",
    "poll.delivered",
    "poll.read",
    "poll.updated",
    "poll.vote.added",
    "poll.vote.removed",
    "poll.reaction.added",
    # participant (2)
    "participant.added",
    "participant.removed",
    # chat (9)
    "chat.created",
    "chat.group_name_updated",
    "chat.group_icon_updated",
    "chat.group_name_update_failed",
    "chat.group_icon_update_failed",
    "chat.background_updated",
    "chat.background_update_failed",
    "chat.typing_indicator.started",
    "chat.typing_indicator.stopped",
    # phone_number (4)
    "phone_number.status_updated",
    "phone_number.assigned",
    "phone_number.released",
    "phone_number.forwarding_updated",
    # contact_card (4)
    "contact_card.received",
    "contact_card.created",
    "contact_card.updated",
    "contact_card.deleted",
    # call (7)
    "call.initiated",
    "call.ringing",
    "call.answered",
    "call.ended",
    "call.failed",
    "call.declined",
    "call.no_answer",
    # location (2)
    "location.sharing.started",
    "location.sharing.stopped",
    # payment (5)
    "payment.succeeded",
    "payment.canceled",
    "payment.expired",
    "payment.declined",
    "payment.authorized",
    # connection (2)
    "connection.created",
    "connection.revoked",
    # retention (1)
    "zero_day_retention.updated",
    # environment (4)
    "environment.created",
    "environment.renamed",
    "environment.deleted",
    "environment.line_moved",
    # api_token (6)
    "api_token.created",
    "api_token.renamed",
    "api_token.expiry_scheduled",
    "api_token.expired",
    "api_token.activated",
    "api_token.deleted",
    # webhook_subscription (9)
    "webhook_subscription.created",
    "webhook_subscription.deleted",
    "webhook_subscription.target_url_changed",
    "webhook_subscription.enabled",
    "webhook_subscription.disabled",
    "webhook_subscription.events.updated",
    "webhook_subscription.phone_numbers.updated",
    "webhook_subscription.routing_headers_set",
    "webhook_subscription.routing_headers_cleared",
    # team_member (3)
    "team_member.added",
    "team_member.signed_in",
    "team_member.signed_out",
)
"""Every webhook event type Linq documents (75, SDK 0.65), in its order."""

WEBHOOK_VERSIONS: tuple[str, ...] = ("2025-01-01", "2026-02-03")
"""Payload versions, chosen with ``?version=`` on a subscription's target URL."""

WEBHOOK_EVENTS_DOC_URL = "https://docs.linqapp.com/channel/imessage/guides/webhooks/events"
"""The ``doc_url`` of ``GET /v3/webhook-events``."""
