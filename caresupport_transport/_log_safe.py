"""What the library's log lines may say about an error: never its text (private).

An error's message can quote what it was about: a provider's refusal may repeat
the phone number it refused, an invalid handle names the handle, and a handler's
exception may hold a message's words. Log lines about a failure therefore carry
:func:`error_summary` (the class and the fields the library set: field name,
status, code, trace id) and, for an error that is not a ``TransportError`` (a
bug to find), the stack frames it was raised through, without the message:
:func:`describe_failure` gives both.
"""

from __future__ import annotations

import traceback

from caresupport_transport.errors import (
    ProtocolError,
    ProviderError,
    TransportError,
    ValidationError,
    WebhookVerificationError,
)

__all__ = ["describe_failure", "error_summary"]


def error_summary(error: BaseException) -> str:
    """``ProviderError (status 400, code 1002, trace_id tr-1)``: facts, never the message."""
    facts: list[str] = []
    if isinstance(error, ValidationError):
        facts.append(f"field {error.field}")
    if isinstance(error, ProviderError | ProtocolError) and error.status is not None:
        facts.append(f"status {error.status}")
    if isinstance(error, ProviderError) and error.code is not None:
        facts.append(f"code {error.code}")
    if isinstance(error, ProviderError | ProtocolError) and error.trace_id:
        facts.append(f"trace_id {error.trace_id}")
    if isinstance(error, WebhookVerificationError):
        facts.append(f"reason {error.reason}")
    if isinstance(error, TransportError) and error.outcome_unknown:
        facts.append("outcome unknown")
    name = type(error).__name__
    return f"{name} ({', '.join(facts)})" if facts else name


def describe_failure(error: BaseException) -> str:
    """:func:`error_summary`; for an error that is not a ``TransportError`` (a bug to
    find), also the frames it was raised through (file, line, function, source line)."""
    summary = error_summary(error)
    if isinstance(error, TransportError) or error.__traceback__ is None:
        return summary
    frames = traceback.format_list(traceback.extract_tb(error.__traceback__))
    return f"{summary}, raised at:\n{''.join(frames).rstrip()}"
