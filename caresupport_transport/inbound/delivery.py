"""``Delivery``: a provider's verified delivery, taken into the inbox before it is parsed.

A webhook receiver's job is to make a delivery durable and answer fast. Parsing
a message into domain objects (parts, handles, replies) and encoding them again
for the store is most of that work, and the worker does it again when it
decodes the entry. So a receiver that recognises a delivery's routing fields
(its event id, conversation, message id and direction) hands the inbox a
``Delivery`` instead: the inbox stores the verified body as received, with the
de-duplication keys and order key the parsed event would have had, and the
worker builds the domain event when it handles the entry (through the decoder
registered for ``source``, see
:func:`~caresupport_transport.inbound.codec.register_delivery_source`).

Nothing provider-shaped enters the domain: ``source`` names the decoder and
``body`` is opaque text to everything but that decoder.
"""

from __future__ import annotations

import attrs

from caresupport_transport.inbound.store import dedup_keys

__all__ = ["Delivery"]


@attrs.frozen(repr=False)
class Delivery:
    """One verified delivery and what routing it needs, read without parsing the rest.

    Attributes:
        source: the decoder that turns ``body`` into an event (``"linq"``).
        body: the verified delivery as received (JSON text); kept out of ``repr``.
        event_id: the event's id (the inbox entry's id).
        conversation_id: the conversation it belongs to, if any.
        message_id: the id of the message it carries, when it is a received
            message (a de-duplication key, as for a parsed ``MessageReceived``).
        outbound: whether it is the echo of a message we sent.
    """

    source: str
    body: str
    event_id: str
    conversation_id: str | None = None
    message_id: str | None = None
    outbound: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """The de-duplication keys, the same a parsed event gets (``event_keys``)."""
        return dedup_keys(self.event_id, self.message_id)

    def __repr__(self) -> str:
        return (
            f"Delivery(source={self.source!r}, event_id={self.event_id!r}, "
            f"conversation_id={self.conversation_id!r}, outbound={self.outbound}, "
            f"body=<{len(self.body)} chars>)"
        )
