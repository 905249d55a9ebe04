"""What a message carries: parts, effects, replies, reactions and voice memos.

Every type validates itself at construction and raises
:class:`~caresupport_transport.errors.ValidationError` naming the field and the
rule, so bad content is refused before any adapter does I/O.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from typing import ClassVar

import attrs

from caresupport_transport import limits
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle

__all__ = [
    "BUBBLE_EFFECTS",
    "SCREEN_EFFECTS",
    "Effect",
    "EffectKind",
    "LinkPart",
    "MediaPart",
    "Mention",
    "OutgoingMessage",
    "Part",
    "Reaction",
    "ReactionKind",
    "ReplyTo",
    "TextAnimation",
    "TextDecoration",
    "TextPart",
    "TextRange",
    "TextStyle",
    "VoiceMemo",
    "check_content_type",
    "check_unicode",
    "is_single_emoji",
    "is_valid_unicode",
    "utf16_length",
]

SCREEN_EFFECTS = frozenset(
    {
        "confetti",
        "fireworks",
        "lasers",
        "sparkles",
        "celebration",
        "hearts",
        "love",
        "balloons",
        "happy_birthday",
        "echo",
        "spotlight",
    }
)
BUBBLE_EFFECTS = frozenset({"slam", "loud", "gentle", "invisible"})

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ZWJ = "\u200d"
_KEYCAP = "\u20e3"
_VARIATION_SELECTORS = frozenset("\ufe0e\ufe0f")
_KEYCAP_BASES = frozenset("0123456789#*")


def is_valid_unicode(value: str) -> bool:
    """Whether ``value`` holds no lone surrogate (which no provider can encode)."""
    return _LONE_SURROGATE.search(value) is None


def check_unicode(field: str, value: str) -> str:
    """Raise ValidationError naming ``field`` if ``value`` holds a lone surrogate."""
    found = _LONE_SURROGATE.search(value)
    if found is not None:
        raise ValidationError(
            field,
            f"holds a lone surrogate (U+{ord(found.group()):04X}) at index {found.start()}; "
            "it is not valid Unicode",
        )
    return value


def _is_modifier(char: str) -> bool:
    """Skin tones, variation selectors, the keycap mark and tag characters."""
    code = ord(char)
    return (
        char in _VARIATION_SELECTORS
        or char == _KEYCAP
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _is_pictograph(char: str) -> bool:
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2300 <= code <= 0x23FF
        or 0x2B00 <= code <= 0x2BFF
        or 0x2190 <= code <= 0x21FF
        or code == 0x3030
        or code == 0x303D
        or code == 0x3297
        or code == 0x3299
        or char in "\u00a9\u00ae\u203c\u2049\u2122\u2139\u24c2"
        or unicodedata.category(char) == "So"
    )


def is_single_emoji(value: str) -> bool:
    """Whether ``value`` is exactly one emoji as people see it.

    One pictograph with its modifiers (skin tone, variation selector), several
    joined by zero-width joiners (a family), a flag (two regional indicators or a
    tag sequence) or a keycap (``1️⃣``).
    """
    if not value or not is_valid_unicode(value):
        return False
    if len(value) == 2 and all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in value):
        return True  # a flag: two regional indicators
    for index, element in enumerate(value.split(_ZWJ)):
        if not element or (index and not _is_pictograph(element[0])):
            return False
        base, rest = element[0], element[1:]
        if base in _KEYCAP_BASES and index == 0:
            if rest not in (_KEYCAP, "\ufe0f" + _KEYCAP):
                return False
            continue
        if not _is_pictograph(base) or 0x1F1E6 <= ord(base) <= 0x1F1FF:
            return False
        if not all(_is_modifier(c) for c in rest):
            return False
    return True


class EffectKind(enum.Enum):
    """Where an iMessage effect plays: the whole screen or the message bubble."""

    SCREEN = "screen"
    BUBBLE = "bubble"


def check_content_type(field: str, content_type: str | None) -> None:
    """Raise ValidationError if ``content_type`` is one the carriers reject."""
    if content_type is None:
        return
    base = content_type.split(";", 1)[0].strip().lower()
    if not base or "/" not in base:
        raise ValidationError(field, f"{content_type!r} is not a MIME type like 'image/png'")
    if base in limits.UNSUPPORTED_CONTENT_TYPES:
        raise ValidationError(
            field, f"{base} is not supported (WebP, SVG, FLAC and OGG are rejected by carriers)"
        )


@attrs.frozen
class Effect:
    """An iMessage screen or bubble effect; an unknown name is a ValidationError."""

    kind: EffectKind
    name: str

    def __attrs_post_init__(self) -> None:
        names = SCREEN_EFFECTS if self.kind is EffectKind.SCREEN else BUBBLE_EFFECTS
        if self.name not in names:
            raise ValidationError(
                "effect.name",
                f"{self.name!r} is not a {self.kind.value} effect; "
                f"expected one of {', '.join(sorted(names))}",
            )

    @classmethod
    def screen(cls, name: str) -> Effect:
        return cls(EffectKind.SCREEN, name)

    @classmethod
    def bubble(cls, name: str) -> Effect:
        return cls(EffectKind.BUBBLE, name)


class ReactionKind(enum.Enum):
    """Tapbacks. ``STICKER`` can only be received, never sent."""

    LOVE = "love"
    LIKE = "like"
    DISLIKE = "dislike"
    LAUGH = "laugh"
    EMPHASIZE = "emphasize"
    QUESTION = "question"
    CUSTOM = "custom"
    STICKER = "sticker"


@attrs.frozen
class Reaction:
    """A tapback; ``CUSTOM`` needs an emoji, the others take none."""

    kind: ReactionKind
    emoji: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind is ReactionKind.CUSTOM:
            if not self.emoji or not self.emoji.strip():
                raise ValidationError("reaction.emoji", "a custom reaction needs an emoji")
        elif self.emoji is not None:
            raise ValidationError(
                "reaction.emoji", f"only a custom reaction takes an emoji, not {self.kind.value}"
            )

    def check_sendable(self) -> None:
        """Raise ValidationError for reactions that can be received but not sent.

        A sticker cannot be sent; a custom reaction's emoji must be exactly one
        emoji (what was received may be anything the sender's phone allowed).
        """
        if self.kind is ReactionKind.STICKER:
            raise ValidationError("reaction.kind", "sticker reactions cannot be sent")
        if self.emoji is not None and not is_single_emoji(self.emoji):
            raise ValidationError(
                "reaction.emoji", f"{self.emoji!r} is not exactly one emoji (like '👍' or '❤️')"
            )


# -- text marks: ranges, mentions, decorations (ranges in UTF-16 code units) --------


def utf16_length(text: str) -> int:
    """How many UTF-16 code units ``text`` takes: 1 per character, 2 beyond U+FFFF (most emoji)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


@attrs.frozen
class TextRange:
    """``[start, end)`` of a text in **UTF-16 code units**, as Linq counts (not ``str`` indices).

    Build one from Python indices or a substring with :meth:`span` or :meth:`of`,
    so care logic never counts code units by hand.
    """

    start: int
    end: int

    def __attrs_post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"range.{name}", "must be an integer")
        if not 0 <= self.start < self.end:
            raise ValidationError(
                "range", f"[{self.start}, {self.end}) is not a range: need 0 <= start < end"
            )

    @classmethod
    def span(cls, text: str, start: int, end: int) -> TextRange:
        """The range of ``text[start:end]`` (Python indices) in UTF-16 code units."""
        if not 0 <= start < end <= len(text):
            raise ValidationError(
                "range",
                f"[{start}, {end}) is not a non-empty slice of a {len(text)}-character text",
            )
        offset = utf16_length(text[:start])
        return cls(offset, offset + utf16_length(text[start:end]))

    @classmethod
    def of(cls, text: str, substring: str, *, occurrence: int = 0) -> TextRange:
        """The range of the ``occurrence``-th (from 0) ``substring`` in ``text``."""
        index = -1
        for _ in range(occurrence + 1):
            index = text.find(substring, index + 1) if substring else -1
            if index < 0:
                raise ValidationError(
                    "range", f"{substring!r} does not occur {occurrence + 1} time(s) in the text"
                )
        return cls.span(text, index, index + len(substring))

    def slice(self, text: str) -> str:
        """The part of ``text`` this range covers (the inverse of :meth:`span`)."""
        units = 0
        start = end = None
        for index, char in enumerate(text):
            if units == self.start:
                start = index
            units += 2 if ord(char) > 0xFFFF else 1
            if units == self.end:
                end = index + 1
                break
        if start is None or end is None:
            raise ValidationError(
                "range",
                f"[{self.start}, {self.end}) does not fall on character boundaries of the text "
                f"({utf16_length(text)} UTF-16 code units)",
            )
        return text[start:end]

    def overlaps(self, other: TextRange) -> bool:
        return self.start < other.end and other.start < self.end


