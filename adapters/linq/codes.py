"""Linq's error codes, by name: compare ``ProviderError.code`` with these, never with numbers.

The numbers were read from Linq's error responses and SDKs (``linq-notes.md``);
an unknown code is still carried on the error, only without a name here.
"""

from __future__ import annotations

__all__ = [
    "CHAT_SERVICE_NOT_SUPPORTED",
    "FORBIDDEN",
    "GROUP_CHAT_NOT_SUPPORTED",
    "HANDLE_ON_BLOCKLIST",
    "INTERNAL",
    "INVALID_E164",
    "NOT_FOUND",
    "PAYLOAD_TOO_LARGE",
    "RATE_LIMITED",
    "RECIPIENT_OPTED_OUT",
    "SENDER_NOT_ELIGIBLE",
    "UNAUTHORIZED",
    "UNPROCESSABLE",
    "UPSTREAM_UNAVAILABLE",
    "URL_IN_FIRST_MESSAGE",
]

INVALID_E164 = 1002
UNPROCESSABLE = 1003
URL_IN_FIRST_MESSAGE = 1005
"""The first message of a new chat may not contain a URL."""
NOT_FOUND = 2001
UNAUTHORIZED = 2004
FORBIDDEN = 2005
GROUP_CHAT_NOT_SUPPORTED = 2016
"""Location sharing is for 1:1 chats only."""
CHAT_SERVICE_NOT_SUPPORTED = 2017
"""Location sharing is for iMessage chats only (not SMS or RCS)."""
RECIPIENT_OPTED_OUT = 2024
"""The recipient sent an opt-out keyword (403); ``override_optout`` lets one send through."""
HANDLE_ON_BLOCKLIST = 2026
"""The handle is on your own blocklist (``/v3/blocked_handles``; 403 on direct sends)."""
SENDER_NOT_ELIGIBLE = 2027
"""The sender line may not be used for this send."""
INTERNAL = 3006
RATE_LIMITED = 4001
UPSTREAM_UNAVAILABLE = (4004, 4009, 4010)
"""Apple's or the carrier's side did not answer: a capability is *unknown*, not absent."""
PAYLOAD_TOO_LARGE = 5001
