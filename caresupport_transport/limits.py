"""The rules outgoing content must keep, as named numbers (checked before any I/O)."""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "EDIT_WINDOW",
    "MAX_EDITS_PER_MESSAGE",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_LINK_CHARS",
    "MAX_MEDIA_URL_BYTES",
    "MAX_PARTS",
    "MAX_RECIPIENTS",
    "MAX_TEXT_CHARS",
    "MAX_UPLOAD_BYTES",
    "MAX_URL_MEDIA_PARTS",
    "MAX_VOICE_MEMO_BYTES",
    "UNSUPPORTED_CONTENT_TYPES",
    "VOICE_MEMO_CONTENT_TYPES",
]

MB = 1024 * 1024

MAX_RECIPIENTS = 31
"""A conversation is started with 1 to 31 other participants."""

MAX_PARTS = 100
MAX_URL_MEDIA_PARTS = 40
MAX_TEXT_CHARS = 10_000
"""The most characters one text part may hold before any service-specific split."""

MAX_MEDIA_URL_BYTES = 10 * MB
MAX_UPLOAD_BYTES = 100 * MB
MAX_VOICE_MEMO_BYTES = 10 * MB
MAX_IDEMPOTENCY_KEY_LENGTH = 255

UNSUPPORTED_CONTENT_TYPES = frozenset(
    {
        "image/webp",
        "image/svg+xml",
        "audio/flac",
        "audio/x-flac",
        "audio/ogg",
        "video/ogg",
        "application/ogg",
        "audio/opus",
    }
)
"""Content types the carriers reject: WebP, SVG, FLAC and OGG."""

VOICE_MEMO_CONTENT_TYPES = frozenset(
    {
        "audio/mpeg",
        "audio/mp3",
        "audio/mp4",
        "audio/m4a",
        "audio/x-m4a",
        "audio/aac",
        "audio/x-caf",
        "audio/wav",
        "audio/x-wav",
        "audio/wave",
        "audio/aiff",
        "audio/x-aiff",
        "audio/amr",
    }
)
"""MP3, M4A, AAC, CAF, WAV, AIFF and AMR."""

MAX_EDITS_PER_MESSAGE = 5
"""A sent iMessage may be edited at most this many times..."""
EDIT_WINDOW = timedelta(minutes=15)
"""...and only this long after it was sent."""

MAX_LINK_CHARS = 2_048
"""The longest URL a link part (rich preview) may carry."""
