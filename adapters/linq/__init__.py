"""The Linq Partner API V3 adapter: ``LinqClient``, ``LinqTransport`` and their configuration."""

from adapters.linq import codes
from adapters.linq._polling import PollReport
from adapters.linq._retry import Replay
from adapters.linq._validate import new_idempotency_key
from adapters.linq.client import LinqClient
from adapters.linq.config import DEFAULT_BASE_URL, LinqConfig, Secret
from adapters.linq.transport import LinqTransport

__all__ = [
    "DEFAULT_BASE_URL",
    "LinqClient",
    "LinqConfig",
    "LinqTransport",
    "PollReport",
    "Replay",
    "Secret",
    "codes",
    "new_idempotency_key",
]
