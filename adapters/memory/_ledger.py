"""What the in-memory transport sent, and the receipts it owes a retried send (private)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import attrs

from adapters.memory.world import World
from caresupport_transport import limits
from caresupport_transport.capabilities import Service
from caresupport_transport.model import Degradation, DeliveryStatus, Message, SendReceipt

__all__ = ["SendLedger", "bubble_key", "overall_status"]


def bubble_key(key: str, index: int, count: int) -> str:
    """The idempotency key of bubble ``index`` of ``count`` sent under the caller's ``key``.

    One bubble keeps the caller's key; several get ``key:1``, ``key:2``...
    (hashed first if that would pass the provider's 255-character limit).
    """
    if count == 1:
        return key
    suffix = f":{index + 1}"
    if len(key) + len(suffix) > limits.MAX_IDEMPOTENCY_KEY_LENGTH:
        key = hashlib.sha256(key.encode()).hexdigest()
    return key + suffix


def overall_status(messages: Sequence[Message]) -> DeliveryStatus:
    """Failed if any bubble failed, else the least advanced bubble's status."""
    if any(m.status is DeliveryStatus.FAILED for m in messages):
        return DeliveryStatus.FAILED
    return min((m.status for m in messages), key=lambda s: s.rank)


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