class TextStyle(enum.Enum):
    """A text style (styles may overlap each other)."""

    BOLD = "bold"
    ITALIC = "italic"
    STRIKETHROUGH = "strikethrough"
    UNDERLINE = "underline"


class TextAnimation(enum.Enum):
    """An iMessage text animation (animations may not overlap)."""

    BIG = "big"
    SMALL = "small"
    SHAKE = "shake"
    NOD = "nod"
    EXPLODE = "explode"
    RIPPLE = "ripple"
    BLOOM = "bloom"
    JITTER = "jitter"


@attrs.frozen
class TextDecoration:
    """A style or an animation (exactly one) over a range of a text part."""

    range: TextRange
    style: TextStyle | None = None
    animation: TextAnimation | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.range, TextRange):
            raise ValidationError("decoration.range", "must be a TextRange")
        if (self.style is None) == (self.animation is None):
            raise ValidationError("decoration", "give exactly one of style and animation")
        if self.style is not None and not isinstance(self.style, TextStyle):
            raise ValidationError("decoration.style", "must be a TextStyle")
        if self.animation is not None and not isinstance(self.animation, TextAnimation):
            raise ValidationError("decoration.animation", "must be a TextAnimation")


@attrs.frozen
class Mention:
    """``handle`` mentioned over a range of a text part (iMessage groups).

    ``is_me`` is set on received mentions of our own line.
    """

    handle: Handle
    range: TextRange
    is_me: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.handle, Handle):
            raise ValidationError("mention.handle", "must be a Handle")
        if not isinstance(self.range, TextRange):
            raise ValidationError("mention.range", "must be a TextRange")


