"""Ids from a seed: the same seed and the same calls give the same ids.

A World made without a seed draws one at random (:func:`random_seed`), so two
runs, or a restarted simulator, never issue the same ids: a store that
remembers handled event ids from an earlier run must not mistake a new event
for one it has seen. Tests that want reproducible ids pass a seed.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

import attrs

__all__ = ["IdFactory", "random_seed", "seed_or_random"]

_SEED_BITS = 63


def random_seed() -> int:
    """A fresh seed from the OS's randomness (63 bits: never repeated in practice)."""
    return secrets.randbits(_SEED_BITS)


def seed_or_random(seed: int | None) -> int:
    """``seed`` itself, or a fresh :func:`random_seed` when it is ``None``."""
    return random_seed() if seed is None else seed


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
