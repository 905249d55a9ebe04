"""Every exception the library raises, in one place.

The hierarchy::

    TransportError
    ├── ValidationError (also ValueError)       bad input, raised before any I/O
    │   └── InvalidHandleError                   not an E.164 number nor an email address
    ├── ConfigurationError (also ValueError)     missing or malformed settings
    ├── UnsupportedError                         the service cannot do it and the policy says fail
    ├── ProviderError                            the provider answered "no" (status, code, trace id)
    │   ├── NotFoundError                        no such conversation, message or attachment
    │   ├── AlreadySentError                     a re-send under a key whose message is gone: done
    │   ├── ConflictError                        409: permanent, never retried
    │   ├── OptedOutError                        the person opted out (Linq 403 / 2024)
    │   ├── BlockedError                         the handle is on our own blocklist (403 / 2026)
    │   ├── EditRefusedError                     past the edit limits (count, time, service)
    │   └── RateLimitedError                     429 whose Retry-After exceeds the caller's budget
    ├── UnreachableError                         no answer came back (connection failed, dropped)
    │   └── TransportTimeoutError                no answer in time
    ├── ProtocolError                            an answer came back, not of the promised shape
    └── WebhookVerificationError                 an inbound delivery failed verification

"No answer came back" (``UnreachableError``) and "the service said no"
(``ProviderError``) are different classes on purpose. Either may follow a
request that took effect: a 5xx can come after the work was done, and an
adapter that retries raises what its *last* attempt got (a 429, say) although
an earlier attempt's answer was lost after the message was created. Such an
error has ``outcome_unknown`` set, and an error from a send carries the
``idempotency_key`` it was made under: after any failed send, retry under that
key, never a new one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caresupport_transport.handles import Handle

__all__ = [
    "AlreadySentError",
    "BlockedError",
    "ConfigurationError",
    "ConflictError",
    "EditRefusedError",
    "InvalidHandleError",
    "NotFoundError",
    "OptedOutError",
    "ProtocolError",
    "ProviderError",
    "RateLimitedError",
    "TransportError",
    "TransportTimeoutError",
    "UnreachableError",
    "UnsupportedError",
    "ValidationError",
    "WebhookVerificationError",
]


class TransportError(Exception):
    """Base class of every error raised by caresupport-transport.

    Attributes:
        idempotency_key: set on an error from a send: the key the send was made
            under (the caller's, or the one generated for it). Send again under
            it and no message is created twice.
        outcome_unknown: true when the request may have taken effect although
            this error was raised (an attempt got no answer, or a 5xx, before a
            later attempt failed): the message may have been sent.
    """

    idempotency_key: str | None = None
    outcome_unknown: bool = False


class ValidationError(TransportError, ValueError):
    """Bad input, detected before any I/O.

    Attributes:
        field: the name of the offending field (``"to"``, ``"parts[2].text"``).
        rule: the rule that was broken, in words.
    """

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class InvalidHandleError(ValidationError):
    """A handle that is neither an E.164 phone number nor an email address."""

    def __init__(self, value: object, rule: str, field: str = "handle") -> None:
        self.value = value
        super().__init__(field, f"{value!r} {rule}")


class ConfigurationError(TransportError, ValueError):
    """Missing or malformed configuration (the message names the setting)."""


class UnsupportedError(TransportError):
    """The chosen service cannot carry a feature and the policy says fail.

    Attributes:
        feature: the feature's name (a ``Feature`` value).
        service: the service's name, or ``None`` when no service qualifies.
    """

    def __init__(self, feature: str, service: str | None, detail: str) -> None:
        self.feature = feature
        self.service = service
        super().__init__(detail)


class ProviderError(TransportError):
    """The provider answered and refused the request.

    Attributes:
        status: the HTTP status (or the provider's equivalent).
        code: the provider's own error code, when it gave one.
        message: the provider's message.
        trace_id: the provider's trace id: quote it to support.
        more_info: where the provider documents ``code`` (Twilio's ``more_info`` URL).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        trace_id: str | None = None,
        more_info: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.trace_id = trace_id
        self.more_info = more_info
        super().__init__(self._describe())

    def _describe(self) -> str:
        bits = [self.message]
        if self.status is not None:
            bits.append(f"status={self.status}")
        if self.code is not None:
            bits.append(f"code={self.code}")
        if self.trace_id:
            bits.append(f"trace_id={self.trace_id}")
        return " ".join(bits[:1]) + (f" ({', '.join(bits[1:])})" if len(bits) > 1 else "")


class NotFoundError(ProviderError):
    """The conversation, message or attachment does not exist."""


class AlreadySentError(ProviderError):
    """A send under an idempotency key whose message was sent earlier and is gone since.

    The provider created that message before (an earlier attempt whose answer
    was lost, or a caller retrying), then deleted it, or its ephemeral window
    passed; it answers the re-send with 404 and sends nothing. The send was
    handled: treat it as done and do not send again under a new key (that would
    text the person twice). Not a :class:`NotFoundError`: the conversation exists.
    """


class ConflictError(ProviderError):
    """A permanent conflict (HTTP 409); retrying cannot help."""


class OptedOutError(ProviderError):
    """A direct send to someone who opted out (sent an opt-out keyword) was refused.

    Raised before any I/O when the transport already knows of the opt-out, else
    from the provider's refusal (Linq: 403, code 2024). Any later message from
    the person opts them back in. One final courtesy message may still go with
    ``override_optout=True``.

    Attributes:
        person: who opted out (mask it before logging: ``redact.mask_handle``).
    """

    def __init__(
        self,
        message: str,
        *,
        person: Handle,
        status: int | None = 403,
        code: int | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.person = person
        super().__init__(message, status=status, code=code, trace_id=trace_id)


class BlockedError(ProviderError):
    """A direct send to a handle on our own blocklist was refused.

    Raised before any I/O when the transport knows the handle is blocked, else
    from the provider's refusal (Linq: 403, code 2026). ``unblock`` it first.

    Attributes:
        handle: the blocked handle (mask it before logging).
    """

    def __init__(
        self,
        message: str,
        *,
        handle: Handle,
        status: int | None = 403,
        code: int | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.handle = handle
        super().__init__(message, status=status, code=code, trace_id=trace_id)


class EditRefusedError(ProviderError):
    """The provider refused to edit a message: past its limits, or on a service without edits.

    ``Transport.correct_message`` catches it and sends a correction text instead.

    Attributes:
        rule: the rule the edit broke, in words (``"at most 5 edits per message"``).
    """

    def __init__(
        self,
        rule: str,
        *,
        status: int | None = None,
        code: int | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.rule = rule
        super().__init__(rule, status=status, code=code, trace_id=trace_id)


class RateLimitedError(ProviderError):
    """Rate limited and the wait asked for exceeds the caller's budget.

    Attributes:
        retry_after: seconds the provider asked us to wait, when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None,
        status: int | None = 429,
        code: int | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, code=code, trace_id=trace_id)


class UnreachableError(TransportError):
    """No answer came back: the outcome of the request is unknown."""


class TransportTimeoutError(UnreachableError):
    """No answer came back in time."""


class ProtocolError(TransportError):
    """An answer came back that is not what the API promises (not JSON, wrong shape).

    Attributes:
        status: the HTTP status of the answer, when there was one.
        trace_id: the provider's trace id, when it could be read.
    """

    def __init__(
        self, message: str, *, status: int | None = None, trace_id: str | None = None
    ) -> None:
        self.status = status
        self.trace_id = trace_id
        super().__init__(message)


class WebhookVerificationError(TransportError):
    """An inbound delivery failed verification; ``reason`` says which check.

    Attributes:
        reason: one of ``"no secret configured"``, ``"missing header"``,
            ``"malformed"``, ``"stale"``, ``"signature mismatch"``.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