def _check_marks(
    text: str, mentions: tuple[Mention, ...], decorations: tuple[TextDecoration, ...]
) -> None:
    """Ranges inside the text, mentions apart, animations apart (styles may overlap)."""
    size = utf16_length(text)
    marks: list[tuple[str, TextRange]] = [
        *((f"mentions[{i}].range", m.range) for i, m in enumerate(mentions)),
        *((f"decorations[{i}].range", d.range) for i, d in enumerate(decorations)),
    ]
    for field, mark in marks:
        if mark.end > size:
            raise ValidationError(
                field,
                f"[{mark.start}, {mark.end}) ends past the text's {size} UTF-16 code units "
                "(use TextRange.of or TextRange.span)",
            )
        mark.slice(text)  # on character boundaries, not inside a surrogate pair
    for kind, ranges in (
        ("mentions", [m.range for m in mentions]),
        ("decorations", [d.range for d in decorations if d.animation is not None]),
    ):
        for index, first in enumerate(ranges):
            if any(first.overlaps(later) for later in ranges[index + 1 :]):
                what = "mentions" if kind == "mentions" else "animations"
                raise ValidationError(kind, f"{what} may not overlap; only styles may")


def _tuple(value: Iterable[object]) -> tuple[object, ...]:
    return tuple(value)


