"""Deterministic ids: the same seed and the same calls give the same ids."""

from __future__ import annotations

import hashlib
import uuid

import attrs

__all__ = ["IdFactory"]


@attrs.define
class IdFactory:
    """Makes UUID-shaped ids (as the provider's are) from a seed, a namespace and a counter."""

    seed: int = 0
    _counters: dict[str, int] = attrs.Factory(dict)

    def next(self, namespace: str) -> str:
        """The next id in ``namespace`` (``"chat"``, ``"message"``, ``"event"``...)."""
        count = self._counters.get(namespace, 0)
        self._counters[namespace] = count + 1
        digest = hashlib.sha256(f"{self.seed}:{namespace}:{count}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))
