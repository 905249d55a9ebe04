"""The Linq Partner API V3 adapter: ``LinqClient`` (every operation) and its configuration."""

from adapters.linq import codes
from adapters.linq._retry import Replay
from adapters.linq._validate import new_idempotency_key
from adapters.linq.client import LinqClient
from adapters.linq.config import DEFAULT_BASE_URL, LinqConfig, Secret

__all__ = [
    "DEFAULT_BASE_URL",
    "LinqClient",
    "LinqConfig",
    "Replay",
    "Secret",
    "codes",
    "new_idempotency_key",
]
