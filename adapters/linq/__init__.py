"""The Linq Partner API V3 adapter: ``LinqClient``, ``LinqTransport`` and their configuration.

``LinqTransport``, ``LinqProvider`` and ``PollReport`` are imported on first use. The transport
brings inbound dispatch (SQLite), polling and the webhook receiver: 30-40 ms more
at ``import adapters.linq`` as measured, which a program that only calls
``LinqClient`` never needs (docs/benchmarks.md, "Import"). This is the library's
one lazy import; everything else, the domain package included, is imported plainly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from adapters.linq import codes
from adapters.linq._retry import Replay
from adapters.linq.client import LinqClient
from adapters.linq.config import DEFAULT_BASE_URL, LinqConfig, Secret
from caresupport_transport.sending import new_idempotency_key

if TYPE_CHECKING:
    # Type checkers see plain imports (and no module __getattr__, so a misspelt
    # name is still an error); at run time __getattr__ below imports them.
    from adapters.linq._polling import PollReport
    from adapters.linq.provider import LinqProvider
    from adapters.linq.transport import LinqTransport

__all__ = [
    "DEFAULT_BASE_URL",
    "LinqClient",
    "LinqConfig",
    "LinqProvider",
    "LinqTransport",
    "PollReport",
    "Replay",
    "Secret",
    "codes",
    "new_idempotency_key",
]

_IMPORTED_ON_FIRST_USE = {
    "LinqProvider": "adapters.linq.provider",
    "LinqTransport": "adapters.linq.transport",
    "PollReport": "adapters.linq._polling",
}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module = _IMPORTED_ON_FIRST_USE.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
