"""``HealthBook``: what this process last saw of each conversation's health.

A provider that reports a conversation's health with its events (Linq's
``chat.health_status`` on ``chat.created`` and on 2026-02-03 message events)
sends no event when the health changes; :meth:`HealthBook.observe` derives a
:class:`~caresupport_transport.events.ConversationHealthChanged` when an event
shows a health other than the one this process last saw (a conversation never
seen counts as ``HEALTHY``, the provider's starting state). A provider that
reports the change itself (the memory World) only moves the book on.

``OPTED_OUT`` moves nothing here: it is the opt-out mark over the health (the
keyword rule of ``caresupport_transport.consent`` reports it as ``OptedOut`` /
``OptedIn``), so a conversation that was ``AT_RISK`` before an opt-out and is
``AT_RISK`` after it has not changed.

The book is per process and in memory, like the ``ConsentBook``: after a
restart the first event of an unhealthy conversation reports it again.
Events are taken in the order they are delivered; a late retry of an old
delivery can report a health that has passed since.
"""

from __future__ import annotations

import attrs

from caresupport_transport.events import (
    ConversationCreated,
    ConversationHealthChanged,
    InboundEvent,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
)
from caresupport_transport.model import ConversationHealth

__all__ = ["HealthBook", "reported_health"]


def reported_health(event: InboundEvent) -> ConversationHealth | None:
    """The conversation health an event reports with it, if any."""
    if isinstance(event, ConversationCreated):
        return event.conversation.health
    if isinstance(event, MessageReceived | MessageStatusChanged | MessageEdited):
        return event.conversation_health
    return None


@attrs.define
class HealthBook:
    """Each conversation's health as last seen, and the changes events show.

    Attributes:
        last_seen: conversation id -> its health as last seen (never ``OPTED_OUT``).
    """

    last_seen: dict[str, ConversationHealth] = attrs.Factory(dict)

    def observe(self, event: InboundEvent) -> tuple[ConversationHealthChanged, ...]:
        """Learn from an inbound event; the ``ConversationHealthChanged`` it implies, if any."""
        if isinstance(event, ConversationHealthChanged):
            self.last_seen[event.conversation_id] = event.health
            return ()
        if not isinstance(
            event, ConversationCreated | MessageReceived | MessageStatusChanged | MessageEdited
        ):
            return ()
        health = reported_health(event)
        if health is None or health is ConversationHealth.OPTED_OUT:
            return ()
        previous = self.last_seen.get(event.conversation_id)
        self.last_seen[event.conversation_id] = health
        if health is (previous or ConversationHealth.HEALTHY):
            return ()
        return (
            ConversationHealthChanged(
                f"{event.event_id}:health",
                event.occurred_at,
                event.conversation_id,
                health,
                previous,
            ),
        )
