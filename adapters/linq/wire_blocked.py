"""What Linq answers about the blocklist (``/v3/blocked_handles``), as attrs values.

Same rules as :mod:`adapters.linq.wire_chats`: unknown keys are ignored, what a
caller acts on is required, descriptive fields default to ``None``.
"""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["BlockedHandle", "BlockedHandleList", "BlockedHandleResult"]


@attrs.frozen
class BlockedHandle:
    """A handle on the partner's own blocklist; ``handle`` comes back normalized."""

    handle: str
    blocked_at: datetime
    reason: str | None = None


@attrs.frozen
class BlockedHandleList:
    """The envelope of ``GET /v3/blocked_handles`` (newest first)."""

    blocked_handles: tuple[BlockedHandle, ...]


@attrs.frozen
class BlockedHandleResult:
    """The envelope of ``POST /v3/blocked_handles``."""

    blocked_handle: BlockedHandle
