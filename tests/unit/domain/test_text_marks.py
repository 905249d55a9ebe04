"""Text marks in the domain: UTF-16 ranges, mentions, decorations, link parts, and their checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caresupport_transport import checks
from caresupport_transport.content import (
    LinkPart,
    MediaPart,
    Mention,
    OutgoingMessage,
    TextAnimation,
    TextDecoration,
    TextPart,
    TextRange,
    TextStyle,
    utf16_length,
)
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle

SUE = Handle("+16515550101")
TOM = Handle("+16515550102")

# Text with emoji beyond U+FFFF (two UTF-16 code units each), accents and plain ASCII.
texts = st.text(
    alphabet=st.sampled_from([*"ab c\u00e9\u4e2d", "\U0001f48a", "\U0001f44d", "\U0001f3fd"]),
    min_size=1,
    max_size=40,
)


@given(text=texts, data=st.data())
def test_a_range_from_a_python_slice_covers_that_slice_in_utf16_code_units(
    text: str, data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    found = TextRange.span(text, start, end)
    units = len(text[:start].encode("utf-16-le")) // 2
    assert (units, units + len(text[start:end].encode("utf-16-le")) // 2) == (
        found.start,
        found.end,
    )
    assert text[start:end] == found.slice(text)


@given(text=texts)
def test_utf16_length_counts_what_utf16_encoding_takes(text: str) -> None:
    assert len(text.encode("utf-16-le")) // 2 == utf16_length(text)


def test_a_range_after_an_emoji_is_counted_in_code_units() -> None:
    text = "\U0001f48a Mum: 1 pill"
    assert TextRange(3, 6) == TextRange.of(text, "Mum")


def test_the_nth_occurrence_of_a_substring_has_its_own_range() -> None:
    assert TextRange(4, 7) == TextRange.of("Sue Sue", "Sue", occurrence=1)


def test_a_substring_that_is_not_there_has_no_range() -> None:
    with pytest.raises(ValidationError):
        TextRange.of("take 1 pill", "2")


def test_a_range_inside_a_surrogate_pair_is_refused() -> None:
    with pytest.raises(ValidationError):
        TextPart("\U0001f48a pill", decorations=[TextDecoration(TextRange(1, 3), TextStyle.BOLD)])


def test_a_range_past_the_text_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        TextPart("pill", decorations=[TextDecoration(TextRange(0, 5), TextStyle.BOLD)])
    assert "decorations[0].range" == raised.value.field


def test_styles_may_overlap_but_animations_may_not() -> None:
    text = "take 1 pill now"
    styled = TextPart(
        text,
        decorations=[
            TextDecoration(TextRange(0, 11), TextStyle.BOLD),
            TextDecoration(TextRange(5, 15), TextStyle.UNDERLINE),
        ],
    )
    assert 2 == len(styled.decorations)
    with pytest.raises(ValidationError) as raised:
        TextPart(
            text,
            decorations=[
                TextDecoration(TextRange(0, 11), animation=TextAnimation.BIG),
                TextDecoration(TextRange(5, 15), animation=TextAnimation.SHAKE),
            ],
        )
    assert "decorations" == raised.value.field


def test_a_decoration_is_a_style_or_an_animation_never_both() -> None:
    with pytest.raises(ValidationError):
        TextDecoration(TextRange(0, 1), TextStyle.BOLD, TextAnimation.BIG)
    with pytest.raises(ValidationError):
        TextDecoration(TextRange(0, 1))


def test_a_link_part_must_be_alone_and_short_and_http() -> None:
    link = LinkPart("https://care.example.org/plan")
    assert OutgoingMessage((link,)).has_url
    with pytest.raises(ValidationError):
        OutgoingMessage((TextPart("see"), MediaPart(url="https://e.org/a.png"), link))
    with pytest.raises(ValidationError):
        LinkPart("https://e.org/" + "x" * 2_040)
    with pytest.raises(ValidationError):
        LinkPart("ftp://e.org/plan")


def test_a_link_part_cannot_open_a_chat() -> None:
    with pytest.raises(ValidationError) as raised:
        checks.check_first_message(OutgoingMessage((LinkPart("https://care.example.org"),)))
    assert "first_message.parts" == raised.value.field


def mentioning(*who: Handle) -> OutgoingMessage:
    text = "Sue and Tom, the 8pm dose changed"
    names = {SUE: "Sue", TOM: "Tom"}
    mentions = [Mention(h, TextRange.of(text, names[h])) for h in who]
    return OutgoingMessage((TextPart(text, mentions=mentions),))


def test_a_mention_is_refused_in_a_direct_chat() -> None:
    with pytest.raises(ValidationError) as raised:
        checks.check_mentions(mentioning(SUE), (SUE,), is_group=False)
    assert "parts[0].mentions" == raised.value.field


def test_a_mention_of_someone_outside_the_group_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a participant"):
        checks.check_mentions(mentioning(SUE), (TOM, Handle("+16515550103")), is_group=True)


def test_one_mention_per_text_part_can_be_sent() -> None:
    checks.check_mentions(mentioning(SUE), (SUE, TOM), is_group=True)
    with pytest.raises(ValidationError, match="2 mentions"):
        checks.check_mentions(mentioning(SUE, TOM), (SUE, TOM), is_group=True)


def test_mentions_may_not_overlap() -> None:
    with pytest.raises(ValidationError):
        TextPart("Sue", mentions=[Mention(SUE, TextRange(0, 3)), Mention(TOM, TextRange(1, 2))])
