"""Numbered text questions: the text a poll becomes without native polls, and the reply rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caresupport_transport.checks import check_poll
from caresupport_transport.errors import ValidationError
from caresupport_transport.numbered import (
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_QUESTION_CHARS,
    NumberedQuestion,
    numbered_question,
    option_number,
    read_numbered_question,
)

one_line = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
    ),
    min_size=1,
    max_size=MAX_OPTION_CHARS,
).filter(lambda t: t.strip() != "")
questions = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80).filter(
    lambda t: t.strip() != ""
)
option_lists = st.lists(one_line, min_size=2, max_size=MAX_OPTIONS, unique=True)


def test_the_numbered_question_reads_as_documented() -> None:
    text = numbered_question(
        "Who can drive Mom on Tuesday?", ["Tue 9am", "Tue 2pm", "Can't this week"]
    )
    assert (
        "Who can drive Mom on Tuesday?\n1. Tue 9am\n2. Tue 2pm\n3. Can't this week\n"
        "Reply with a number."
    ) == text


@given(question=questions, options=option_lists)
def test_a_numbered_question_reads_back_as_the_question_and_options_it_was_made_of(
    question: str, options: list[str]
) -> None:
    check_poll(question, options)
    read = read_numbered_question(numbered_question(question, options))
    assert NumberedQuestion(question, tuple(options)) == read


@pytest.mark.parametrize(
    "text",
    [
        "Reply with a number.",
        "Lunch?\n1. Soup\nReply with a number.",
        "1. Soup\n2. Salad\nReply with a number.",
        "Lunch?\n1. Soup\n3. Salad\nReply with a number.",
        "Lunch?\n2. Soup\n1. Salad\nReply with a number.",
        "Lunch?\n1. Soup\n2. Salad",
        "Lunch?\n1. Soup\n2. Salad\nreply with a number.",
        "Lunch?\n1.Soup\n2. Salad\nReply with a number.",
        "See you at 3",
    ],
)
def test_a_text_that_is_not_one_of_our_numbered_questions_reads_as_none(text: str) -> None:
    assert read_numbered_question(text) is None


@pytest.mark.parametrize(
    ("reply", "number"),
    [
        ("2", 2),
        (" 2 ", 2),
        ("2.", 2),
        ("2)", 2),
        ("\t3\n", 3),
        ("1", 1),
        ("0", None),
        ("4", None),
        ("02", None),
        ("2..", None),
        ("2 please", None),
        ("two", None),
        ("#2", None),
        ("2 .", None),
        ("-2", None),
        ("", None),
        ("٢", None),
    ],
)
def test_the_reply_rule(reply: str, number: int | None) -> None:
    assert number == option_number(reply, 3)


@given(
    count=st.integers(2, MAX_OPTIONS),
    number=st.integers(-5, 30),
    before=st.sampled_from(["", " ", "\t", "\n "]),
    after=st.sampled_from(["", " ", "\n"]),
    suffix=st.sampled_from(["", ".", ")"]),
)
def test_a_reply_votes_exactly_when_it_is_an_option_number_with_optional_dot_and_spaces(
    count: int, number: int, before: str, after: str, suffix: str
) -> None:
    expected = number if 1 <= number <= count else None
    assert expected == option_number(f"{before}{number}{suffix}{after}", count)


@given(st.text(max_size=12))
def test_any_reply_reads_as_an_option_or_none_never_raises(reply: str) -> None:
    number = option_number(reply, 5)
    assert number is None or (1 <= number <= 5 and str(number) in reply)


@pytest.mark.parametrize(
    ("question", "options", "field"),
    [
        (" ", ["a", "b"], "question"),
        ("q" * (MAX_QUESTION_CHARS + 1), ["a", "b"], "question"),
        (None, ["a", "b"], "question"),
        ("q", ["a"], "options"),
        ("q", [str(n) for n in range(MAX_OPTIONS + 1)], "options"),
        ("q", "ab", "options"),
        ("q", ["a", "a"], "options"),
        ("q", ["a", "b\nc"], "options[1]"),
        ("q", ["a", "b\u2028c"], "options[1]"),
        ("q", ["a", "b\r"], "options[1]"),
        ("q", ["a", ""], "options[1]"),
        ("q", ["a", "x" * (MAX_OPTION_CHARS + 1)], "options[1]"),
    ],
)
def test_check_poll_names_the_field_it_refuses(
    question: object, options: object, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        check_poll(question, options)
    assert field == refused.value.field


def test_the_longest_numbered_question_fits_one_sms() -> None:
    options = [f"{n:02d}" + "x" * (MAX_OPTION_CHARS - 2) for n in range(MAX_OPTIONS)]
    assert len(numbered_question("q" * MAX_QUESTION_CHARS, options)) <= 1_600
