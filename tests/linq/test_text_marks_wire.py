"""Mentions, decorations and link parts on Linq's wire: what is sent, and what is read back."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from adapters.linq._convert import converter
from adapters.linq._text_marks import range_from_wire, text_body, text_from_wire
from adapters.linq._to_domain import parts_from_wire
from caresupport_transport.content import (
    LinkPart,
    Mention,
    TextAnimation,
    TextDecoration,
    TextPart,
    TextRange,
    TextStyle,
)
from caresupport_transport.handles import Handle

NURSE = Handle("+16515550105")
TEXT = "\U0001f48a Nurse: 1 pill at 8pm"
PART = TextPart(
    TEXT,
    mentions=[Mention(NURSE, TextRange.of(TEXT, "Nurse"))],
    decorations=[
        TextDecoration(TextRange.of(TEXT, "1 pill"), TextStyle.BOLD),
        TextDecoration(TextRange.of(TEXT, "8pm"), animation=TextAnimation.JITTER),
    ],
)


def test_a_text_part_is_sent_with_its_mention_and_decorations_in_utf16_ranges() -> None:
    wire = json.loads(json.dumps(converter().unstructure(text_body(PART))))
    assert {
        "type": "text",
        "value": TEXT,
        "mention": "+16515550105",
        "mention_range": [3, 8],
        "text_decorations": [
            {"range": [10, 16], "style": "bold"},
            {"range": [20, 23], "animation": "jitter"},
        ],
    } == wire


def test_a_received_text_part_keeps_every_mention_and_decoration() -> None:
    raw = {
        "type": "text",
        "value": TEXT,
        "mentions": [{"handle": "+16515550105", "is_me": False, "range": [3, 8]}],
        "text_decorations": [
            {"range": [10, 16], "style": "bold"},
            {"range": [20, 23], "animation": "jitter"},
        ],
    }
    assert (PART,) == parts_from_wire([raw])


def test_the_deprecated_single_mention_is_read_when_the_list_is_absent() -> None:
    part = text_from_wire(TEXT, mention="+16515550105", mention_range={"start": 3, "end": 8})
    assert (Mention(NURSE, TextRange(3, 8)),) == part.mentions


def test_marks_that_cannot_be_read_leave_the_text_whole() -> None:
    raw = {
        "type": "text",
        "value": TEXT,
        "mentions": [{"handle": "not a handle", "range": [3, 8]}],
        "text_decorations": [{"range": [0, 999], "style": "bold"}, {"range": [1], "style": "x"}],
    }
    assert (TextPart(TEXT),) == parts_from_wire([raw])


def test_a_received_link_part_is_a_link_part() -> None:
    assert (LinkPart("https://care.example.org/p"),) == parts_from_wire(
        [{"type": "link", "value": "https://care.example.org/p"}]
    )


@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers(-5, 50), max_size=3)))
def test_a_range_is_read_only_from_two_ordered_non_negative_numbers(value: object) -> None:
    found = range_from_wire(value)
    if found is not None:
        assert isinstance(value, list)
        assert (found.start, found.end) == (value[0], value[1])
        assert 0 <= found.start < found.end
