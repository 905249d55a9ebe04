"""split_text: pieces within the limit, never empty, every word kept in order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caresupport_transport.policy import split_text

from .strategies import texts


def _squash(text: str) -> str:
    return "".join(text.split())


@settings(max_examples=300)
@given(texts(), st.integers(min_value=1, max_value=4_000))
def test_split_text_pieces_are_within_the_limit_non_empty_and_keep_every_word(
    text: str, limit: int
) -> None:
    pieces = split_text(text, limit)

    assert pieces
    assert all(0 < len(p) <= limit for p in pieces)
    assert all(p.strip() for p in pieces)
    assert _squash(text) == _squash("".join(pieces))
    if all(len(word) <= limit for word in text.split()):
        assert text.split() == " ".join(pieces).split()


@given(st.text(min_size=1).filter(str.strip), st.integers(min_value=1, max_value=50))
def test_split_text_on_any_text_loses_no_character_but_whitespace(text: str, limit: int) -> None:
    pieces = split_text(text, limit)

    assert all(0 < len(p) <= limit for p in pieces)
    assert _squash(text) == _squash("".join(pieces))


def test_text_within_the_limit_is_one_piece_unchanged() -> None:
    assert [" Hello  there "] == split_text(" Hello  there ", 20)


def test_text_splits_at_the_last_space_within_the_limit() -> None:
    assert ["one two", "three"] == split_text("one two three", 9)


def test_text_splits_at_tabs_and_newlines_too() -> None:
    assert ["one\ttwo", "three"] == split_text("one\ttwo\tthree", 9)
    assert ["one", "two", "three"] == split_text("one\ntwo\nthree", 5)


def test_a_word_exactly_at_the_limit_after_a_double_space_is_not_cut() -> None:
    assert ["ab ", "cdefg"] == split_text("ab  cdefg", 5)


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert ["abcd", "efgh", "ij"] == split_text("abcdefghij", 4)


def test_a_non_positive_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit must be positive"):
        split_text("Hello", 0)