@attrs.frozen
class TextPart:
    """A run of text; never empty, at most 10,000 characters.

    ``mentions`` and ``decorations`` mark ranges of it (UTF-16 code units, see
    :class:`TextRange`); services without them get the plain text (reported).
    """

    text: str
    mentions: tuple[Mention, ...] = attrs.field(default=(), converter=_tuple, kw_only=True)
    decorations: tuple[TextDecoration, ...] = attrs.field(
        default=(), converter=_tuple, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValidationError("text", "must not be empty")
        if len(self.text) > limits.MAX_TEXT_CHARS:
            raise ValidationError(
                "text", f"has {len(self.text)} characters; at most {limits.MAX_TEXT_CHARS}"
            )
        for index, mention in enumerate(self.mentions):
            if not isinstance(mention, Mention):
                raise ValidationError(f"mentions[{index}]", "must be a Mention")
        for index, decoration in enumerate(self.decorations):
            if not isinstance(decoration, TextDecoration):
                raise ValidationError(f"decorations[{index}]", "must be a TextDecoration")
        if self.mentions or self.decorations:
            _check_marks(self.text, self.mentions, self.decorations)

    @property
    def plain(self) -> TextPart:
        """The same text without mentions and decorations."""
        return TextPart(self.text) if self.mentions or self.decorations else self


@attrs.frozen
class LinkPart:
    """A link shown with a rich preview (iMessage); elsewhere it is sent as its URL in text.

    It must be the only part of its message, and a new chat's first message
    cannot carry one.
    """

    url: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("https://", "http://")):
            raise ValidationError("link.url", f"{self.url!r} is not an http(s) URL")
        if len(self.url) > limits.MAX_LINK_CHARS:
            raise ValidationError(
                "link.url", f"has {len(self.url)} characters; at most {limits.MAX_LINK_CHARS}"
            )
        check_unicode("link.url", self.url)


@attrs.frozen
class MediaPart:
    """An image, video, audio file or document, by URL or by uploaded attachment id.

    Exactly one of ``url`` and ``attachment_id`` is given. Media by URL may be at
    most 10 MB, pre-uploaded attachments at most 100 MB (when the size is known).

    ``received=True`` marks media that came *in* (built by an adapter): the
    sending rules (content types carriers reject, size limits) do not bind what
    someone else sent, so its type and size are kept as reported. Putting such a
    part into an :class:`OutgoingMessage` checks the sending rules then.
    """

    url: str | None = None
    attachment_id: str | None = None
    content_type: str | None = None
    size_bytes: int | None = None
    filename: str | None = None
    received: bool = attrs.field(default=False, kw_only=True, eq=False)

    def __attrs_post_init__(self) -> None:
        if (self.url is None) == (self.attachment_id is None):
            raise ValidationError("media", "give exactly one of url and attachment_id")
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise ValidationError("media.url", f"{self.url!r} is not an http(s) URL")
        if self.attachment_id is not None and not self.attachment_id.strip():
            raise ValidationError("media.attachment_id", "must not be empty")
        if self.size_bytes is not None and self.size_bytes < 0:
            raise ValidationError("media.size_bytes", "must not be negative")
        if not self.received:
            self.check_sendable()

    def check_sendable(self, field: str = "media") -> None:
        """Raise ValidationError if carriers would refuse this media (type or size)."""
        check_content_type(f"{field}.content_type", self.content_type)
        if self.size_bytes is not None:
            limit = limits.MAX_MEDIA_URL_BYTES if self.url else limits.MAX_UPLOAD_BYTES
            how = "by URL" if self.url else "as an uploaded attachment"
            if self.size_bytes > limit:
                raise ValidationError(
                    f"{field}.size_bytes",
                    f"{self.size_bytes} bytes is over the {limit // limits.MB} MB limit "
                    f"for media sent {how}",
                )


Part = TextPart | MediaPart | LinkPart


