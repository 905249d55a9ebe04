"""What the in-memory transport sent, and the receipts it owes a retried send (private)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from adapters.memory.world import World
from caresupport_transport.capabilities import Service
from caresupport_transport.model import Degradation, DeliveryStatus, Message, SendReceipt
from caresupport_transport.sending import overall_status as shared_overall_status
from caresupport_transport.sending import split_key as bubble_key

__all__ = ["SendLedger", "bubble_key", "overall_status"]


def overall_status(messages: Sequence[Message]) -> DeliveryStatus:
    """Failed if any bubble failed, else the least advanced bubble's status."""
    return shared_overall_status(m.status for m in messages)


@attrs.define
class SendLedger:
    """Every new send in order, and its receipt by idempotency key."""

    sent: list[Message] = attrs.Factory(list)
    receipts: list[SendReceipt] = attrs.Factory(list)
    _by_key: dict[str, SendReceipt] = attrs.Factory(dict)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def record(
        self,
        sent: Sequence[Message],
        conversation_id: str,
        service: Service,
        key: str,
        degradations: Sequence[Degradation],
    ) -> SendReceipt:
        receipt = SendReceipt(
            message_ids=[m.id for m in sent],
            conversation_id=conversation_id,
            service=service,
            status=overall_status(sent),
            idempotency_key=key,
            degradations=tuple(degradations),
        )
        self.sent.extend(sent)
        self.receipts.append(receipt)
        self._by_key[key] = receipt
        return receipt

    def replay(self, key: str, world: World) -> SendReceipt:
        """The receipt first returned under ``key``, with its status as now known."""
        receipt = self._by_key[key]
        current = [world.message(m) for m in receipt.message_ids]
        return attrs.evolve(receipt, status=overall_status(current))
