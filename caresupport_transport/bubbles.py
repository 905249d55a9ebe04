"""Bubble sequencing: long replies go out as a few short bubbles, the way people text.

CareSupport's care-tested behaviour: a reply is cut at paragraph breaks (and long
paragraphs at sentence ends), then sent bubble by bubble with a typing indicator
and a short pause between them. Every bubble has its own idempotency key derived
from the caller's one, so running the helper again after a crash sends only the
bubbles that never went out.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable

import attrs

from caresupport_transport import limits
from caresupport_transport.capabilities import ServicePreference
from caresupport_transport.content import OutgoingMessage, TextPart
from caresupport_transport.errors import TransportError, ValidationError
from caresupport_transport.model import ActionResult, SendReceipt
from caresupport_transport.port import Transport

__all__ = [
    "MAX_BUBBLES",
    "MIN_TAIL_CHARS",
    "PAUSE_SECONDS",
    "SENTENCE_SPLIT_CHARS",
    "BubbleResult",
    "BubbleSendResult",
    "bubble_key",
    "send_bubbles",
    "split_bubbles",
]

MAX_BUBBLES = 5
"""More bubbles than this reads as spam; the last one takes all the rest."""
SENTENCE_SPLIT_CHARS = 450
"""A paragraph longer than this is split at sentence ends into bubbles of about this size."""
MIN_TAIL_CHARS = 40
"""A last sentence-split piece shorter than this merges back into the bubble before it."""
PAUSE_SECONDS = 1.2
"""The pause between bubbles, long enough for the typing indicator to be seen."""

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_KEY_SUFFIX = ":bubble:{index}"
# The longest suffix a key gets: with at most 5 bubbles, indexes are single digits.
_MAX_CALLER_KEY_LENGTH = limits.MAX_IDEMPOTENCY_KEY_LENGTH - len(_KEY_SUFFIX.format(index=0))

_Span = tuple[int, int]


def _trimmed(text: str, start: int, end: int) -> _Span | None:
    """The span without its surrounding whitespace, or ``None`` if only whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _paragraphs(text: str) -> list[_Span]:
    spans: list[_Span] = []
    start = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [t for s, e in spans if (t := _trimmed(text, s, e)) is not None]


def _sentence_chunks(text: str, paragraph: _Span) -> list[_Span]:
    """Pack a long paragraph's sentences into bubbles of up to ``SENTENCE_SPLIT_CHARS``."""
    start, end = paragraph
    sentences: list[_Span] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        sentences.append((cursor, match.start()))
        cursor = match.end()
    sentences.append((cursor, end))

    chunks: list[_Span] = []
    for sentence in sentences:
        if chunks and sentence[1] - chunks[-1][0] <= SENTENCE_SPLIT_CHARS:
            chunks[-1] = (chunks[-1][0], sentence[1])
        else:
            chunks.append(sentence)
    # A short last piece reads as an afterthought on its own: keep it with the one before.
    if len(chunks) > 1 and chunks[-1][1] - chunks[-1][0] < MIN_TAIL_CHARS:
        tail = chunks.pop()
        chunks[-1] = (chunks[-1][0], tail[1])
    return chunks


def split_bubbles(text: str) -> list[str]:
    """Split a reply into at most ``MAX_BUBBLES`` chat bubbles.

    Rules, in order: blank lines always split; a paragraph longer than
    ``SENTENCE_SPLIT_CHARS`` is split at sentence ends (``.``, ``!`` or ``?``
    followed by whitespace), sentences packed into bubbles of up to that size (a
    single longer sentence stays whole); a last piece of a split paragraph shorter
    than ``MIN_TAIL_CHARS`` merges back into the bubble before it; the fifth
    bubble takes all the rest. Bubbles are trimmed and never empty; each is a
    slice of ``text`` exactly as written: only whitespace at the splits is dropped.
    The same text always gives the same bubbles, which the derived keys rely on.

    Returns:
        The bubbles in order; an empty list for blank text.
    """
    spans: list[_Span] = []
    for paragraph in _paragraphs(text):
        if paragraph[1] - paragraph[0] > SENTENCE_SPLIT_CHARS:
            spans.extend(_sentence_chunks(text, paragraph))
        else:
            spans.append(paragraph)
    if len(spans) > MAX_BUBBLES:
        spans[MAX_BUBBLES - 1 :] = [(spans[MAX_BUBBLES - 1][0], spans[-1][1])]
    return [text[start:end] for start, end in spans]


def bubble_key(idempotency_key: str, index: int) -> str:
    """The idempotency key of bubble ``index`` (from 0) of a send made under ``idempotency_key``."""
    return f"{idempotency_key}{_KEY_SUFFIX.format(index=index)}"


@attrs.frozen
class BubbleResult:
    """What happened to one bubble.

    Exactly one of ``receipt`` (sent) and ``error`` (the send raised) is set.

    Attributes:
        index: the bubble's position, from 0.
        text: the bubble's text.
        idempotency_key: the key it was sent under.
        receipt: the send's receipt, when it was sent.
        error: the error the send raised, when it failed.
        typing: what the typing indicator before it did (``None`` for the first
            bubble and when the indicator itself failed).
        typing_error: the error the typing indicator raised; cosmetic, so the
            bubble was still sent.
    """

    index: int
    text: str
    idempotency_key: str
    receipt: SendReceipt | None = None
    error: TransportError | None = None
    typing: ActionResult | None = None
    typing_error: TransportError | None = None

    @property
    def sent(self) -> bool:
        return self.receipt is not None


