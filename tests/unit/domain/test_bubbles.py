"""split_bubbles: paragraph breaks, sentence packing, short tails, at most five bubbles."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caresupport_transport import split_bubbles
from caresupport_transport.bubbles import MAX_BUBBLES, MIN_TAIL_CHARS, SENTENCE_SPLIT_CHARS

THREE_PARAGRAPHS = (
    "Good morning, Ann.\n\nYour mother took her 8am pills.\n\nI will check in at noon."
)


def _sentence(length: int, end: str = ".") -> str:
    """A sentence of exactly ``length`` characters ending in ``end``."""
    return "x" * (length - 1) + end


def test_the_named_limits_are_the_care_tested_ones() -> None:
    assert (MAX_BUBBLES, SENTENCE_SPLIT_CHARS, MIN_TAIL_CHARS) == (5, 450, 40)


def test_a_short_reply_is_one_bubble() -> None:
    assert ["See you at 3."] == split_bubbles("See you at 3.")


def test_paragraph_breaks_always_split() -> None:
    assert [
        "Good morning, Ann.",
        "Your mother took her 8am pills.",
        "I will check in at noon.",
    ] == split_bubbles(THREE_PARAGRAPHS)


def test_a_blank_line_with_spaces_or_several_blank_lines_is_one_break() -> None:
    assert [
        "One.",
        "Two.",
        "Three.",
        "Four.",
    ] == split_bubbles("One.\n  \t\nTwo.\n\n\n\nThree.\r\n\r\nFour.")


def test_a_single_line_break_does_not_split_and_is_kept() -> None:
    assert ["Pills:\n- aspirin\n- metformin"] == split_bubbles("Pills:\n- aspirin\n- metformin")


def test_bubbles_are_trimmed() -> None:
    assert [
        "Hello Ann.",
        "How are you?",
    ] == split_bubbles("\n\n   Hello Ann.  \n\n\t How are you? \n")


@pytest.mark.parametrize("blank", ["", "   ", "\n\n\t\n"])
def test_blank_text_gives_no_bubbles(blank: str) -> None:
    assert [] == split_bubbles(blank)


def test_a_paragraph_of_exactly_450_characters_is_not_split() -> None:
    paragraph = " ".join([_sentence(100)] * 4) + " " + _sentence(46)

    assert SENTENCE_SPLIT_CHARS == len(paragraph)
    assert [paragraph] == split_bubbles(paragraph)


def test_a_long_paragraph_splits_at_sentence_ends_packing_up_to_450() -> None:
    sentences = [_sentence(100) for _ in range(9)]

    bubbles = split_bubbles(" ".join(sentences))

    assert [" ".join(sentences[0:4]), " ".join(sentences[4:8]), sentences[8]] == bubbles
    assert [403, 403, 100] == [len(b) for b in bubbles]


@pytest.mark.parametrize("end", [".", "!", "?"])
def test_each_of_full_stop_exclamation_and_question_mark_ends_a_sentence(end: str) -> None:
    first, second = _sentence(300, end), _sentence(300)

    assert [first, second] == split_bubbles(f"{first} {second}")


def test_sentence_ends_need_whitespace_after_them() -> None:
    paragraph = "Take 2.5 mg.Then rest " + "x" * 500

    assert [paragraph] == split_bubbles(paragraph)


def test_a_single_sentence_longer_than_450_stays_whole() -> None:
    sentence = " ".join(["word"] * 200) + "."

    assert [sentence] == split_bubbles(sentence)


def test_a_tail_under_40_characters_merges_into_the_bubble_before() -> None:
    body = " ".join([_sentence(110)] * 4)
    paragraph = f"{body} Call me."

    assert len(paragraph) > SENTENCE_SPLIT_CHARS
    assert [paragraph] == split_bubbles(paragraph)


def test_a_tail_of_40_characters_stays_its_own_bubble() -> None:
    body = " ".join([_sentence(110)] * 4)
    tail = _sentence(MIN_TAIL_CHARS)

    assert [body, tail] == split_bubbles(f"{body} {tail}")


def test_a_tail_never_merges_across_a_paragraph_break() -> None:
    long_paragraph = " ".join([_sentence(110)] * 5)

    bubbles = split_bubbles(f"{long_paragraph}\n\nOk.")

    assert "Ok." == bubbles[-1]
    assert 3 == len(bubbles)


def test_whitespace_between_packed_sentences_is_kept_as_written() -> None:
    paragraph = f"{_sentence(200)}\n{_sentence(200)}  {_sentence(200)}"

    assert [f"{_sentence(200)}\n{_sentence(200)}", _sentence(200)] == split_bubbles(paragraph)


def test_at_most_five_bubbles_the_fifth_takes_the_rest_as_written() -> None:
    text = "\n\n".join(f"Paragraph {n}." for n in range(1, 8))

    bubbles = split_bubbles(text)

    assert MAX_BUBBLES == len(bubbles)
    assert ["Paragraph 1.", "Paragraph 2.", "Paragraph 3.", "Paragraph 4."] == bubbles[:4]
    assert "Paragraph 5.\n\nParagraph 6.\n\nParagraph 7." == bubbles[4]


def test_exactly_five_paragraphs_are_five_bubbles() -> None:
    text = "\n\n".join(f"Paragraph {n}." for n in range(1, 6))

    assert split_bubbles(text) == [f"Paragraph {n}." for n in range(1, 6)]


def test_sentence_splits_count_towards_the_five_bubbles() -> None:
    long_paragraph = " ".join([_sentence(300)] * 4)

    bubbles = split_bubbles(f"{long_paragraph}\n\nOne.\n\nTwo.")

    assert [_sentence(300)] * 4 + ["One.\n\nTwo."] == bubbles


_VOCABULARY = ["Mum", "took", "her", "pills", "at", "8am", "and", "the", "nurse", "visits", "noon"]
_words = st.one_of(
    st.sampled_from(_VOCABULARY),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12),
)
_sentences = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(_words, min_size=1, max_size=30),
    st.sampled_from([".", "!", "?", "", "..."]),
)
# Sentences are repeated now and then so that paragraphs over 450 characters are common.
_paragraphs = st.builds(
    lambda sentences, repeat, gap: gap.join(sentences * repeat),
    st.lists(_sentences, min_size=1, max_size=8),
    st.sampled_from([1, 1, 3, 8]),
    st.sampled_from([" ", "  ", "\n", " \t"]),
)
replies = st.builds(
    lambda paragraphs, gap: gap.join(paragraphs),
    st.lists(_paragraphs, min_size=1, max_size=7),
    st.sampled_from(["\n\n", "\n \n", "\n\n\n", "\r\n\r\n"]),
)
any_text = st.one_of(replies, st.text())


@given(any_text)
def test_bubbles_are_never_empty_and_always_trimmed(text: str) -> None:
    for bubble in split_bubbles(text):
        assert bubble
        assert bubble == bubble.strip()


@given(any_text)
def test_there_are_never_more_than_five_bubbles(text: str) -> None:
    assert len(split_bubbles(text)) <= MAX_BUBBLES


@given(any_text)
def test_joined_bubbles_keep_every_word_in_order(text: str) -> None:
    assert " ".join(split_bubbles(text)).split() == text.split()


@given(any_text)
def test_every_bubble_is_text_exactly_as_written(text: str) -> None:
    position = 0
    for bubble in split_bubbles(text):
        found = text.find(bubble, position)
        assert found >= position
        position = found + len(bubble)


@given(st.lists(_sentences.filter(lambda s: s.strip()), min_size=1, max_size=MAX_BUBBLES))
def test_up_to_five_short_paragraphs_are_exactly_the_bubbles(paragraphs: list[str]) -> None:
    short = [p[:SENTENCE_SPLIT_CHARS].strip() for p in paragraphs]

    assert short == split_bubbles("\n\n".join(short))


@given(replies)
def test_sentence_split_bubbles_stay_near_450_unless_one_sentence_is_longer(text: str) -> None:
    for bubble in split_bubbles(text)[: MAX_BUBBLES - 1]:
        # A merged tail adds under 40 characters and the (at most 2) whitespace before it.
        if len(bubble) > SENTENCE_SPLIT_CHARS + MIN_TAIL_CHARS + 2:
            # Only a sentence longer than the limit on its own makes a bubble this long.
            assert "\n\n" not in bubble
            assert any(
                len(sentence) > SENTENCE_SPLIT_CHARS for sentence in _split_sentences(bubble)
            )


def _split_sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+", text)
