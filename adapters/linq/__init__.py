"""The Linq Partner API V3 adapter: ``LinqClient``, ``LinqTransport`` and their configuration.

``LinqTransport`` and ``PollReport`` are loaded on first use: the transport
brings inbound dispatch, polling and the webhook receiver, which a program that
only calls ``LinqClient`` need not import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.linq import codes
from adapters.linq._retry import Replay
from adapters.linq._validate import new_idempotency_key
from adapters.linq.client import LinqClient
from adapters.linq.config import DEFAULT_BASE_URL, LinqConfig, Secret
from caresupport_transport.lazy_exports import lazy_exports

if TYPE_CHECKING:
    # Type checkers see plain imports (and no module __getattr__, so a misspelt
    # name is still an error); at run time __getattr__ below loads them.
    from adapters.linq._polling import PollReport
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

_LOADED_ON_FIRST_USE = {
    "LinqTransport": "adapters.linq.transport",
    "PollReport": "adapters.linq._polling",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _LOADED_ON_FIRST_USE, __all__)
