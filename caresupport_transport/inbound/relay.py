"""Between an inbound path (dispatcher, in-memory queue) and the care logic's handler.

A provider may say "your message was sent" with an event carrying the whole
message (an outbound echo: Linq's ``message.sent``). Unless the care logic
asked for echoes, the relay hands it over as what it means, a
``MessageStatusChanged(SENT)``, so the care logic hears ``sent``,
``delivered``, ``read`` alike from every adapter. A failure reported later
is passed on as it is: re-sending it is the outbox's watchdog rule
(``Watch(resend_on_failure=True)``), which first waits for a late delivery, so
a person is never texted twice for a message that did arrive. With no handler
registered the relay raises, so the event is not acknowledged and is delivered
again later: nothing is lost. Then a transport may read the event for polls
(``read_poll_event``): a text reply that is just an option number of the open
numbered question becomes a ``PollVoteAdded``, and a vote event gets its
option's text.

Some events warn in the log as they pass, whatever the care logic does with
them, because they mean care messages may be lost: a webhook subscription
switched off or deleted, one of our lines flagged or of critical reputation. A
failure logs its code and opaque detail code (never the message). A message
recovered late by reconciliation (``MessageReceived.reconciled``) is handed
over like any other; care logic should treat it as history, not answer it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import attrs

from caresupport_transport.errors import ConfigurationError
from caresupport_transport.events import (
    ConversationHealthChanged,
    ConversationUpdated,
    InboundEvent,
    LineReputation,
    LineStatus,
    LineStatusChanged,
    MessageReceived,
    MessageStatusChanged,
    ParticipantAdded,
    ParticipantRemoved,
    WebhookSubscriptionChanged,
)
from caresupport_transport.model import ConversationHealth, DeliveryStatus, Direction
from caresupport_transport.port import InboundHandler
from caresupport_transport.redact import mask_handle

__all__ = ["InboundRelay", "as_sent_status", "log_warning_signs"]

_log = logging.getLogger("caresupport_transport")


def as_sent_status(event: MessageReceived) -> MessageStatusChanged:
    """An outbound echo read as the status change it reports."""
    return MessageStatusChanged(
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        conversation_id=event.conversation_id,
        message_id=event.message.id,
        status=DeliveryStatus.SENT,
        service=event.message.service,
        conversation_health=event.conversation_health,
    )


def log_warning_signs(event: InboundEvent) -> None:
    """Log what an event says about care messages being lost (ids and codes only)."""
    if isinstance(event, WebhookSubscriptionChanged) and not event.enabled:
        _log.warning(
            "webhook subscription %s was %s: its events (care messages among them) are "
            "no longer delivered; poll to catch up",
            event.subscription_id,
            event.change,
        )
    elif isinstance(event, LineStatusChanged) and (
        event.status is LineStatus.FLAGGED or event.reputation is LineReputation.CRITICAL
    ):
        _log.warning(
            "line %s is %s (reputation %s): messages from it may not arrive",
            mask_handle(event.line),
            event.status.value if event.status else "unchanged",
            event.reputation.value if event.reputation else "unchanged",
        )
    elif (
        isinstance(event, ConversationHealthChanged) and event.health is ConversationHealth.CRITICAL
    ):
        _log.warning(
            "conversation %s is CRITICAL: messages in it are not landing; pause sending there",
            event.conversation_id,
        )
    elif isinstance(event, MessageStatusChanged) and event.status is DeliveryStatus.FAILED:
        _log.info(
            "message %s failed on %s: error %s, detail %s",
            event.message_id,
            event.service.value if event.service else "an unknown service",
            event.error_code,
            event.detail_code,
        )


@attrs.frozen
class InboundRelay:
    """The dispatcher's handler: adapts Linq's events, then calls the current care handler.

    Args:
        handler: returns the care logic's handler registered now (``None`` if none).
        include_outbound: hand outbound echoes over as messages instead of statuses.
        conversation_changed: told the id of a chat whose participants or name
            changed, so the transport reads it afresh for its next send.
        observe: shown every event first (the transport learns opt-outs from
            them); the events it returns are handed to the handler after this one.
        observed: shown every event first, as delivered (the transport keeps
            received messages and edits for later actions: ``MessageLedger``).
    """

    handler: Callable[[], InboundHandler | None]
    include_outbound: bool = False
    conversation_changed: Callable[[str], None] | None = None
    read_poll_event: Callable[[InboundEvent], Awaitable[InboundEvent]] | None = None
    """Reads a numbered reply as a vote and completes vote events (``ProviderTransport``)."""
    observe: Callable[[InboundEvent], Awaitable[Sequence[InboundEvent]]] | None = None
    observed: Callable[[InboundEvent], None] | None = None

    async def __call__(self, event: InboundEvent) -> None:
        event = self._note(event)
        handler = self.handler()
        if handler is None:
            raise ConfigurationError(
                "no inbound handler registered (call on_inbound first); "
                "the event is not acknowledged and will be delivered again"
            )
        for adapted in await self._interpret(event):
            await handler(adapted)

    async def adapt(self, event: InboundEvent) -> list[InboundEvent]:
        """What the handler would be given for ``event``, in order, without calling it.

        The same steps as a call (echoes read as statuses, opt-outs learned,
        numbered replies read as votes, then the events they imply), for a
        worker that hands the care logic several events at once
        (``InboxWorker(..., turns=..., adapt=relay.adapt)``).
        """
        return await self._interpret(self._note(event))

    def _note(self, event: InboundEvent) -> InboundEvent:
        """Keep, warn about and read ``event`` before any handler sees it."""
        if self.observed is not None:
            self.observed(event)
        log_warning_signs(event)
        if self.conversation_changed is not None and isinstance(
            event, ParticipantAdded | ParticipantRemoved | ConversationUpdated
        ):
            self.conversation_changed(event.conversation_id)
        if (
            isinstance(event, MessageReceived)
            and event.message.direction is Direction.OUTBOUND
            and not self.include_outbound
        ):
            return as_sent_status(event)
        return event

    async def _interpret(self, event: InboundEvent) -> list[InboundEvent]:
        """The event as the care logic reads it, then the events it implies."""
        # Consent sees the message as it came (a numeric reply opts back in too).
        derived = await self.observe(event) if self.observe is not None else ()
        if self.read_poll_event is not None:
            event = await self.read_poll_event(event)
        return [event, *derived]
