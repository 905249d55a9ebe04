"""Numbered text questions: how a poll reads where native polls do not exist, and back.

A numbered question is one text message::

    Who can drive Mom on Tuesday?
    1. Tue 9am
    2. Tue 2pm
    3. Can't this week
    Reply with a number.

A reply *is a vote* when its whole text, after trimming whitespace, is one of
the option numbers written in ASCII digits without leading zeros, optionally
followed by one ``.`` or ``)``: ``"2"``, ``" 2 "``, ``"2."`` and ``"2)"`` vote
for option 2; ``"02"``, ``"2 please"``, ``"two"``, ``"#2"``, ``"2.."`` and a
number that is not an option do not. The options' ids are their numbers
(``"1"``, ``"2"``...), as text.

Pure; no I/O. The question is recognised from its own text, so the open
question of a conversation can be found again in its history after a restart,
by any process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

__all__ = [
    "MAX_OPTIONS",
    "MAX_OPTION_CHARS",
    "MAX_QUESTION_CHARS",
    "REPLY_PROMPT",
    "NumberedQuestion",
    "numbered_question",
    "option_number",
    "read_numbered_question",
]

MAX_OPTIONS = 12
"""The most options a poll may have (Linq states none; 12 keeps numbered text short)."""
MAX_OPTION_CHARS = 100
"""The longest option text."""
MAX_QUESTION_CHARS = 300
"""The longest question: with 12 full options it still fits one 1,600-character SMS."""
REPLY_PROMPT = "Reply with a number."

_OPTION_LINE = re.compile(r"([1-9][0-9]?)\. (.+)")
_REPLY = re.compile(r"([1-9][0-9]*)[.)]?")


@attrs.frozen
class NumberedQuestion:
    """A numbered question read back from its text (``question`` may be empty)."""

    question: str
    options: tuple[str, ...]


def numbered_question(question: str, options: Sequence[str]) -> str:
    """The text of the numbered question (the inputs are checked already)."""
    lines = [question, *(f"{n}. {text}" for n, text in enumerate(options, start=1))]
    return "\n".join([*lines, REPLY_PROMPT])


def read_numbered_question(text: str) -> NumberedQuestion | None:
    """The question and options of a text :func:`numbered_question` wrote, else ``None``.

    Read from the end: the prompt, then option lines numbered ``n`` down to ``1``;
    everything before them is the question.
    """
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != REPLY_PROMPT:
        return None
    last = _OPTION_LINE.fullmatch(lines[-2])
    if last is None:
        return None
    count = int(last.group(1))
    first = len(lines) - 1 - count
    if count < 2 or first < 1:
        return None
    options: list[str] = []
    for number, line in enumerate(lines[first:-1], start=1):
        found = _OPTION_LINE.fullmatch(line)
        if found is None or int(found.group(1)) != number:
            return None
        options.append(found.group(2))
    return NumberedQuestion("\n".join(lines[:first]), tuple(options))


def option_number(text: str, count: int) -> int | None:
    """The option number (1-based) a reply to a question of ``count`` options votes for."""
    found = _REPLY.fullmatch(text.strip())
    if found is None:
        return None
    number = int(found.group(1))
    return number if 1 <= number <= count else None
