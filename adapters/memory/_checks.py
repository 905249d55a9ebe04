"""Input checks of the in-memory adapter (private): the shared ones, run before any state changes.

They live in :mod:`caresupport_transport.checks` so every adapter refuses the
same input with the same error.
"""

from __future__ import annotations

from caresupport_transport.checks import (
    MAX_PAGE_SIZE,
    attachment_ids,
    check_first_message,
    check_handle,
    check_idempotency_key,
    check_message,
    check_page_size,
    check_part_index,
    check_participants,
    check_preference,
    check_reaction,
    check_upload,
    check_voice_memo,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "attachment_ids",
    "check_first_message",
    "check_handle",
    "check_idempotency_key",
    "check_message",
    "check_page_size",
    "check_part_index",
    "check_participants",
    "check_preference",
    "check_reaction",
    "check_upload",
    "check_voice_memo",
]
