"""The in-memory adapter: a full, deterministic ``Transport`` for care-logic tests.

:class:`World` models how messaging behaves (recipients, conversations,
delivery on a virtual clock, events); :class:`InMemoryTransport` is the port
over it, with the same fallback policy as every adapter.
"""

from adapters.memory.delivery import DeliveryDelays
from adapters.memory.no_sleep import NoSleep
from adapters.memory.provider import MemoryProvider
from adapters.memory.recipients import RecipientKind
from adapters.memory.transport import InMemoryTransport, bubble_key
from adapters.memory.world import DEFAULT_OWNER, DEFAULT_START, ReactionRecord, World

__all__ = [
    "DEFAULT_OWNER",
    "DEFAULT_START",
    "DeliveryDelays",
    "InMemoryTransport",
    "MemoryProvider",
    "NoSleep",
    "ReactionRecord",
    "RecipientKind",
    "World",
    "bubble_key",
]