@attrs.frozen
class ReplyTo:
    """Reply in the thread of an earlier message (iMessage only)."""

    message_id: str
    part_index: int = 0

    def __attrs_post_init__(self) -> None:
        if not self.message_id:
            raise ValidationError("reply_to.message_id", "must not be empty")
        if self.part_index < 0:
            raise ValidationError("reply_to.part_index", "must not be negative")


def _to_parts(value: Iterable[Part]) -> tuple[Part, ...]:
    return tuple(value)


@attrs.frozen
class OutgoingMessage:
    """A message to send: one or more parts, an optional effect and reply.

    Rules: at least one part, at most 100; no two text parts in a row; at most
    40 media parts by URL.
    """

    parts: tuple[Part, ...] = attrs.field(converter=_to_parts)
    effect: Effect | None = None
    reply_to: ReplyTo | None = None

    max_parts: ClassVar[int] = limits.MAX_PARTS

    def __attrs_post_init__(self) -> None:
        if not self.parts:
            raise ValidationError("parts", "a message needs at least one part")
        if len(self.parts) > limits.MAX_PARTS:
            raise ValidationError(
                "parts", f"has {len(self.parts)} parts; at most {limits.MAX_PARTS}"
            )
        url_media = 0
        for index, part in enumerate(self.parts):
            if not isinstance(part, TextPart | MediaPart | LinkPart):
                raise ValidationError(
                    f"parts[{index}]", "must be a TextPart, a MediaPart or a LinkPart"
                )
            if isinstance(part, TextPart):
                check_unicode(f"parts[{index}].text", part.text)
            elif isinstance(part, LinkPart):
                if len(self.parts) > 1:
                    raise ValidationError(
                        f"parts[{index}]", "a link part must be the only part of its message"
                    )
            else:
                for name in ("url", "attachment_id", "filename"):
                    value = getattr(part, name)
                    if value is not None:
                        check_unicode(f"parts[{index}].{name}", value)
                if part.received:
                    part.check_sendable(f"parts[{index}]")
                if part.url is not None:
                    url_media += 1
            if index and isinstance(part, TextPart) and isinstance(self.parts[index - 1], TextPart):
                raise ValidationError(
                    f"parts[{index}]", "two text parts in a row; join them into one"
                )
        if url_media > limits.MAX_URL_MEDIA_PARTS:
            raise ValidationError(
                "parts", f"has {url_media} media parts by URL; at most {limits.MAX_URL_MEDIA_PARTS}"
            )

    @classmethod
    def of_text(
        cls, text: str, *, effect: Effect | None = None, reply_to: ReplyTo | None = None
    ) -> OutgoingMessage:
        return cls((TextPart(text),), effect=effect, reply_to=reply_to)

    @property
    def text(self) -> str:
        """All text parts joined by blank lines (for transcripts and fallbacks)."""
        return "\n\n".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def has_url(self) -> bool:
        """Whether any part is media by URL or any text contains a link."""
        return any(
            (isinstance(p, MediaPart) and p.url is not None)
            or (isinstance(p, TextPart) and ("http://" in p.text or "https://" in p.text))
            or isinstance(p, LinkPart)
            for p in self.parts
        )


@attrs.frozen
class VoiceMemo:
    """An audio recording sent as a voice memo (iMessage) or as media elsewhere."""

    audio: MediaPart

    def __attrs_post_init__(self) -> None:
        content_type = self.audio.content_type
        if content_type is not None:
            base = content_type.split(";", 1)[0].strip().lower()
            if base not in limits.VOICE_MEMO_CONTENT_TYPES:
                raise ValidationError(
                    "voice_memo.content_type",
                    f"{base} is not a voice memo format (MP3, M4A, AAC, CAF, WAV, AIFF, AMR)",
                )
        size = self.audio.size_bytes
        if size is not None and size > limits.MAX_VOICE_MEMO_BYTES:
            raise ValidationError(
                "voice_memo.size_bytes",
                f"{size} bytes is over the "
                f"{limits.MAX_VOICE_MEMO_BYTES // limits.MB} MB voice memo limit",
            )
