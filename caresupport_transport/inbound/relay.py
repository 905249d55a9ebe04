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
again later: nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs

from caresupport_transport.errors import ConfigurationError
from caresupport_transport.events import (
    ConversationUpdated,
    InboundEvent,
    MessageReceived,
    MessageStatusChanged,
    ParticipantAdded,
    ParticipantRemoved,
)
from caresupport_transport.model import DeliveryStatus, Direction
from caresupport_transport.port import InboundHandler

__all__ = ["InboundRelay", "as_sent_status"]

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
    )


@attrs.frozen
class InboundRelay:
    """The dispatcher's handler: adapts Linq's events, then calls the current care handler.

    Args:
        handler: returns the care logic's handler registered now (``None`` if none).
        include_outbound: hand outbound echoes over as messages instead of statuses.
        conversation_changed: told the id of a chat whose participants or name
            changed, so the transport reads it afresh for its next send.
        observed: shown every event first, as delivered (the transport keeps
            received messages and edits for later actions: ``MessageLedger``).
    """

    handler: Callable[[], InboundHandler | None]
    include_outbound: bool = False
    conversation_changed: Callable[[str], None] | None = None
    observed: Callable[[InboundEvent], None] | None = None

    async def __call__(self, event: InboundEvent) -> None:
        if self.observed is not None:
            self.observed(event)
        if self.conversation_changed is not None and isinstance(
            event, ParticipantAdded | ParticipantRemoved | ConversationUpdated
        ):
            self.conversation_changed(event.conversation_id)
        if (
            isinstance(event, MessageReceived)
            and event.message.direction is Direction.OUTBOUND
            and not self.include_outbound
        ):
            event = as_sent_status(event)
        handler = self.handler()
        if handler is None:
            raise ConfigurationError(
                "no inbound handler registered (call on_inbound first); "
                "the event is not acknowledged and will be delivered again"
            )
        await handler(event)
