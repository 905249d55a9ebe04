"""``Failover``: send over a primary transport and, on an explicit policy, over a fallback one.

CareSupport's use: Linq first, Twilio SMS when Linq cannot be used, so a care
team whose Linq line is down still gets its medication reminders. It is a
composition of two ``Transport`` ports, so it knows no provider.

The policy is explicit, never a guess:

* **primary unreachable**: the primary raised ``UnreachableError`` *without*
  ``outcome_unknown`` (no answer came and the request cannot have taken
  effect, as when the connection was refused). An error whose outcome is
  unknown is raised as it is: the text may have gone, and a second text over
  another number would be a duplicate.
* **line down**: an inbound ``LineStatusChanged`` said our primary line is
  ``FLAGGED`` (hand every inbound event to :meth:`Failover.observe`); until it
  says ``ACTIVE`` again, sends go straight to the fallback.

Limits: it sends to one person (a 1:1 thread; a group cannot be carried over
SMS from another number), by handle, since the primary's chat cannot be read
while it is unreachable. The fallback reaches the person *from a different
number*, so their phone shows a different thread, and their reply arrives on
the fallback's receiver. The receipt says which way it went and why.
"""

from __future__ import annotations

import enum

import attrs

from caresupport_transport.content import OutgoingMessage
from caresupport_transport.errors import UnreachableError
from caresupport_transport.events import InboundEvent, LineStatus, LineStatusChanged
from caresupport_transport.handles import Handle
from caresupport_transport.model import SendReceipt
from caresupport_transport.port import Transport

__all__ = ["Failover", "FailoverReason", "FailoverReceipt"]


class FailoverReason(enum.Enum):
    """Why a send went over the fallback."""

    PRIMARY_UNREACHABLE = "primary_unreachable"
    LINE_DOWN = "line_down"


@attrs.frozen
class FailoverReceipt:
    """A send's receipt, and which transport carried it.

    Attributes:
        receipt: the carrying transport's receipt.
        via: ``"primary"`` or ``"fallback"``.
        reason: why the fallback carried it (``None`` when the primary did).
    """

    receipt: SendReceipt
    via: str
    reason: FailoverReason | None = None

    @property
    def failed_over(self) -> bool:
        return self.reason is not None


class Failover:
    """Linq (``primary``) first, Twilio SMS (``fallback``) on the explicit policy above.

    Args:
        primary: the transport to use while it can be used.
        fallback: the transport to use when it cannot.
        on_unreachable: fail over when the primary is unreachable (default on).
        on_line_down: fail over while the primary line is flagged (default on).
    """

    def __init__(
        self,
        primary: Transport,
        fallback: Transport,
        *,
        on_unreachable: bool = True,
        on_line_down: bool = True,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.on_unreachable = on_unreachable
        self.on_line_down = on_line_down
        self.line_down = False

    def observe(self, event: InboundEvent) -> None:
        """Learn the primary line's status from an inbound event (others are ignored)."""
        if isinstance(event, LineStatusChanged):
            self.line_down = event.status is not LineStatus.ACTIVE

    async def send_to(
        self, person: Handle, message: OutgoingMessage, *, idempotency_key: str
    ) -> FailoverReceipt:
        """Send ``message`` to ``person`` in their 1:1 thread, over the primary if it can.

        Raises:
            UnreachableError: with ``outcome_unknown``, from the primary: not
                failed over, since the text may have gone (retry under the key).
            TransportError: whatever the carrying transport raised otherwise.
        """
        if self.on_line_down and self.line_down:
            return await self._fallback(person, message, idempotency_key, FailoverReason.LINE_DOWN)
        try:
            conversation = await self.primary.conversation_for(person)
            receipt = await self.primary.send_message(
                conversation.id, message, idempotency_key=idempotency_key
            )
        except UnreachableError as exc:
            if not self.on_unreachable or exc.outcome_unknown:
                raise
            return await self._fallback(
                person, message, idempotency_key, FailoverReason.PRIMARY_UNREACHABLE
            )
        return FailoverReceipt(receipt, "primary")

    async def _fallback(
        self, person: Handle, message: OutgoingMessage, key: str, reason: FailoverReason
    ) -> FailoverReceipt:
        conversation = await self.fallback.conversation_for(person)
        receipt = await self.fallback.send_message(conversation.id, message, idempotency_key=key)
        return FailoverReceipt(receipt, "fallback", reason)
