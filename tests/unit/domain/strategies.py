"""Hypothesis strategies for the domain: handles, messages, capabilities and policies."""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from caresupport_transport import (
    Availability,
    Effect,
    FallbackPolicy,
    Handle,
    HandleCapabilities,
    LongTextFallback,
    MediaPart,
    OnUnsupported,
    OutgoingMessage,
    ReplyTo,
    Service,
    ServicePreference,
    TapbackFallback,
    TextPart,
    VoiceMemoFallback,
)
from caresupport_transport.content import BUBBLE_EFFECTS, SCREEN_EFFECTS, Part
from caresupport_transport.limits import MAX_TEXT_CHARS

phones = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True).map(Handle)
emails = st.from_regex(r"[a-z0-9]{1,8}@[a-z0-9]{1,8}\.(org|com|net)", fullmatch=True).map(Handle)
handles = st.one_of(phones, emails)

# Every whitespace character is in Zs, Zl, Zp or Cc: excluded, so no filter is needed.
_non_space = st.characters(exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"])
short_words = st.text(_non_space, min_size=1, max_size=12)
# Occasionally a "word" longer than a service's bubble, which must be cut, not lost.
long_words = st.integers(min_value=1_000, max_value=3_500).map(lambda n: "w" * n)
words = st.one_of(short_words, short_words, short_words, long_words)
separators = st.sampled_from([" ", " ", " ", "\n", "  ", "\t", "\n\n", " \n"])


@st.composite
def texts(draw: st.DrawFn, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Text of words and whitespace, from a few characters to ``max_chars``.

    A short cycle of words is repeated so long texts are cheap to generate.
    """
    cycle = draw(st.lists(words, min_size=1, max_size=8))
    gaps = draw(st.lists(separators, min_size=1, max_size=4))
    repeat = draw(st.sampled_from([1, 1, 2, 5, 40, 150, 400, 800]))
    pieces: list[str] = []
    for index in range(len(cycle) * repeat):
        pieces.append(cycle[index % len(cycle)])
        pieces.append(gaps[index % len(gaps)])
    text = "".join(pieces[:-1])[:max_chars]
    assume(text.strip())
    return text


text_parts = texts().map(TextPart)
media_parts = st.one_of(
    st.builds(
        MediaPart,
        url=st.from_regex(r"https://example\.org/[a-z0-9]{1,10}\.jpg", fullmatch=True),
        content_type=st.sampled_from([None, "image/jpeg", "image/png", "video/mp4"]),
    ),
    st.builds(MediaPart, attachment_id=st.from_regex(r"att-[a-z0-9]{1,8}", fullmatch=True)),
)


@st.composite
def part_lists(draw: st.DrawFn) -> tuple[Part, ...]:
    """1 to 5 parts, text and media, never two text parts in a row."""
    drawn = draw(st.lists(st.one_of(text_parts, media_parts), min_size=1, max_size=5))
    parts: list[Part] = []
    for part in drawn:
        if parts and isinstance(part, TextPart) and isinstance(parts[-1], TextPart):
            parts.append(draw(media_parts))
        parts.append(part)
    return tuple(parts)


effects = st.one_of(
    st.none(),
    st.sampled_from(sorted(SCREEN_EFFECTS)).map(Effect.screen),
    st.sampled_from(sorted(BUBBLE_EFFECTS)).map(Effect.bubble),
)
replies = st.one_of(
    st.none(),
    st.builds(
        ReplyTo,
        message_id=st.from_regex(r"msg-[a-z0-9]{1,8}", fullmatch=True),
        part_index=st.integers(0, 4),
    ),
)
messages = st.builds(OutgoingMessage, parts=part_lists(), effect=effects, reply_to=replies)
services = st.sampled_from(list(Service))
preferences = st.sampled_from(list(ServicePreference))
availabilities = st.sampled_from(list(Availability))


@st.composite
def handle_capabilities(draw: st.DrawFn) -> HandleCapabilities:
    handle = draw(handles)
    if draw(st.booleans()):
        return HandleCapabilities(handle, imessage=draw(availabilities), rcs=draw(availabilities))
    return HandleCapabilities(
        handle, imessage=draw(availabilities), rcs=draw(availabilities), sms=draw(availabilities)
    )


recipient_lists = st.lists(handle_capabilities(), min_size=1, max_size=4)
policies = st.builds(
    FallbackPolicy,
    effects=st.sampled_from(list(OnUnsupported)),
    reply_threads=st.sampled_from(list(OnUnsupported)),
    tapbacks=st.sampled_from(list(TapbackFallback)),
    voice_memos=st.sampled_from(list(VoiceMemoFallback)),
    long_text=st.sampled_from(list(LongTextFallback)),
    resend_on_failure=st.booleans(),
)
lenient_policies = st.builds(
    FallbackPolicy,
    tapbacks=st.sampled_from([TapbackFallback.TEXT, TapbackFallback.SKIP]),
    resend_on_failure=st.booleans(),
)
"""Policies that never fail: everything unsupported is dropped, converted or split."""