@attrs.frozen
class BubbleSendResult:
    """What :func:`send_bubbles` did: every bubble planned, one result per bubble attempted.

    Attributes:
        bubbles: every bubble the text was split into, in order.
        results: one result per bubble attempted, in order; it stops at the
            first failure, so bubbles after it have no result.
    """

    bubbles: tuple[str, ...]
    results: tuple[BubbleResult, ...]

    @property
    def completed(self) -> bool:
        """Whether every bubble was sent."""
        return len(self.results) == len(self.bubbles) and all(r.sent for r in self.results)

    @property
    def receipts(self) -> tuple[SendReceipt, ...]:
        """The receipts of the bubbles sent, in order."""
        return tuple(r.receipt for r in self.results if r.receipt is not None)

    @property
    def failure(self) -> BubbleResult | None:
        """The bubble whose send failed, if one did."""
        return next((r for r in self.results if r.error is not None), None)

    @property
    def unsent(self) -> tuple[str, ...]:
        """The bubbles not sent: the failed one and every one after it."""
        return self.bubbles[len(self.receipts) :]


def _check_inputs(
    conversation_id: str, text: str, idempotency_key: str, pause_seconds: float
) -> tuple[str, ...]:
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise ValidationError("conversation_id", "must not be empty")
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("text", "must not be empty")
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        raise ValidationError("idempotency_key", "must not be empty")
    if len(idempotency_key) > _MAX_CALLER_KEY_LENGTH:
        raise ValidationError(
            "idempotency_key",
            f"has {len(idempotency_key)} characters; at most {_MAX_CALLER_KEY_LENGTH} so that "
            f"each bubble's derived key stays within {limits.MAX_IDEMPOTENCY_KEY_LENGTH}",
        )
    if not pause_seconds >= 0:
        raise ValidationError("pause_seconds", f"{pause_seconds!r} must be zero or more seconds")
    bubbles = tuple(split_bubbles(text))
    for index, bubble in enumerate(bubbles):
        if len(bubble) > limits.MAX_TEXT_CHARS:
            raise ValidationError(
                "text",
                f"bubble {index + 1} of {len(bubbles)} has {len(bubble)} characters; "
                f"at most {limits.MAX_TEXT_CHARS}",
            )
    return bubbles


async def send_bubbles(
    transport: Transport,
    conversation_id: str,
    text: str,
    *,
    idempotency_key: str,
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
    pause_seconds: float = PAUSE_SECONDS,
    preference: ServicePreference = ServicePreference.AUTO,
) -> BubbleSendResult:
    """Send ``text`` as bubbles, in order, with typing and a pause between them.

    Bubble ``i`` is sent under ``bubble_key(idempotency_key, i)``, so calling
    again with the same text and key after a crash or a failure re-sends nothing
    that already went out (the transport de-duplicates) and carries on where it
    stopped. Before every bubble but the first, a typing indicator is started
    (best effort: its failure is recorded, not fatal) and ``pause`` is awaited;
    when that bubble's send then fails, the indicator is stopped again.

    Args:
        transport: any adapter of the port.
        conversation_id: the conversation to send into.
        text: the reply; see :func:`split_bubbles`.
        idempotency_key: the caller's key for the whole reply.
        pause: awaited between bubbles; inject one so tests do not sleep.
        pause_seconds: how long each pause is.
        preference: the service preference for every bubble.

    Returns:
        Every bubble and one result per bubble attempted; it stops at the first
        bubble whose send raised a :class:`TransportError`.

    Raises:
        ValidationError: bad input, before any I/O.
    """
    bubbles = _check_inputs(conversation_id, text, idempotency_key, pause_seconds)
    messages = [OutgoingMessage((TextPart(bubble),)) for bubble in bubbles]
    results: list[BubbleResult] = []
    for index, (bubble, message) in enumerate(zip(bubbles, messages, strict=True)):
        key = bubble_key(idempotency_key, index)
        typing: ActionResult | None = None
        typing_error: TransportError | None = None
        if index:
            try:
                typing = await transport.start_typing(conversation_id)
            except TransportError as exc:
                typing_error = exc
            await pause(pause_seconds)
        try:
            receipt = await transport.send_message(
                conversation_id, message, preference=preference, idempotency_key=key
            )
        except TransportError as exc:
            results.append(BubbleResult(index, bubble, key, None, exc, typing, typing_error))
            if typing is not None and typing.performed:
                # A send clears the indicator; a failed one does not, so clear it here
                # rather than leave "typing..." on screen for the next 90 seconds.
                with contextlib.suppress(TransportError):
                    await transport.stop_typing(conversation_id)
            break
        results.append(BubbleResult(index, bubble, key, receipt, None, typing, typing_error))
    return BubbleSendResult(bubbles, tuple(results))
