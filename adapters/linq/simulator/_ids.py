"""The simulator's own ids (subscriptions, uploads, handles, traces), deterministic from a seed."""

from __future__ import annotations

import hashlib
import uuid

import attrs

__all__ = ["SimulatorIds"]


@attrs.define
class SimulatorIds:
    """UUID-shaped ids and 32-hex trace ids: the same seed and calls give the same values."""

    seed: int = 0
    _counters: dict[str, int] = attrs.Factory(dict)

    def _digest(self, namespace: str) -> bytes:
        count = self._counters.get(namespace, 0)
        self._counters[namespace] = count + 1
        return hashlib.sha256(f"linq-sim:{self.seed}:{namespace}:{count}".encode()).digest()

    def next(self, namespace: str) -> str:
        return str(uuid.UUID(bytes=self._digest(namespace)[:16], version=4))

    def trace(self) -> str:
        return self._digest("trace")[:16].hex()

    def token(self, namespace: str, size: int = 24) -> bytes:
        """``size`` bytes that look random (secrets, upload signatures)."""
        return hashlib.sha256(self._digest(namespace)).digest()[:size]

    def stable(self, *names: str) -> str:
        """A UUID that is always the same for the same names (a participant's handle id)."""
        digest = hashlib.sha256(":".join(("linq-sim", str(self.seed), *names)).encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))
