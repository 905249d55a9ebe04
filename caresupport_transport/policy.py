"""The fallback policy: which service carries a message and how it degrades. Pure; no I/O.

Every adapter uses these functions, so a message to an SMS-only recipient is
changed the same way by the in-memory fake as in production, and every change
is reported as a :class:`~caresupport_transport.model.Degradation`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import attrs

from caresupport_transport.capabilities import (
    FALLBACK_ORDER,
    Availability,
    Feature,
    HandleCapabilities,
    Service,
    ServicePreference,
    capabilities_of,
)
from caresupport_transport.content import (
    LinkPart,
    MediaPart,
    OutgoingMessage,
    Part,
    Reaction,
    ReactionKind,
    TextPart,
    VoiceMemo,
)
from caresupport_transport.errors import UnsupportedError
from caresupport_transport.model import Degradation, DegradationAction

__all__ = [
    "FallbackPolicy",
    "LongTextFallback",
    "MessagePlan",
    "OnUnsupported",
    "ReactionPlan",
    "TapbackFallback",
    "VoiceMemoFallback",
    "choose_service",
    "next_service",
    "plan_action",
    "plan_message",
    "plan_poll",
    "plan_reaction",
    "plan_voice_memo",
    "split_text",
    "tapback_text",
]


class OnUnsupported(enum.Enum):
    """An effect or reply thread the service cannot carry: drop it (reported) or fail."""

    DROP = "drop"
    FAIL = "fail"


class TapbackFallback(enum.Enum):
    """A tapback where there are none: send it as text, skip it (reported) or fail."""

    TEXT = "text"
    SKIP = "skip"
    FAIL = "fail"


class VoiceMemoFallback(enum.Enum):
    """A voice memo where there are none: send it as a media attachment or fail."""

    MEDIA = "media"
    FAIL = "fail"


class LongTextFallback(enum.Enum):
    """Text longer than the service carries: split it into several messages or fail."""

    SPLIT = "split"
    FAIL = "fail"


@attrs.frozen
class FallbackPolicy:
    """What to do, per feature, when the chosen service cannot carry it.

    Typing indicators, read receipts and contact cards are always skipped (and
    reported) where unsupported: they carry no content. ``resend_on_failure``
    re-sends on the next service a message whose send came back failed; a
    failure reported later is re-sent by the outbox's
    ``Watch(resend_on_failure=True)`` rule (``docs/outbox.md``).
    """

    effects: OnUnsupported = OnUnsupported.DROP
    reply_threads: OnUnsupported = OnUnsupported.DROP
    tapbacks: TapbackFallback = TapbackFallback.TEXT
    voice_memos: VoiceMemoFallback = VoiceMemoFallback.MEDIA
    long_text: LongTextFallback = LongTextFallback.SPLIT
    resend_on_failure: bool = False


def _usable(caps: HandleCapabilities, service: Service) -> bool:
    return caps.availability(service) is not Availability.UNAVAILABLE


def choose_service(
    recipients: Sequence[HandleCapabilities], preference: ServicePreference
) -> Service:
    """The service to use for everyone in ``recipients``.

    ``AUTO`` takes the first service in iMessage -> RCS -> SMS order that no
    recipient is known to lack (``UNKNOWN`` counts as usable: the provider falls
    back by itself). A pinned preference never falls back.

    Raises:
        UnsupportedError: a pinned service some recipient is known to lack, or no
            service every recipient can use.
    """
    pinned = preference.service
    if pinned is not None:
        lacking = [str(c.handle) for c in recipients if not _usable(c, pinned)]
        if lacking:
            raise UnsupportedError(
                Feature.SERVICE.value,
                pinned.value,
                f"{pinned.label} was pinned but {', '.join(lacking)} cannot use it",
            )
        return pinned
    for service in FALLBACK_ORDER:
        if all(_usable(c, service) for c in recipients):
            return service
    raise UnsupportedError(
        Feature.SERVICE.value,
        None,
        "no service reaches every recipient: " + ", ".join(str(c.handle) for c in recipients),
    )


def next_service(service: Service) -> Service | None:
    """The service after ``service`` in fallback order, or ``None`` after SMS."""
    index = FALLBACK_ORDER.index(service)
    return FALLBACK_ORDER[index + 1] if index + 1 < len(FALLBACK_ORDER) else None


@attrs.frozen
class MessagePlan:
    """The messages to send, in order, and every change made to get there."""

    service: Service
    messages: tuple[OutgoingMessage, ...]
    degradations: tuple[Degradation, ...]


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, on whitespace if possible.

    Words are never reordered or lost; a word longer than ``limit`` is cut.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        # Any whitespace is a split point (tabs too), so no word shorter than the limit is cut.
        cut = next((i for i in range(limit, -1, -1) if rest[i].isspace()), -1)
        if cut == 0:
            # Whitespace where a piece would start carries nothing; cutting there could
            # split the word after it.
            rest = rest[1:]
        elif cut < 0:
            pieces.append(rest[:limit])
            rest = rest[limit:]
        else:
            pieces.append(rest[:cut])
            rest = rest[cut + 1 :]
    pieces.append(rest)
    return [p for p in pieces if p.strip()] or [text[:limit]]


def _fail_or_drop(
    rule: OnUnsupported, feature: Feature, service: Service, reason: str
) -> Degradation:
    if rule is OnUnsupported.FAIL:
        raise UnsupportedError(feature.value, service.value, f"{feature.value}: {reason}")
    return Degradation(feature, DegradationAction.DROPPED, reason)


def plan_message(
    message: OutgoingMessage,
    service: Service,
    policy: FallbackPolicy = FallbackPolicy(),
) -> MessagePlan:
    """Degrade ``message`` to what ``service`` can carry.

    Raises:
        UnsupportedError: a feature the service lacks whose rule is ``FAIL``.
    """
    caps = capabilities_of(service)
    degradations: list[Degradation] = []
    effect, reply_to = message.effect, message.reply_to
    if effect is not None and not caps.effects:
        degradations.append(
            _fail_or_drop(
                policy.effects, Feature.EFFECT, service, f"{service.label} has no effects"
            )
        )
        effect = None
    if reply_to is not None and not caps.reply_threads:
        degradations.append(
            _fail_or_drop(
                policy.reply_threads,
                Feature.REPLY_THREAD,
                service,
                f"{service.label} has no reply threads",
            )
        )
        reply_to = None

    parts = _plain_where_needed(message.parts, service, degradations)

    # Long text: every over-long text part becomes several bubbles, each its own message.
    groups: list[list[Part]] = [[]]
    for part in parts:
        if isinstance(part, TextPart) and len(part.text) > caps.max_text_chars:
            if policy.long_text is LongTextFallback.FAIL:
                raise UnsupportedError(
                    Feature.LONG_TEXT.value,
                    service.value,
                    f"text of {len(part.text)} characters is over {service.label}'s "
                    f"{caps.max_text_chars}",
                )
            pieces = split_text(part.text, caps.max_text_chars)
            degradations.append(
                Degradation(
                    Feature.LONG_TEXT,
                    DegradationAction.SPLIT,
                    f"{len(part.text)} characters split into {len(pieces)} bubbles "
                    f"of at most {caps.max_text_chars} for {service.label}",
                )
            )
            for piece in pieces:
                if groups[-1]:
                    groups.append([])
                groups[-1].append(TextPart(piece))
                groups.append([])
        else:
            groups[-1].append(part)
    bodies = [tuple(g) for g in groups if g]
    messages = tuple(
        OutgoingMessage(
            body,
            effect=effect if index == 0 else None,
            reply_to=reply_to if index == 0 else None,
        )
        for index, body in enumerate(bodies)
    )
    return MessagePlan(service, messages, tuple(degradations))


def _plain_where_needed(
    parts: tuple[Part, ...], service: Service, degradations: list[Degradation]
) -> tuple[Part, ...]:
    """Mentions, decorations and link previews the service lacks become plain text (reported).

    The words stay: a mention's text (``@Sue``) is sent without its mention, a
    decorated text without its styles, a link part as its URL in a text part.
    """
    caps = capabilities_of(service)
    changes: dict[Feature, Degradation] = {}
    plain: list[Part] = []
    for part in parts:
        if isinstance(part, LinkPart) and not caps.link_previews:
            changes[Feature.LINK_PREVIEW] = Degradation(
                Feature.LINK_PREVIEW,
                DegradationAction.CONVERTED,
                f"sent as its URL in text: {service.label} has no link previews",
            )
            plain.append(TextPart(part.url))
            continue
        if isinstance(part, TextPart):
            mentions = part.mentions if caps.mentions else ()
            decorations = part.decorations if caps.text_decorations else ()
            if part.mentions and not mentions:
                changes[Feature.MENTION] = Degradation(
                    Feature.MENTION,
                    DegradationAction.CONVERTED,
                    f"sent as plain text: {service.label} has no mentions",
                )
            if part.decorations and not decorations:
                changes[Feature.TEXT_DECORATION] = Degradation(
                    Feature.TEXT_DECORATION,
                    DegradationAction.DROPPED,
                    f"{service.label} has no text styles or animations",
                )
            if (mentions, decorations) != (part.mentions, part.decorations):
                part = TextPart(part.text, mentions=mentions, decorations=decorations)
        plain.append(part)
    degradations.extend(changes.values())
    return tuple(plain)


_TAPBACK_VERBS = {
    ReactionKind.LOVE: "Loved",
    ReactionKind.LIKE: "Liked",
    ReactionKind.DISLIKE: "Disliked",
    ReactionKind.LAUGH: "Laughed at",
    ReactionKind.EMPHASIZE: "Emphasized",
    ReactionKind.QUESTION: "Questioned",
}
_QUOTE_CHARS = 60


@attrs.frozen
class ReactionPlan:
    """Send the reaction as is, as ``text`` instead, or not at all."""

    reaction: Reaction | None
    text: str | None
    degradations: tuple[Degradation, ...]


def tapback_text(reaction: Reaction, quoted: str) -> str:
    """``Loved "See you at 3"``, the way phones show a tapback to SMS users."""
    snippet = " ".join(quoted.split())
    if len(snippet) > _QUOTE_CHARS:
        snippet = snippet[: _QUOTE_CHARS - 1].rstrip() + "…"
    verb = _TAPBACK_VERBS.get(reaction.kind) or f"Reacted {reaction.emoji} to"
    return f'{verb} "{snippet}"' if snippet else verb.removesuffix(" to").removesuffix(" at")


def plan_reaction(
    reaction: Reaction,
    service: Service,
    quoted: str,
    policy: FallbackPolicy = FallbackPolicy(),
    *,
    removing: bool = False,
) -> ReactionPlan:
    """How to carry a tapback on ``service``; ``quoted`` is the reacted-to text.

    Removing a reaction on a service without tapbacks is skipped (there is
    nothing to take back in plain text).
    """
    reaction.check_sendable()
    if capabilities_of(service).tapbacks:
        return ReactionPlan(reaction, None, ())
    reason = f"{service.label} has no tapbacks"
    if removing or policy.tapbacks is TapbackFallback.SKIP:
        return ReactionPlan(
            None, None, (Degradation(Feature.TAPBACK, DegradationAction.SKIPPED, reason),)
        )
    if policy.tapbacks is TapbackFallback.FAIL:
        raise UnsupportedError(Feature.TAPBACK.value, service.value, f"tapback: {reason}")
    text = tapback_text(reaction, quoted)
    return ReactionPlan(
        None,
        text,
        (Degradation(Feature.TAPBACK, DegradationAction.CONVERTED, f"sent as text: {reason}"),),
    )


def plan_voice_memo(
    memo: VoiceMemo,
    service: Service,
    policy: FallbackPolicy = FallbackPolicy(),
) -> tuple[MediaPart | None, tuple[Degradation, ...]]:
    """``(None, ())`` to send a real voice memo, or ``(media, degradations)`` to send media."""
    if capabilities_of(service).voice_memos:
        return None, ()
    reason = f"{service.label} has no voice memos"
    if policy.voice_memos is VoiceMemoFallback.FAIL:
        raise UnsupportedError(Feature.VOICE_MEMO.value, service.value, f"voice memo: {reason}")
    return memo.audio, (
        Degradation(
            Feature.VOICE_MEMO,
            DegradationAction.CONVERTED,
            f"sent as a media attachment: {reason}",
        ),
    )


def plan_action(
    feature: Feature, service: Service | None, *, is_group: bool = False
) -> Degradation | None:
    """``None`` if ``service`` supports the contentless ``feature``, else the skip to report.

    For typing indicators, read receipts and contact cards. An unknown service
    (``None``) is treated as iMessage: the provider decides.
    """
    if service is None:
        service = Service.IMESSAGE
    if capabilities_of(service).supports(feature, is_group=is_group):
        return None
    if is_group and feature is Feature.TYPING and capabilities_of(service).typing_indicators:
        reason = f"{service.label} group chats have no {feature.value}s"
    else:
        reason = f"{service.label} has no {feature.value}s"
    return Degradation(feature, DegradationAction.SKIPPED, reason)


def plan_poll(service: Service, provider_has_polls: bool = True) -> Degradation | None:
    """``None`` to send a native poll on ``service``, else the conversion to report.

    Where there are no native polls (RCS, SMS, or a provider without them) a
    poll is always asked as one numbered text question: it carries the same
    content, so there is nothing to fail for.
    """
    if not capabilities_of(service).polls:
        reason = f"asked as numbered text: {service.label} has no polls"
    elif not provider_has_polls:
        reason = "asked as numbered text: the provider has no polls"
    else:
        return None
    return Degradation(Feature.POLL, DegradationAction.CONVERTED, reason)
